"""Pictures of results for every front end: rich tables (``report.py``, ``sweep_tables.py``,
``trials.py``, ``task_rows.py``, ``predictions.py``), the inspection view (``inspection_view.py``), static and
HTML figures (``figures.py``, ``figures_html.py``; the ``plots`` extra), the ``--json``
documents (``jsondocs.py``), exports (``export.py``) and a width-fitting text table
(``text_table.py``).  They read the core's data and never train or write run folders.
Submodules are imported by name; importing the package loads nothing.
"""

__all__ = ["export", "figures", "figures_html", "inspection_view", "jsondocs", "predictions", "report", "sweep_tables", "task_rows", "text_table", "trials"]
