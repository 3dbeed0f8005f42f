"""Inside a trained cell: gates, cell state, hidden state, predictions and saliency.

:mod:`.record` recomputes every gate from a model's own weights (torch);
:mod:`.source` opens a run's checkpoint and picks the sequence to look at (torch);
:mod:`.analysis` chooses units and correlates them with features of a text (numpy only).
The front ends (``lstm-lab inspect``, the lab's Inspect screen) draw what these return.
Nothing here imports Textual or rich.
"""

__all__ = ["analysis", "record", "schema", "source"]
