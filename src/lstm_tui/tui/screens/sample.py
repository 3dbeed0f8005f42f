"""The Sample screen: text from char_lm runs, streamed as it is generated, side by side.

Two columns share the prime text, the length and the seed; each has its own run,
checkpoint and temperature, so one screen compares two temperatures of one run (the
default: column B starts on A's run) or two runs at one temperature.  The model is
loaded, and torch imported, in a thread worker only when g is pressed; both streams
advance in that worker in turns and reach the UI at most ~20 times a second.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker, WorkerState, get_current_worker

from lstm_tui.runs.index import indexed_runs
from lstm_tui.runs.reader import RunInfo, read_info
from lstm_tui.runs.trained import CHECKPOINTS
from lstm_tui.tasks.registry import samples_text
from lstm_tui.numbers import printable
from lstm_tui.tui.errors import one_line, report_worker_error
from lstm_tui.tui.run_labels import (best_text, display_name, run_choice, started_text,
                                     status_of)
from lstm_tui.tui.widgets.footer import Footer
from lstm_tui.tui.widgets.slider import Slider

SAMPLE_THREADS = 1         # torch threads of the UI process (it only ever samples)
FLUSH_SECONDS = 0.05      # text reaches the UI at most 20 times a second
MAX_LENGTH = 20_000      # the text is re-wrapped as it grows: keep it readable


@dataclass(frozen=True)
class Job:
    """What one column asked for."""
    side: str
    run: Path
    checkpoint: str
    temperature: float
    top_k: int | None = None


@dataclass
class _Stream:
    """One column's generator while it runs, and the text not yet shown."""
    column: SampleColumn
    chars: Iterator[tuple[str, float]]
    about: str
    count: int = 0
    buffer: list[tuple[str, float]] = field(default_factory=list)

    def take(self) -> tuple[str, list[float]]:
        text = "".join(c for c, _ in self.buffer)
        probs = [p for _, p in self.buffer]
        self.buffer.clear()
        return text, probs


class SampleColumn(Vertical):
    """One side of the comparison: run, checkpoint, temperature, and its text."""

    def __init__(self, side: str, temperature: float, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="sample-column")
        self.side = side
        self.temperature = temperature
        self.prime = ""
        self.generated = ""
        self.probs: list[float] = []     # the model's probability of each generated char
        self.show_probs = False
        self.state = "idle"          # idle | loading | generating | done | error
        self.message = ""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="sample-head"):
            yield Label(f" {self.side} ", classes="sample-side")
            yield Select([], prompt="char_lm run", id=f"run-{self.side}", compact=True,
                         classes="sample-run")
            yield Select([(c, c) for c in CHECKPOINTS], value="best", allow_blank=False,
                         id=f"ckpt-{self.side}", compact=True, classes="sample-ckpt")
        yield Slider(self.temperature, minimum=0.0, maximum=2.0, step=0.05, label="temperature",
                     zero_label="argmax", id=f"temp-{self.side}",
                     tooltip="softmax temperature (0 = argmax)")
        yield Static("", classes="sample-status")
        with VerticalScroll(classes="sample-scroll"):
            yield Static("", classes="sample-text")

    # -- what the screen reads
    @property
    def run_select(self) -> Select:
        return self.query_one(f"#run-{self.side}", Select)

    @property
    def run_path(self) -> Path | None:
        value = self.run_select.value
        return None if value is Select.NULL else Path(str(value))

    @property
    def checkpoint(self) -> str:
        return str(self.query_one(f"#ckpt-{self.side}", Select).value)

    @property
    def slider(self) -> Slider:
        return self.query_one(f"#temp-{self.side}", Slider)

    def job(self, top_k: int | None = None) -> Job | None:
        path = self.run_path
        if path is None:
            return None
        return Job(self.side, path, self.checkpoint, self.slider.value, top_k)

    # -- what the screen writes
    def set_status(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        style = {"error": "bold red", "done": "green", "loading": "yellow",
                 "generating": "cyan"}.get(state, "dim")
        self.query_one(".sample-status", Static).update(Text(printable(message), style=style))

    def begin(self, prime: str) -> None:
        self.prime, self.generated, self.probs = prime, "", []
        self._render_text()

    def append(self, chunk: str, probs: list[float] | None = None) -> None:
        self.generated += chunk
        self.probs += probs or [1.0] * len(chunk)
        self._render_text()

    def colour_by_probability(self, on: bool) -> None:
        self.show_probs = on
        self._render_text()

    def _render_text(self) -> None:
        text = Text()
        # a model trained on any text file may write any character: none reaches the
        # terminal as a control (lstm_tui.numbers)
        text.append(printable(self.prime, lines=True), style="dim underline")
        if self.show_probs:
            from lstm_tui.render.inspection_view import Scale
            scale = Scale(0.0, 1.0, False)
            for ch, p in zip(self.generated, self.probs):
                text.append(printable(ch, lines=True),
                            style=f"{scale.ink(p)} on {scale.colour(p)}")
        else:
            text.append(printable(self.generated, lines=True))
        self.query_one(".sample-text", Static).update(text)
        self.query_one(".sample-scroll", VerticalScroll).scroll_end(animate=False)


class SampleScreen(Screen):
    """Sample text from char_lm runs at one or two temperatures, streamed as it comes."""

    CSS_PATH = "runs.tcss"
    AUTO_FOCUS = "#temp-A"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("g", "generate", "Generate"),
        Binding("x", "stop", "Stop"),
        Binding("b", "toggle_b", "Column B"),
        Binding("p", "toggle_probs", "Probabilities",
                tooltip="colour each character by the probability the model gave it"),
        Binding("r", "reload", "Reload runs", show=False),
    ]

    class RunsListed(Message):
        def __init__(self, runs: list[RunInfo]) -> None:
            super().__init__()
            self.runs = runs

    class Finished(Message):
        """A generation ended (all columns)."""

        def __init__(self, cancelled: bool) -> None:
            super().__init__()
            self.cancelled = cancelled

    def __init__(self, root: Path, run_path: Path | None = None, *,
                 name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.root = Path(root)
        self.run_path = Path(run_path) if run_path is not None else None
        self.runs: list[RunInfo] = []
        self.loaded = False
        self.generating = False
        self.generations = 0
        self.seed_used: int | None = None
        self.show_probs = False
        self._samplers: dict[tuple, object] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="sample-controls"):
            yield Input(placeholder="prime text (optional)", id="sample-prime", compact=True)
            yield Label("length", classes="sample-label")
            yield Input("300", id="sample-length", type="integer", compact=True)
            yield Label("seed", classes="sample-label")
            yield Input("", placeholder="random", id="sample-seed", type="integer",
                        compact=True)
            yield Label("top-k", classes="sample-label")
            yield Input("", placeholder="all", id="sample-topk", type="integer", compact=True)
            yield Button("Generate", id="sample-go", variant="primary", compact=True)
        with Horizontal(id="sample-columns"):
            yield SampleColumn("A", 0.5, id="sample-a")
            yield SampleColumn("B", 1.0, id="sample-b")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":     # only when pushed over another screen (from Runs)
            return len(self.app.screen_stack) > 1
        if action == "stop":
            return self.generating
        return True

    def _set_generating(self, on: bool) -> None:
        self.generating = on
        self.query_one("#sample-go", Button).label = "Stop" if on else "Generate"
        self.refresh_bindings()

    @property
    def columns(self) -> list[SampleColumn]:
        return [c for c in self.query(SampleColumn) if c.display]

    def column(self, side: str) -> SampleColumn:
        return self.query_one(f"#sample-{side.lower()}", SampleColumn)

    # -- the list of runs
    def action_reload(self) -> None:
        self._list_runs()

    @work(thread=True, group="sample-list", exit_on_error=False)
    def _list_runs(self) -> None:
        runs = [r for r in indexed_runs(self.root) if samples_text(r.task) and not r.error]
        if self.run_path is not None and all(r.path != self.run_path for r in runs):
            try:
                runs.append(read_info(self.run_path))
            except Exception as exc:
                runs.append(RunInfo(path=self.run_path, name=self.run_path.name,
                                    error=one_line(exc)))
        self.post_message(self.RunsListed(runs))

    @on(RunsListed)
    def _runs_listed(self, message: RunsListed) -> None:
        self.runs = sorted(message.runs, key=lambda r: -(r.created or r.updated))
        options = []
        for r in self.runs:
            label = run_choice(r, self.root)       # time, status and best tell runs apart
            if not samples_text(r.task):
                label += f" ({r.task})"
            options.append((label, str(r.path)))
        default = self.run_path or (self.runs[0].path if self.runs else None)
        for col in self.query(SampleColumn):
            select = col.run_select
            current = col.run_path if self.loaded else default
            select.set_options(options)
            if current is not None and any(v == str(current) for _, v in options):
                select.value = str(current)
        first = not self.loaded
        self.loaded = True
        if not options:
            for col in self.query(SampleColumn):
                col.set_status("error", f"No char_lm runs under {self.root}/; train one first "
                                        "(task.kind = \"char_lm\").")
        elif first:
            for col in self.query(SampleColumn):
                col.set_status("idle", self.ready_text(col.run_path))
                problem = self.run_problem(col.run_path)
                if problem:
                    col.set_status("error", problem)

    def ready_text(self, path: Path | None) -> str:
        """The chosen run told apart (a narrow picker shows only its name), then what to do."""
        info = next((r for r in self.runs if r.path == path), None)
        if info is None:
            return "press g to generate"
        return f"{started_text(info.created)} · {status_of(info)} · best {best_text(info)}" \
               " · press g to generate"

    def run_problem(self, path: Path | None) -> str:
        """Why a run cannot be sampled, found without torch ('' when it looks fine)."""
        if path is None:
            return "pick a char_lm run"
        info = next((r for r in self.runs if r.path == path), None)
        if info is None:
            try:
                info = read_info(path)
            except Exception as exc:
                return one_line(exc)
        if info.error:
            return info.error
        if not samples_text(info.task):
            return (f"{display_name(info, self.root)} is a {info.task} run; "
                    "sampling needs a char_lm run")
        return ""

    @on(Select.Changed, ".sample-run")
    def _run_changed(self, event: Select.Changed) -> None:
        col = next(c for c in self.query(SampleColumn) if c.run_select is event.select)
        if not self.loaded or event.value is Select.NULL:
            return
        problem = self.run_problem(Path(str(event.value)))
        if problem:
            col.set_status("error", problem)
        elif col.state in ("error", "idle"):
            col.set_status("idle", self.ready_text(Path(str(event.value))))

    # -- generating
    def _settings(self) -> tuple[str, int, int, int | None] | str:
        prime = self.query_one("#sample-prime", Input).value
        raw_top_k = self.query_one("#sample-topk", Input).value.strip()
        top_k = None
        if raw_top_k:
            try:
                top_k = int(raw_top_k)
            except ValueError:
                return f"top-k must be a whole number or empty, got {raw_top_k!r}"
            if top_k < 1:
                return f"top-k must be 1 or more (empty: all characters), got {top_k}"
        raw_length = self.query_one("#sample-length", Input).value.strip()
        raw_seed = self.query_one("#sample-seed", Input).value.strip()
        try:
            length = int(raw_length)
        except ValueError:
            return f"length must be a whole number, got {raw_length!r}"
        if not 1 <= length <= MAX_LENGTH:
            return f"length must be between 1 and {MAX_LENGTH:,}, got {length}"
        if raw_seed:
            try:
                seed = int(raw_seed)
            except ValueError:
                return f"seed must be a whole number or empty, got {raw_seed!r}"
        else:
            seed = random.randrange(2 ** 31)
        return prime, length, seed, top_k

    def action_generate(self) -> None:
        if self.generating:
            self.action_stop()
        settings = self._settings()
        if isinstance(settings, str):
            self.notify(settings, title="Sample", severity="error")
            for col in self.columns:
                col.set_status("error", settings)
            return
        prime, length, seed, top_k = settings
        self.seed_used = seed
        jobs = []
        for col in self.columns:
            problem = self.run_problem(col.run_path)
            if problem:
                col.set_status("error", problem)
                continue
            col.begin(prime)
            col.set_status("loading", "loading the model…")
            jobs.append(col.job(top_k))
        if not jobs:
            return
        self._set_generating(True)
        self._generate(jobs, {c.side: c for c in self.columns}, prime, length, seed)

    def _sampler(self, job: Job):
        """A cached Sampler per (run, checkpoint file, mtime): torch is imported here."""
        import torch

        from lstm_tui.runs.sampler import Sampler
        # One character at a time is far too little work to share out: torch's default
        # thread pool spins, and on a busy machine made 2 x 300 characters take ~6 s here
        # against well under a second on one thread (the UI process trains nothing).
        torch.set_num_threads(SAMPLE_THREADS)
        ckpt = job.run / f"{job.checkpoint}.pt"
        try:
            mtime = ckpt.stat().st_mtime_ns
        except OSError:
            mtime = None
        key = (job.run, job.checkpoint, mtime)
        if key not in self._samplers:
            self._samplers[key] = Sampler(job.run, job.checkpoint)
        return self._samplers[key]

    @work(thread=True, exclusive=True, group="sample-generate", exit_on_error=False)
    def _generate(self, jobs: list[Job], columns: dict[str, SampleColumn], prime: str,
                  length: int, seed: int) -> None:
        """Load each column's model, then advance the streams in turns; the text reaches
        the UI in chunks at most every FLUSH_SECONDS."""
        worker = get_current_worker()
        call = self.app.call_from_thread
        streams: list[_Stream] = []
        for job in jobs:
            col = columns[job.side]
            try:
                sampler = self._sampler(job)
                chars = iter(sampler.scored(prime, length, job.temperature, seed, job.top_k))
            except Exception as exc:  # RunError, ValueError, a state dict that does not fit...
                call(self._flush, col, ("", []), "error", one_line(exc))
                continue
            temp = "argmax" if job.temperature == 0 else f"T {job.temperature:.2f}"
            top = f" · top-{job.top_k}" if job.top_k and job.temperature else ""
            about = f"{temp}{top} · step {sampler.step} · seed {seed}"
            call(self._flush, col, ("", []), "generating", f"{about} · generating…")
            streams.append(_Stream(col, chars, about))
        last = time.monotonic()
        while streams and not worker.is_cancelled:
            for stream in list(streams):
                try:
                    stream.buffer.append(next(stream.chars))
                    stream.count += 1
                except StopIteration:
                    streams.remove(stream)
                    call(self._flush, stream.column, stream.take(), "done",
                         f"{stream.about} · {stream.count} chars")
                except Exception as exc:
                    streams.remove(stream)
                    call(self._flush, stream.column, stream.take(), "error", one_line(exc))
            if time.monotonic() - last >= FLUSH_SECONDS:
                last = time.monotonic()
                for stream in streams:
                    call(self._flush, stream.column, stream.take(), "generating",
                         f"{stream.about} · {stream.count}/{length}")
        for stream in streams:  # stopped before the end
            call(self._flush, stream.column, stream.take(), "done",
                 f"{stream.about} · stopped at {stream.count} chars")
        self.post_message(self.Finished(worker.is_cancelled))

    def _flush(self, col: SampleColumn, chunk: tuple[str, list[float]], state: str,
               message: str) -> None:
        """Text and status from the generating thread (a closed screen ignores them)."""
        if not col.is_attached:
            return
        if chunk[0]:
            col.append(*chunk)
        if state:
            col.set_status(state, message)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            if event.worker.group == "sample-generate":
                self._set_generating(False)
            report_worker_error(self, event.worker)

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        if message.cancelled and self.generating:
            return  # a newer generation took over
        self._set_generating(False)
        self.generations += 1

    def action_stop(self) -> None:
        if self.generating:
            self.workers.cancel_group(self, "sample-generate")
            self._set_generating(False)

    @on(Button.Pressed, "#sample-go")
    def _go(self) -> None:
        if self.generating:
            self.action_stop()
        else:
            self.action_generate()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_generate()

    def action_toggle_probs(self) -> None:
        self.show_probs = not self.show_probs
        for col in self.query(SampleColumn):
            col.colour_by_probability(self.show_probs)

    def action_toggle_b(self) -> None:
        col = self.column("B")
        col.display = not col.display

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.action_stop()
            self.app.pop_screen()
