"""Hand-written kernels for the recurrent layers of PyTorch's LSTM, GRU and RNN layouts,
where no fused module computes the model (softsign, ``model.fused = false``) and for the
ensemble's M models at once.

  recurrent.py   the layers as autograd functions: torch loops, or C loops where built
  native.py      the C time loops (time_loops.c), compiled on first use and cached
  workspace.py   big buffers reused from call to call
"""
