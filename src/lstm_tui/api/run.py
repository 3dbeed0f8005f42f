"""One run folder as a notebook uses it: its config, summary and metrics, its model and
predictions.  Reads go through the run store (runs.reader, runs.trained, runs.predict),
so a Run sees exactly what the commands and the lab see."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy
    import pandas
    import torch

    from lstm_tui.runs.trained import TrainedRun


class Run:
    """A run folder (``lab.open_run``, ``lab.train``).

    `checkpoint` ("best" or "last") is the one ``model()`` and ``predict()`` use.  The
    files are read when asked for, so a run still training shows its newest records.
    """

    def __init__(self, path: str | Path, checkpoint: str = "best"):
        from lstm_tui.config import ConfigError
        from lstm_tui.runs.trained import CHECKPOINTS
        if checkpoint not in CHECKPOINTS:
            raise ConfigError("checkpoint", "", f"must be one of {', '.join(CHECKPOINTS)}, "
                              f"got {checkpoint!r}")
        self.path = Path(path)
        self.checkpoint = checkpoint
        self._trained: TrainedRun | None = None

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, status={self.status!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> dict:
        """The resolved config the run was trained with, as plain tables."""
        from lstm_tui.config import config_to_dict
        from lstm_tui.runs.reader import read_run_config
        return config_to_dict(read_run_config(self.path))

    @property
    def summary(self) -> dict:
        """summary.json ({} before the run has written one)."""
        from lstm_tui.runs.layout import SUMMARY
        from lstm_tui.runs.summary import read_summary
        return dict(read_summary(self.path / SUMMARY)[0] or {})

    @property
    def status(self) -> str:
        """running, completed, stopped_early, failed, ... (as `lstm-lab runs` says)."""
        from lstm_tui.runs.reader import read_info
        return read_info(self.path).status

    def metrics(self) -> pandas.DataFrame:
        """metrics.jsonl as a DataFrame: a row per record (split train or val, step,
        epoch, time, loss, the task's metric, ...)."""
        import pandas as pd

        from lstm_tui.runs.reader import load_run
        return pd.DataFrame(load_run(self.path).metrics)

    def trained(self) -> TrainedRun:
        """The checkpoint opened (runs.trained.open_trained), once."""
        if self._trained is None:
            from lstm_tui.runs.trained import open_trained
            self._trained = open_trained(self.path, self.checkpoint)
        return self._trained

    def model(self) -> torch.nn.Module:
        """The trained model in eval mode, on the CPU: normalised input (batch, time,
        features) -> output, exactly as the exported ONNX and TorchScript files."""
        from lstm_tui.models.portable import Portable
        return Portable(self.trained().model).eval()

    def predict(self, data: str | Path | numpy.ndarray | None = None, *,
                text: str | None = None, rolling: bool = False, top: int = 10) -> dict:
        """What ``lstm-lab predict --json`` prints: `data` is a file (str or Path) or an
        array (series: rows x the run's columns; classification: sequences x steps
        [x features]); `text` the text a char_lm run continues."""
        from lstm_tui.runs.predict import PredictOptions, predict
        if text is not None:
            source: Any = text
        elif isinstance(data, (str, Path)):
            source = Path(data)
        else:
            source = data
        return predict(self.trained(), source, PredictOptions(rolling=rolling, top=top,
                                                              key="data"))
