"""Expected results: what a preset says its run or sweep should show, and the verdicts.

``run.py`` is a run's ``[expect]`` grammar (``val.accuracy@epoch5``, ratios of summary
figures), ``sweep.py`` a sweep's (cells of its result table, orderings, folds),
``verdicts.py`` what both share (the band parser and the saved verdicts), ``verify.py``
``lstm-lab verify``'s planning and judging.  No Textual, no rich, no torch.
"""

__all__ = ["run", "sweep", "verdicts", "verify"]
