"""A trained run's model as a file other programs use without lstm-lab: ONNX,
TorchScript or safetensors, and a ``model.json`` beside it.

The ONNX and TorchScript files are the graph of :mod:`lstm_tui.models.portable` (the
normalised ``input`` (batch, time, features) -> ``output``, batch and time free).  Each
file is checked before it replaces anything: ONNX run by onnxruntime, TorchScript loaded
back, on inputs of several batch and time sizes, against the very model ``predict``
uses, to 1e-4; safetensors read back equal, under the model's parameter names.  A file
that disagrees is never written; a model that cannot be exported is one line.

``model.json`` says everything needed to use the file: the input and output names and
shapes, what the output means, the normalisation statistics and labels or vocabulary
(the task's ``inference()``), the cell, the config and the versions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from lstm_tui.config import ConfigError, config_to_dict
from lstm_tui.fsio import atomic_write, atomic_write_json
from lstm_tui.runs.trained import TrainedRun

FORMATS = ("onnx", "torchscript", "safetensors")
EXTRAS = {"onnx": ("onnx", "onnxruntime"), "safetensors": ("safetensors",),
          "torchscript": ()}
TOLERANCE = 1e-4
OPSET = 17
MANIFEST = "model.json"


class ExportError(ConfigError):
    """The model cannot be exported in this format (one line; nothing written)."""

    def __init__(self, option: str, message: str):
        super().__init__(option, "", message)


def require(fmt: str) -> None:
    """The format's libraries, or a one-line ConfigError with the pip command."""
    import importlib.util
    missing = [m for m in EXTRAS[fmt] if importlib.util.find_spec(m) is None]
    if missing:
        extra = "onnx" if fmt == "onnx" else "safetensors"
        raise ConfigError(f"--{fmt}", "", f"needs {' and '.join(missing)}; install with: "
                          f"pip install 'lstm-lab[{extra}]'")


def manifest_path(path: Path) -> Path:
    return Path(path).with_name(MANIFEST)


def export(run: TrainedRun, fmt: str, path: Path) -> dict:
    """Write `run`'s model to `path` in `fmt` and model.json beside it; returns the
    manifest (model.json's content)."""
    require(fmt)
    path = Path(path)
    model = run.model.to("cpu").eval()
    inputs, _, readout = run.sizes
    length = trained_length(run)
    extra: dict[str, Any] = {}
    if fmt == "safetensors":
        extra["parameters"] = _safetensors(model, path)
    else:
        from lstm_tui.models.portable import NotPortable, graph
        try:
            scripted = graph(model, inputs, length)
        except (NotPortable, RuntimeError, TypeError) as exc:
            raise ExportError(f"--{fmt}", f"cannot export cell {run.config.model.cell!r}: "
                              f"{_first(exc)}") from None
        write = _onnx if fmt == "onnx" else _torchscript
        extra["check"] = write(scripted, model, inputs, length, readout, path,
                               run.config.model.cell)
    doc = manifest(run, fmt, path, length, extra)
    atomic_write_json(manifest_path(path), doc)
    return doc


def trained_length(run: TrainedRun) -> int:
    """The sequence length the model was trained on (a window, a seq_len), else 8."""
    task = run.config.task
    for value in (run.payload.get("inference", {}).get("seq_len"),
                  getattr(task, "window", None), getattr(task, "seq_len", None)):
        if isinstance(value, int) and value > 0:
            return value
    return 8


def manifest(run: TrainedRun, fmt: str, path: Path, length: int, extra: dict) -> dict:
    import torch

    from lstm_tui.version import VERSION
    inputs, outputs, readout = run.sizes
    versions = {"lstm_lab": VERSION, "torch": torch.__version__}
    if fmt == "onnx":
        import onnx
        import onnxruntime
        versions.update(onnx=onnx.__version__, onnxruntime=onnxruntime.__version__,
                        opset=OPSET)
    out_shape = ["batch", outputs] if readout == "last" else ["batch", "time", outputs]
    return {
        "format": fmt, "file": path.name, "run": run.run_dir.name,
        "checkpoint": run.checkpoint.name, "step": run.step, "task": run.kind,
        "cell": run.config.model.cell, "versions": versions,
        "input": {"name": "input", "shape": ["batch", "time", inputs], "dtype": "float32",
                  "trained_length": length, "normalised": True},
        "output": {"name": "output", "shape": out_shape, "dtype": "float32",
                   "readout": readout, "meaning": meaning(run.kind, readout)},
        "normalisation": run.inference(), "labels": run.classes, "vocab": run.vocab,
        **extra, "config": config_to_dict(run.config),
    }


def meaning(kind: str, readout: str) -> str:
    """What the output holds, as the task's spec says (the manual says more)."""
    from lstm_tui.tasks.registry import get
    spec = get(kind)
    if spec is not None and spec.output_meaning:
        return spec.output_meaning
    return "logits over the classes" + (" at every step" if readout == "all" else "")


# ---------------------------------------------------------------- the formats

def check_inputs(inputs: int, length: int) -> list:
    """Random inputs of several batch and time sizes (the trained length among them)."""
    import torch
    gen = torch.Generator().manual_seed(0)
    shapes = [(1, length), (3, length), (2, 1), (2, length + 3), (5, max(2, length // 2))]
    return [torch.randn(b, t, inputs, generator=gen) for b, t in dict.fromkeys(shapes)]


def _compare(model, run_candidate: Callable, inputs: int, length: int, option: str,
             what: str) -> dict:
    """Max |difference| of `run_candidate(x)` from the model over the check inputs;
    ExportError (nothing written) above TOLERANCE or when the candidate fails."""
    import numpy as np
    import torch
    worst, shapes = 0.0, []
    for x in check_inputs(inputs, length):
        with torch.no_grad():
            want = model(x)[0].numpy()
        try:
            got = np.asarray(run_candidate(x))
        except Exception as exc:   # a runtime's own error types: the shape it failed on
            raise ExportError(option, f"the exported model fails on input {list(x.shape)} "
                              f"({_first(exc)}); nothing written") from None
        if got.shape != want.shape:
            raise ExportError(option, f"the exported model gives shape {list(got.shape)} "
                              f"for input {list(x.shape)}, the model {list(want.shape)}; "
                              "nothing written")
        diff = float(np.abs(got - want).max()) if want.size else 0.0
        if not np.allclose(got, want, rtol=TOLERANCE, atol=TOLERANCE):
            raise ExportError(option, f"{what} differs from the model by {diff:.3g} on input "
                              f"{list(x.shape)} (more than {TOLERANCE:g}); nothing written")
        worst = max(worst, diff)
        shapes.append(list(x.shape))
    return {"by": what, "max_abs_diff": worst, "tolerance": TOLERANCE, "shapes": shapes}


def _onnx(scripted, model, inputs: int, length: int, readout: str, path: Path,
          cell: str) -> dict:
    import warnings

    import onnxruntime
    import torch
    axes = {"input": {0: "batch", 1: "time"},
            "output": {0: "batch"} if readout == "last" else {0: "batch", 1: "time"}}
    example = torch.zeros(2, max(2, length), inputs)
    check: dict = {}
    _teach_onnx()

    def write(tmp: Path) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")     # the exporter's deprecation notes
                torch.onnx.export(scripted, (example,), str(tmp), dynamo=False,
                                  input_names=["input"], output_names=["output"],
                                  dynamic_axes=axes, opset_version=OPSET)
        except Exception as exc:   # the exporter's own types: an op it cannot express
            raise ExportError("--onnx", f"cannot export cell {cell!r}: torch.onnx cannot "
                              f"express it ({_first(exc)}); --torchscript may") from None
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3          # its errors come back as exceptions
        session = onnxruntime.InferenceSession(str(tmp), options,
                                               providers=["CPUExecutionProvider"])
        check.update(_compare(model, lambda x: session.run(None, {"input": x.numpy()})[0],
                              inputs, length, "--onnx", "onnxruntime"))
    atomic_write(path, write)
    return check


def _teach_onnx() -> None:
    """Ops torch.onnx has no ONNX for, in ONNX terms (once per process).

    logcumsumexp (the log-space scans of minGRU and minLSTM): shifted by the maximum along
    its axis, ``log(cumsum(exp(x - max))) + max`` -- exact on the one-step sequences the
    step loop gives it; elsewhere a result that differs is refused by the check.
    """
    global _taught
    if _taught:
        return
    import torch
    from torch.onnx import register_custom_op_symbolic, symbolic_helper

    @symbolic_helper.parse_args("v", "i")
    def logcumsumexp(g, x, dim):
        top = g.op("ReduceMax", x, axes_i=[dim], keepdims_i=1)
        axis = g.op("Constant", value_t=torch.tensor(dim, dtype=torch.int64))
        total = g.op("CumSum", g.op("Exp", g.op("Sub", x, top)), axis)
        return g.op("Add", g.op("Log", total), top)
    register_custom_op_symbolic("aten::logcumsumexp", logcumsumexp, OPSET)
    _taught = True


_taught = False


def _torchscript(scripted, model, inputs: int, length: int, readout: str,
                 path: Path, cell: str) -> dict:
    import warnings

    import torch
    check: dict = {}

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")    # torch 2.13 calls TorchScript deprecated
            try:
                torch.jit.save(scripted, str(tmp))
                loaded = torch.jit.load(str(tmp))
            except RuntimeError as exc:
                raise ExportError("--torchscript", f"cannot export cell {cell!r}: "
                                  f"{_first(exc)}") from None

        def run(x):
            with torch.no_grad():
                return loaded(x).numpy()
        check.update(_compare(model, run, inputs, length, "--torchscript", "torch.jit.load"))
    atomic_write(path, write)
    return check


def _safetensors(model, path: Path) -> dict:
    """Write the state dict; returns {parameter name: shape}."""
    import torch
    from safetensors.torch import load_file, save_file
    tensors = {name: t.detach().cpu().contiguous().clone()
               for name, t in model.state_dict().items()}

    def write(tmp: Path) -> None:
        save_file(tensors, str(tmp), metadata={"format": "pt"})
        back = load_file(str(tmp))
        if back.keys() != tensors.keys() or not all(torch.equal(back[k], tensors[k])
                                                    for k in tensors):
            raise ExportError("--safetensors", "the file read back differs from the "
                              "model's weights; nothing written")
    atomic_write(path, write)
    return {name: list(t.shape) for name, t in tensors.items()}


def _first(exc: BaseException) -> str:
    from lstm_tui.errors import first_line
    return first_line(exc, 300)
