"""Keras-style parameter table of a model, computed from its config alone.

The counts are analytic (no model is built), so front ends and the run list can show
them without importing torch: each cell's spec lists its parameter shapes per direction
of a layer (PyTorch's layout for the built-ins: ``gates * (H*I + H*H + 2*H)``, two bias
vectors b_ih and b_hh), which is what :class:`~lstm_tui.models.network.SequenceModel`
holds.  The unit tests check every total against ``sum(p.numel())`` of a built model.
"""

from __future__ import annotations

from lstm_tui.config import ModelConfig
from lstm_tui.events import ModelSummary, SummaryRow
from lstm_tui.models.cells import spec_of


def recurrent_layer_params(model_cfg: ModelConfig, input_size: int, directions: int = 1) -> int:
    """Parameters of one recurrent layer (all its directions) of the config's cell."""
    spec = spec_of(model_cfg.cell)
    return directions * spec.count(input_size, model_cfg.hidden, model_cfg)


def param_count(model_cfg: ModelConfig, input_size: int, output_size: int) -> int:
    """Total parameters of the recurrent stack plus the linear read-out."""
    dirs = 2 if model_cfg.bidirectional else 1
    width = model_cfg.hidden * dirs
    total = sum(recurrent_layer_params(model_cfg, input_size if k == 0 else width, dirs)
                for k in range(model_cfg.layers))
    return total + width * output_size + output_size


def summarize(model_cfg: ModelConfig, input_size: int, output_size: int,
              seq_len: int | None, readout: str) -> ModelSummary:
    """The rows, totals and notes of the model's parameter table.

    `seq_len` only labels the shapes (None prints as ``None``, as Keras does for a
    variable length); `readout` is the task's "last" or "all".
    """
    if readout not in ("last", "all"):
        raise ValueError(f"readout must be 'last' or 'all', got {readout!r}")
    cell, h = model_cfg.cell, model_cfg.hidden
    dirs = 2 if model_cfg.bidirectional else 1
    width = h * dirs
    t = "None" if seq_len is None else str(seq_len)
    kind = ("Bidirectional " if dirs == 2 else "") + spec_of(cell).label

    rows = [SummaryRow("input", "Input", f"(None, {t}, {input_size})", 0)]
    for k in range(model_cfg.layers):
        layer_in = input_size if k == 0 else width
        rows.append(SummaryRow(f"{cell}_{k + 1}", kind, f"(None, {t}, {width})",
                               recurrent_layer_params(model_cfg, layer_in, dirs)))
    # The recurrent stack always returns the whole sequence; "last" then picks one step.
    feature_shape = f"(None, {width})" if readout == "last" else f"(None, {t}, {width})"
    if readout == "last":
        rows.append(SummaryRow("last_step", "Select", feature_shape, 0))
    if model_cfg.dropout > 0:
        rows.append(SummaryRow("dropout", "Dropout", feature_shape, 0))
    out_shape = f"(None, {output_size})" if readout == "last" else f"(None, {t}, {output_size})"
    rows.append(SummaryRow("dense", "Linear", out_shape, width * output_size + output_size))

    total = sum(r.params for r in rows)
    return ModelSummary(rows=tuple(rows), total=total, trainable=total,
                        notes=tuple(_notes(model_cfg, readout)))


def _notes(cfg: ModelConfig, readout: str) -> list[str]:
    spec = spec_of(cfg.cell)
    notes = list(spec.notes(cfg)) if spec.notes is not None else []
    if cfg.bidirectional and readout == "last":
        notes.append("last_step joins the forward direction's last step and the backward "
                     "direction's first step: both have then read the whole sequence.")
    if cfg.dropout > 0 and cfg.layers > 1:
        notes.append(f"Dropout {cfg.dropout:g} also acts between the recurrent layers "
                     f"(training only).")
    if cfg.activation == "softsign" and spec.fused:
        notes.append("softsign runs the hand-written step-wise cell, slower than the fused "
                     "tanh kernel.")
    elif spec.fused and not spec.is_fused(cfg):
        notes.append(f"{cfg.cell} with these options runs the hand-written step-wise cell, "
                     f"slower than the fused kernel.")
    if spec.scan is not None:
        notes.append(f"{spec.label} trains with a parallel scan over time; sampling and "
                     f"inspect run its step.")
    return notes


def format_summary(summary: ModelSummary) -> str:
    """The table as plain text, laid out like Keras's ``model.summary()``."""
    header = ("Layer (type)", "Output Shape", "Param #")
    cells = [(f"{r.layer} ({r.kind})", r.output_shape, f"{r.params:,}") for r in summary.rows]
    w0 = max(len(header[0]), *(len(c[0]) for c in cells)) + 3
    w1 = max(len(header[1]), *(len(c[1]) for c in cells)) + 3
    w2 = max(len(header[2]), *(len(c[2]) for c in cells))
    width = 1 + w0 + w1 + w2

    def line(c: tuple[str, str, str]) -> str:
        return f" {c[0]:<{w0}}{c[1]:<{w1}}{c[2]:>{w2}}"

    out = ["_" * width, line(header), "=" * width]
    for i, c in enumerate(cells):
        out.append(line(c))
        out.append("=" * width if i == len(cells) - 1 else "")
    out += [f"Total params: {summary.total:,}",
            f"Trainable params: {summary.trainable:,}",
            f"Non-trainable params: {summary.non_trainable:,}",
            "_" * width]
    out += [f"Note: {n}" for n in summary.notes]
    return "\n".join(out)
