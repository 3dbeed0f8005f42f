"""Interactive figures in ONE self-contained HTML file (plotly.js inlined: it opens with no
network): the curves of `compare`, every view of `sweep-report`, and for a sweep over two
axes a 3-D surface of the metric.  plotly is part of the extra `lstm-lab[plots]`; only its
bundled JavaScript is used, the traces are written here as plain data.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from lstm_tui.version import VERSION
from lstm_tui.render.jsondocs import clean
from lstm_tui.numbers import fmt

INSTALL = "pip install 'lstm-lab[plots]'"
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf", "#8c564b",
          "#e377c2", "#7f7f7f", "#bcbd22")


def plotly_js() -> str:
    from lstm_tui.config import ConfigError
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise ConfigError("--output", "", f"html figures need plotly; install it with: "
                          f"{INSTALL}") from None
    return get_plotlyjs()


@dataclass
class Chart:
    """One plotly chart: traces and layout as plain JSON-able data."""
    title: str
    traces: list[dict]
    layout: dict = field(default_factory=dict)
    height: int = 460


@dataclass
class Page:
    title: str
    charts: list[Chart] = field(default_factory=list)
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _numeric(values: Sequence[Any]) -> bool:
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                for v in values)


def _axis(values: Sequence[Any]) -> tuple[list, dict]:
    """Plot positions and axis settings: numbers as they are (log when they span decades),
    anything else as evenly placed categories."""
    if _numeric(values):
        positive = [v for v in values if v > 0]
        wide = len(positive) == len(values) and max(positive) / min(positive) >= 100
        return list(values), ({"type": "log"} if wide else {})
    return list(range(len(values))), {"tickvals": list(range(len(values))),
                                      "ticktext": [fmt(v) for v in values]}


def curves_chart(series: Sequence[tuple[str, list, list]], title: str, ylabel: str,
                 log_y: bool = False) -> Chart:
    traces = [{"type": "scatter", "mode": "lines", "name": label, "x": xs, "y": ys,
               "line": {"color": COLORS[i % len(COLORS)], "width": 2},
               "hovertemplate": f"{html.escape(label)}<br>step %{{x}}<br>{ylabel} %{{y:.4g}}"
                                "<extra></extra>"}
              for i, (label, xs, ys) in enumerate(series) if xs]
    layout = {"xaxis": {"title": {"text": "step"}},
              "yaxis": {"title": {"text": ylabel}, **({"type": "log"} if log_y else {})},
              "legend": {"orientation": "h", "y": -0.2}}
    return Chart(title, traces, layout)


def lines_chart(series, title: str, xlabel: str, ylabel: str, log_x: bool = False) -> Chart:
    labels: list[Any] = []
    for line in series:
        for v in line.xs:
            if v not in labels:
                labels.append(v)
    numeric = _numeric(labels)
    place = (lambda v: v) if numeric else (lambda v: fmt(v))
    traces: list[dict] = []
    for i, line in enumerate(series):
        if not line.xs:
            continue
        color = COLORS[i % len(COLORS)]
        xs = [place(v) for v in line.xs]
        if any(h != lo for h, lo in zip(line.highs, line.lows)):
            traces.append({"type": "scatter", "x": xs + xs[::-1],
                           "y": list(line.highs) + list(line.lows)[::-1], "fill": "toself",
                           "fillcolor": color, "opacity": 0.18, "line": {"width": 0},
                           "hoverinfo": "skip", "showlegend": False,
                           "legendgroup": line.label})
        traces.append({"type": "scatter", "mode": "lines+markers", "name": line.label,
                       "legendgroup": line.label, "x": xs, "y": line.means,
                       "customdata": [[lo, hi, sd] for lo, hi, sd in
                                      zip(line.lows, line.highs, line.stds)],
                       "line": {"color": color, "width": 2},
                       "hovertemplate": f"{html.escape(line.label)}<br>{xlabel} %{{x}}<br>"
                       f"{ylabel} %{{y:.4g}} ±%{{customdata[2]:.2g}}<br>min %{{customdata[0]"
                       ":.4g}}, max %{{customdata[1]:.4g}}<extra></extra>"})
    xaxis: dict = {"title": {"text": xlabel}}
    if not numeric:
        xaxis.update(type="category", categoryorder="array",
                     categoryarray=[fmt(v) for v in labels])
    elif log_x:
        xaxis["type"] = "log"
    return Chart(title, traces, {"xaxis": xaxis, "yaxis": {"title": {"text": ylabel}}})


def _grid(s) -> tuple[list[list], list[list[str]]]:
    z, text = [], []
    for yv in s.ys:
        zrow, trow = [], []
        for xv in s.xs:
            c = s.cell(xv, yv)
            st = c.group.stat if c else None
            zrow.append(st.mean if st else None)
            if st is None:
                trow.append("")
            else:
                trow.append(f"{st.mean:.3g}" + (f" ±{st.std:.2g}" if st.n > 1 else "") +
                            ("!" if c.group.troubled else ""))
        z.append(zrow)
        text.append(trow)
    return z, text


def _scale(goal: str) -> dict:
    return {"colorscale": "Viridis", "reversescale": goal != "max"}


def heatmap_chart(s) -> Chart:
    z, text = _grid(s)
    better = "higher" if s.goal == "max" else "lower"
    trace = {"type": "heatmap", "z": z, "x": [fmt(v) for v in s.xs],
             "y": [fmt(v) for v in s.ys], "text": text, **_scale(s.goal),
             "texttemplate": "%{text}" if len(s.xs) <= 14 else None,
             "colorbar": {"title": {"text": f"{better} is better"}},
             "hovertemplate": f"{s.x} %{{x}}<br>{s.y} %{{y}}<br>{s.metric} %{{text}}"
                              "<extra></extra>"}
    title = f"{s.metric} over {s.x} × {s.y} (mean ±std over seeds)"
    if s.hidden:
        title += f"; each cell the best over {', '.join(s.hidden)}"
    return Chart(title, [trace], {"xaxis": {"title": {"text": s.x}, "type": "category"},
                                  "yaxis": {"title": {"text": s.y}, "type": "category",
                                            "autorange": "reversed"}},   # as in the terminal
                 height=max(360, 40 + 28 * len(s.ys)))


def surface_chart(s) -> Chart:
    """The seed deck's accuracy surface: the metric over two axes, drag to turn it."""
    z, text = _grid(s)
    xs, xaxis = _axis(s.xs)
    ys, yaxis = _axis(s.ys)
    trace = {"type": "surface", "x": xs, "y": ys, "z": z, "text": text, **_scale(s.goal),
             "connectgaps": False,
             "hovertemplate": f"{s.x} %{{x}}<br>{s.y} %{{y}}<br>{s.metric} %{{z:.4g}}"
                              "<extra></extra>"}
    scene = {"xaxis": {"title": {"text": s.x}, **xaxis},
             "yaxis": {"title": {"text": s.y}, **yaxis},
             "zaxis": {"title": {"text": s.metric}},
             "camera": {"eye": {"x": 1.6, "y": -1.6, "z": 0.9}}}
    return Chart(f"{s.metric} as a surface over {s.x} × {s.y} (drag to turn, scroll to zoom)",
                 [trace], {"scene": scene}, height=620)


def trials_chart(t) -> Chart:
    """A sweep of drawn points: each trial's metric, the best so far as a staircase."""
    from lstm_tui.sweeps.trials import best_steps
    traces: list[dict] = []
    for counted, name, color, symbol in ((True, "trial", COLORS[0], "circle"),
                                         (False, "pruned or failed", "#999999", "x")):
        shown = [x for x in t.trials if x.counted == counted and x.value is not None]
        if shown:
            traces.append({"type": "scatter", "mode": "markers", "name": name,
                           "x": [x.number for x in shown], "y": [x.value for x in shown],
                           "text": [_values_text(x, t.axes) for x in shown],
                           "marker": {"color": color, "symbol": symbol, "size": 8},
                           "hovertemplate": f"trial %{{x}}<br>{t.label} %{{y:.4g}}<br>"
                                            "%{text}<extra></extra>"})
    xs, ys = best_steps(t)
    if xs:
        traces.append({"type": "scatter", "mode": "lines", "name": "best so far", "x": xs,
                       "y": ys, "line": {"color": COLORS[3], "width": 2},
                       "hovertemplate": "best so far %{y:.4g}<extra></extra>"})
    xaxis: dict = {"title": {"text": "trial"}}
    if len(t.trials) <= 20:
        xaxis["dtick"] = 1                  # whole trial numbers
    return Chart(f"{t.label} per trial, and the best so far", traces,
                 {"xaxis": xaxis, "yaxis": {"title": {"text": t.label}}})


def pareto_chart(t) -> Chart:
    """Every counted trial, the first objective against the second; the front joined."""
    from lstm_tui.sweeps.trials import pareto_title, scatter_points, wide
    points = scatter_points(t)
    (first, _), (second, _) = t.objectives[:2]
    traces = []
    for on, name in ((False, "trial"), (True, "Pareto front")):
        shown = sorted((p for p in points if t.on_front(p[0]) == on), key=lambda p: p[1])
        if shown:
            traces.append({"type": "scatter", "mode": "lines+markers" if on else "markers",
                           "name": name, "x": [p[1] for p in shown],
                           "y": [p[2] for p in shown],
                           "text": [f"trial {p[0].number}<br>{_values_text(p[0], t.axes)}"
                                    for p in shown],
                           "marker": {"color": COLORS[1] if on else "#999999", "size": 9,
                                      "symbol": "diamond" if on else "circle"},
                           "line": {"color": COLORS[1], "width": 2},
                           "hovertemplate": f"%{{text}}<br>{second} %{{x:.4g}}<br>{first} "
                                            "%{y:.4g}<extra></extra>"})
    xaxis: dict = {"title": {"text": second}}
    if wide([p[1] for p in points]):
        xaxis["type"] = "log"
    return Chart(pareto_title(t), traces, {"xaxis": xaxis,
                                           "yaxis": {"title": {"text": first}}})


def _values_text(trial, axes) -> str:
    return html.escape(" ".join(f"{a.rsplit('.', 1)[-1]}={fmt(trial.values.get(a))}"
                                for a in axes))


def _json(data: Any) -> str:
    # `</` could end the script element early
    return json.dumps(clean(data), allow_nan=False).replace("</", "<\\/")


def render(page: Page) -> str:
    """The whole page: plotly.js inline, then the charts and tables."""
    js = plotly_js()
    parts = [f"<h1>{html.escape(page.title)}</h1>",
             f"<p class=meta>lstm-lab {html.escape(VERSION)} · "
             f"{time.strftime('%Y-%m-%d %H:%M')}</p>"]
    parts += [f"<p>{html.escape(n)}</p>" for n in page.notes]
    scripts = []
    for i, chart in enumerate(page.charts):
        layout = {"title": {"text": chart.title, "x": 0, "xanchor": "left",
                            "font": {"size": 14}},
                  "height": chart.height, "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
                  "template": "plotly_white", **chart.layout}
        parts.append(f'<div class=chart id="chart{i}"></div>')
        scripts.append(f"Plotly.newPlot('chart{i}', {_json(chart.traces)}, {_json(layout)}, "
                       "{responsive: true, displaylogo: false});")
    for caption, header, rows in page.tables:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in rows)
        parts.append(f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}"
                     f"</tr></thead><tbody>{body}</tbody></table>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(page.title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }}
h1 {{ font-size: 1.3em; margin-bottom: 0.2em; }}
.meta {{ color: #777; margin-top: 0; font-size: 0.85em; }}
.chart {{ margin: 1em 0 2em; }}
table {{ border-collapse: collapse; margin: 1em 0 2em; font-size: 0.85em; }}
caption {{ text-align: left; font-weight: bold; padding-bottom: 0.4em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25em 0.7em; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
</style>
<script type="text/javascript">{js}</script>
</head>
<body>
{chr(10).join(parts)}
<script type="text/javascript">
{chr(10).join(scripts)}
</script>
</body>
</html>
"""


def write(path: Path, page: Page) -> None:
    Path(path).write_text(render(page), encoding="utf-8")
