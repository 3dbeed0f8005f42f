"""Widgets of the lab: config forms, charts, the gradient heatmap, the summary panel."""
