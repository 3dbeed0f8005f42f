"""lstm-lab: a terminal experiment lab for recurrent neural networks."""

__version__ = "0.2.0"
