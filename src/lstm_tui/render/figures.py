"""Static figures (PNG, SVG, PDF) with matplotlib: the curves of `compare` and every view
of `sweep-report`.  matplotlib is the optional extra `lstm-lab[plots]`, imported here only.

The figures are drawn on a bare :class:`matplotlib.figure.Figure` (no pyplot, no GUI
backend, no global state) and take the same plain data as the terminal charts.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any, Sequence

from lstm_tui.numbers import fmt

INSTALL = "pip install 'lstm-lab[plots]'"
DPI = 200   # PNG resolution; SVG and PDF are vector
FORMATS = ("png", "svg", "pdf")


def import_matplotlib():
    from lstm_tui.config import ConfigError
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError("--output", "", f"static figures need matplotlib; install it with: "
                          f"{INSTALL}") from None
    matplotlib.rcParams.update({"svg.fonttype": "none", "pdf.fonttype": 42})
    return Figure


def _figure(width: float, height: float):
    fig = import_matplotlib()(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _title(ax, title: str) -> None:
    """A left-aligned title, wrapped to the figure's width (about 13 characters an inch of axes)."""
    width = ax.figure.get_size_inches()[0]
    ax.set_title(textwrap.fill(title, max(30, int((width - 1.6) * 13))), fontsize=10,
                 loc="left")   # the axes start about an inch in; a colorbar takes more


def _style(ax, title: str, xlabel: str, ylabel: str) -> None:
    _title(ax, title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3, linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)


def _save(fig, path: Path, fmt_: str) -> None:
    fig.savefig(path, format=fmt_, dpi=DPI)


def _legend(ax, n: int) -> None:
    if n > 1 or any(line.get_label() and not line.get_label().startswith("_")
                    for line in ax.get_lines()):
        ax.legend(fontsize=8, frameon=False, loc="best")


def curves(path: Path, fmt_: str, series: Sequence[tuple[str, list, list]], *, title: str,
           xlabel: str = "step", ylabel: str = "", log_y: bool = False) -> None:
    """Overlaid curves, one per (label, xs, ys): `compare`."""
    fig, ax = _figure(7.0, 4.2)
    for label, xs, ys in series:
        if xs:
            pts = [(x, y) for x, y in zip(xs, ys) if y is not None]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label, linewidth=1.4)
    if log_y and all(v is None or v > 0 for _, _, ys in series for v in ys):
        ax.set_yscale("log")
    _style(ax, title, xlabel, ylabel)
    _legend(ax, len(series))
    _save(fig, path, fmt_)


def _positions(values: Sequence[Any]) -> tuple[bool, list]:
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    return numeric, list(values) if numeric else list(range(len(values)))


def lines(path: Path, fmt_: str, series, *, title: str, xlabel: str, ylabel: str,
          log_x: bool = False) -> None:
    """Mean lines with a min-max band over seeds: `sweep-report --x A [--by B]` and
    `--epochs A`.  Non-numeric x values are placed evenly and labelled."""
    labels: list[Any] = []
    for line in series:
        for v in line.xs:
            if v not in labels:
                labels.append(v)
    numeric, _ = _positions(labels)
    if numeric:
        labels.sort()
    place = (lambda v: v) if numeric else labels.index
    fig, ax = _figure(7.0, 4.2)
    for line in series:
        if not line.xs:
            continue
        xs = [place(v) for v in line.xs]
        (drawn,) = ax.plot(xs, line.means, marker="o", markersize=3.5, linewidth=1.4,
                           label=line.label)
        if any(h != lo for h, lo in zip(line.highs, line.lows)):
            ax.fill_between(xs, line.lows, line.highs, color=drawn.get_color(),
                            alpha=0.18 if len(series) <= 2 else 0.09, linewidth=0)
    if not numeric:
        ax.set_xticks(range(len(labels)), [fmt(v) for v in labels])
    elif all(isinstance(v, int) for v in labels):   # epochs, lengths: no 1.5 ticks
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    elif log_x and labels and all(v > 0 for v in labels):
        ax.set_xscale("log")
    _style(ax, title, xlabel, ylabel)
    _legend(ax, len(series))
    _save(fig, path, fmt_)


def heatmap(path: Path, fmt_: str, s) -> None:
    """A :class:`~lstm_tui.sweeps.surface.Surface` as a colored grid, 'mean ±std' in each
    cell while the cells are large enough to read; brighter is better."""
    import numpy as np
    grid = np.full((len(s.ys), len(s.xs)), np.nan)
    notes: dict[tuple[int, int], str] = {}
    for i, yv in enumerate(s.ys):
        for j, xv in enumerate(s.xs):
            c = s.cell(xv, yv)
            if c is None:
                continue
            mark = "!" if c.group.troubled else ""
            if c.group.stat is None:
                notes[i, j] = "-" + mark
                continue
            st = c.group.stat
            grid[i, j] = st.mean
            notes[i, j] = f"{st.mean:.3g}" + (f"\n±{st.std:.2g}" if st.n > 1 else "") + mark
    width = min(16.0, max(4.5, 0.62 * len(s.xs) + 2.2))
    height = min(12.0, max(3.6, 0.42 * len(s.ys) + 1.6))
    fig, ax = _figure(width, height)
    cmap = "viridis" if s.goal == "max" else "viridis_r"
    masked = np.ma.masked_invalid(grid)
    image = ax.imshow(masked, cmap=cmap, aspect="auto", interpolation="nearest")
    fig.colorbar(image, ax=ax, label=f"{s.metric} ({'higher' if s.goal == 'max' else 'lower'}"
                 " is better)", shrink=0.9)
    ax.set_xticks(range(len(s.xs)), [fmt(v) for v in s.xs],
                  rotation=45 if len(s.xs) > 10 else 0, ha="right" if len(s.xs) > 10 else "center")
    ax.set_yticks(range(len(s.ys)), [fmt(v) for v in s.ys])
    ax.set_xlabel(s.x)
    ax.set_ylabel(s.y)
    if len(s.xs) <= 14 and len(s.ys) <= 24:
        lo, hi = (float(np.nanmin(grid)), float(np.nanmax(grid))) if notes and \
            not np.isnan(grid).all() else (0.0, 1.0)
        for (i, j), text in notes.items():
            v = grid[i, j]
            frac = 0.5 if math.isnan(v) or hi == lo else (v - lo) / (hi - lo)
            bright = frac > 0.6 if s.goal == "max" else frac < 0.4
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="black" if bright else "white" if not math.isnan(v) else "gray")
    title = f"{s.metric}: mean over seeds"
    if s.hidden:
        title += f"; each cell the best over {', '.join(s.hidden)}"
    _title(ax, title)
    _save(fig, path, fmt_)


def trials(path: Path, fmt_: str, t) -> None:
    """A sweep of drawn points (:class:`~lstm_tui.sweeps.trials.Trials`): the metric of
    each trial with the best so far as a staircase; with several objectives, beside it,
    every counted trial's first objective against its second, the Pareto front joined."""
    from lstm_tui.sweeps.trials import best_steps, pareto_title, scatter_points, wide
    figure = import_matplotlib()(figsize=(12.0 if t.several else 7.0, 4.2),
                                 layout="constrained")
    ax = figure.add_subplot(1, 2 if t.several else 1, 1)
    counted = [(x.number, x.value) for x in t.trials if x.counted and x.value is not None]
    other = [(x.number, x.value) for x in t.trials if not x.counted and x.value is not None]
    if counted:
        ax.scatter(*zip(*counted), s=18, color="#1f77b4", label="trial", zorder=3)
    if other:
        ax.scatter(*zip(*other), s=22, marker="x", color="#999999", label="pruned or failed",
                   zorder=3)
    xs, ys = best_steps(t)
    if xs:
        ax.plot(xs, ys, color="#ff7f0e", linewidth=1.6, label="best so far")
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _style(ax, f"{t.label} per trial, and the best so far", "trial", t.label)
    _legend(ax, 2)
    if t.several:
        ax2 = figure.add_subplot(1, 2, 2)
        points = scatter_points(t)
        rest = [(x, y) for trial, x, y in points if not t.on_front(trial)]
        front = sorted((x, y) for trial, x, y in points if t.on_front(trial))
        if rest:
            ax2.scatter(*zip(*rest), s=18, color="#999999", label="trial", zorder=3)
        if front:
            ax2.plot(*zip(*front), marker="D", markersize=5, color="#d62728", linewidth=1.4,
                     label="Pareto front", zorder=4)
        if wide([x for _, x, _ in points]):
            ax2.set_xscale("log")
        (first, _), (second, _) = t.objectives[:2]
        _style(ax2, pareto_title(t), second, first)
        _legend(ax2, 2)
    _save(figure, path, fmt_)
