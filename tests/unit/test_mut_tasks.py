"""tasks/ behaviour that mutation testing found unchecked (see TESTING.md)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_tui.config import ConfigError, parse_config
from lstm_tui.tasks import build_task, describe_task
from lstm_tui.tasks.base import compact_codes
from lstm_tui.tasks.registry import spec_of
from lstm_tui.tasks.series import skill


def test_a_classification_metric_is_the_mean_of_its_total():
    task = build_task(parse_config({"task": {"kind": "nth_element"}}).task, 0)
    assert task.reduce_metric(6.0, 3) == 2.0 and task.reduce_metric(0.0, 0) == 0.0


def test_the_last_partial_batch_is_dropped():
    cfg = parse_config({"task": {"kind": "nth_element", "train_size": 11, "val_size": 4}})
    task = build_task(cfg.task, 0)
    batches = list(task.train_batches(3, torch.Generator().manual_seed(0)))
    assert [x.shape[0] for x, _ in batches] == [3, 3, 3]
    assert task.steps_per_epoch(3) == 3


@pytest.mark.parametrize("n,dtype", [(200, torch.uint8), (300, torch.int16),
                                     (2 ** 15, torch.int16), (2 ** 15 + 1, torch.int32)])
def test_codes_are_stored_in_the_smallest_type_that_holds_them(n, dtype):
    codes = torch.tensor([0, n - 1])
    packed = compact_codes(codes, n)
    assert packed.dtype == dtype and packed.tolist() == [0, n - 1]


def test_skill_needs_both_errors():
    assert skill(None, 2.0) is None and skill(1.0, 0.0) is None and skill(1.0, None) is None
    assert skill(1.0, 4.0) == 0.75


def _series_csv(path, rows: int) -> str:
    t = np.arange(rows)
    lines = ["hour,load"] + [f"{i},{10 + np.sin(i / 2):.5f}" for i in t]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_a_split_with_too_few_windows_names_it_and_counts_them(tmp_path):
    data = {"task": {"kind": "series", "path": _series_csv(tmp_path / "s.csv", 100),
                     "target": ["load"], "window": 12, "horizon": 2, "val_fraction": 0.3,
                     "test_fraction": 0.2}}
    with pytest.raises(ConfigError) as info:
        parse_config(data, "p.toml")
    assert (info.value.source, info.value.key) == ("p.toml", "task.window")
    assert info.value.message.startswith("the test split has only 7 windows of window + "
                                         "horizon = 14 rows (needs >= 10)")


@pytest.mark.parametrize("name,content", [("s.xlsx", "hour,load\n1,2\n"),
                                          ("s.csv", "hour,load\n" + "1,x\n" * 40)])
def test_series_file_faults_are_blamed_on_the_preset(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    data = {"task": {"kind": "series", "path": str(path), "target": ["load"]}}
    with pytest.raises(ConfigError) as info:
        parse_config(data, "p.toml")
    assert info.value.source == "p.toml"
    assert ("is not a CSV/TSV/NPY file" in info.value.message) if name == "s.xlsx" else \
        ("is not numeric" in info.value.message)


def test_an_unknown_kind_names_the_key_and_a_near_miss():
    with pytest.raises(ConfigError) as info:
        parse_config({"task": {"kind": "nth_elemnt"}}, "p.toml")
    assert (info.value.source, info.value.key) == ("p.toml", "task.kind")
    assert "(did you mean 'nth_element'?)" in info.value.message
    with pytest.raises(ConfigError) as info:
        spec_of("nope")
    assert info.value.key == "task.kind"


def _char_lm(tmp_path, tens: int = 10, **task):
    path = tmp_path / "t.txt"
    path.write_text("abcdefghij" * tens)
    data = {"task": {"kind": "char_lm", "text": str(path), "normalize": "none", **task}}
    return build_task(parse_config(data).task, 0)


@pytest.mark.parametrize("part,tens,fraction", [("validation", 10, 0.1),   # 90 | 10 chars
                                               ("training", 2, 0.5)])      # 10 | 10 chars
def test_each_text_part_needs_one_segment_plus_its_target(tmp_path, part, tens, fraction):
    assert _char_lm(tmp_path, tens, val_fraction=fraction, seq_len=9).seq_len == 9   # enough
    with pytest.raises(ConfigError) as info:
        _char_lm(tmp_path, tens, val_fraction=fraction, seq_len=10)
    assert info.value.key == "task.seq_len"
    assert info.value.message == (f"the {part} text has 10 characters, fewer than seq_len + 1 "
                                  "= 11; use a longer text, a larger max_chars or val_fraction, "
                                  "or a shorter seq_len")


def test_char_lm_figures(tmp_path):
    import math
    task = _char_lm(tmp_path, seq_len=4)
    assert task.reduce_metric(2.0, 1) == pytest.approx(math.exp(2.0))
    assert task.reduce_metric(6.0, 3) == pytest.approx(math.exp(2.0))
    assert task.val_extra(math.log(2)) == {"bpc": pytest.approx(1.0)}


def _npz(path, n: int, features: int) -> str:
    rng = np.random.default_rng(0)
    np.savez(path, X=rng.normal(size=(n, 8, features)), y=np.arange(n) % 2)
    return str(path)


@pytest.mark.parametrize("task,key,message", [
    ({"path": ""}, "task.path", "is required: a UCR-layout CSV/TSV file, or .npz"),
    ({"test_path": "few"}, "task.test_path",
     "the test split has 5 sequences (needs >= 10); use a bigger file or change "
     "task.val_fraction"),
    ({"val_fraction": 0.9}, "task.val_fraction", "the training split has"),
    ({"test_path": "wide"}, "task.test_path", "has 2 features per step, the training file 1")])
def test_sequence_classification_faults_name_key_and_figures(tmp_path, task, key, message):
    files = {"few": _npz(tmp_path / "few.npz", 5, 1), "wide": _npz(tmp_path / "wide.npz", 20, 2)}
    task = {k: files.get(v, v) for k, v in task.items()}
    data = {"task": {"kind": "sequence_classification",
                     "path": _npz(tmp_path / "train.npz", 60, 1), **task}}
    with pytest.raises(ConfigError) as info:
        parse_config(data, "p.toml")
    assert info.value.key == key and message in info.value.message


# ---------------------------------------------------------------- plugins by entry point

import dataclasses                                        # noqa: E402
import importlib.metadata                                 # noqa: E402

from lstm_tui.config import opt                           # noqa: E402
from lstm_tui.tasks import registry                       # noqa: E402
from lstm_tui.tasks.registry import TaskSpec              # noqa: E402


@dataclasses.dataclass
class _Flip:
    kind: str = opt("flip", "task kind")


@dataclasses.dataclass
class _Flop:
    kind: str = opt("flop", "task kind")


class _EntryPoint:
    def __init__(self, name, value, load):
        self.name, self.value, self._load = name, value, load

    def load(self):
        return self._load()


def _broken():
    raise ImportError("no module named 'flipper'\nsecond line")


@pytest.fixture
def fresh_registry(monkeypatch):
    """The registry as in a new process, with the entry points the test gives."""
    monkeypatch.setattr(registry, "_SPECS", {})
    monkeypatch.setattr(registry, "_PROBLEMS", [])
    monkeypatch.setattr(registry, "_loaded", False)

    def use(found):
        def entry_points(group):
            assert group == registry.GROUP
            if isinstance(found, Exception):
                raise found
            return found
        monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return use


def test_plugins_load_as_a_list_a_factory_or_one_spec(fresh_registry):
    flip = TaskSpec("flip", _Flip, "x:y", lambda c: None, "accuracy", "max")
    flop = TaskSpec("flop", _Flop, "x:y", lambda c: None, "mse", "min")
    fresh_registry([_EntryPoint("a", "pkg:specs", lambda: (lambda: [flip])),
                    _EntryPoint("b", "pkg:spec", lambda: flop)])
    assert registry.kinds()[-2:] == ["flip", "flop"]
    assert registry.get("flip") is flip and registry.get("flop") is flop
    assert registry.problems() == []


def test_a_broken_plugin_is_one_line_and_the_rest_loads(fresh_registry):
    fresh_registry([_EntryPoint("bad", "pkg:x", _broken),
                    _EntryPoint("odd", "pkg:y", lambda: "abc")])
    assert "nth_element" in registry.kinds()
    assert registry.problems() == [
        "task plugin 'bad' (pkg:x): ImportError: no module named 'flipper'",
        "task plugin 'odd' (pkg:y): not a TaskSpec (got str)"]


def test_entry_points_that_cannot_be_listed_are_one_line(fresh_registry):
    fresh_registry(RuntimeError("broken metadata"))
    assert "nth_element" in registry.kinds()
    assert registry.problems() == ["task plugins: cannot list entry points: broken metadata"]


def test_a_spec_registered_by_hand_is_named_by_its_kind_in_problems(fresh_registry):
    fresh_registry([])
    assert not registry.register(TaskSpec("flap", _Flip, "x:y", lambda c: None, "a", "max"))
    assert not registry.register(TaskSpec("flap", int, "x:y", lambda c: None, "a", "max"))
    assert not registry.register("abc")
    assert not registry.register("abc", where="my plugin")
    assert registry.problems() == [
        "task 'flap': spec 'flap': its config needs a field kind = 'flap' (the default)",
        "task 'flap': spec 'flap': config is not a dataclass",
        "task 'abc': not a TaskSpec (got str)",
        "my plugin: not a TaskSpec (got str)"]


def test_stratified_keeps_one_of_each_class_on_both_sides():
    from lstm_tui.tasks.sequence_classification import stratified
    labels = np.array(["a", "a", "b", "b", "b"])
    split = stratified(labels, 0.1, 0)                 # rounds to none: at least one each
    assert sorted(labels[split.val].tolist()) == ["a", "b"]
    split = stratified(labels, 0.9, 0)                 # rounds to all: one stays to train
    assert sorted(labels[split.train].tolist()) == ["a", "b"]
    assert split.val.dtype == np.int64 and split.train.dtype == np.int64
    lonely = stratified(np.array(["a", "b"]), 0.5, 0)   # single rows stay in training
    assert lonely.val.tolist() == [] and lonely.val.dtype == np.int64   # still indices


# ---------------------------------------------------------------- data previews

def test_the_series_preview_and_its_figures(tmp_path):
    path = tmp_path / "s.csv"
    lines = ["hour,load,temp,site"] + [f"{i},{10 + np.sin(i / 3):.4f},{20 + i % 5},north"
                                       for i in range(200)]
    path.write_text("\n".join(lines) + "\n")
    cfg = parse_config({"task": {"kind": "series", "path": str(path), "target": ["load"],
                                 "time": "hour", "window": 8, "horizon": 2, "season": 12}})
    preview = registry.data_preview(cfg.task)
    assert preview.title == "load by hour (0 … 199)"
    assert preview.borders == (("val", 140.0), ("test", 170.0))
    # windows per split: rows - (window + horizon) + 1
    assert preview.notes == (
        "train 140 rows (131 windows)  val 30 rows (21 windows)  test 30 rows (21 windows)",
        "columns of s.csv: hour, load, temp, site (text)",
        "inputs: load, temp · targets: load")
    (label, xs, ys), = preview.curves
    assert label == "load" and xs == [float(i) for i in range(200)]
    assert ys[:3] == pytest.approx([10.0, 10.3272, 10.6184])
    names = ("persistence", "mean", "seasonal")
    assert registry.get("series").figures(cfg.task) == (
        *(f"baselines.{b}.{m}" for b in names for m in ("mae", "rmse")),
        *(f"baselines.{b}.test.{m}" for b in names for m in ("mae", "rmse")),
        "test.mae", "test.rmse", "test.skill")
    assert registry.data_preview(parse_config({"task": {"kind": "nth_element"}}).task) is None
    path.unlink()                                   # unreadable now: no preview, no crash
    assert registry.data_preview(cfg.task) is None


def test_a_missing_cell_is_named_by_its_first_row_and_column(tmp_path):
    path = tmp_path / "s.csv"
    rows = [f"{i},{10 + i % 7},{'' if i == 12 else 20 + i % 5}"
            for i in range(200)]
    rows[40] = "40,,21"                                  # load missing further down
    path.write_text("hour,load,temp\n" + "\n".join(rows) + "\n")
    with pytest.raises(ConfigError) as info:
        parse_config({"task": {"kind": "series", "path": str(path), "target": ["load"],
                               "time": "hour", "window": 8, "horizon": 2}}, "p.toml")
    assert info.value.key == "task.missing"
    assert info.value.message == (f"column 'temp' of {path} has an empty or NaN cell at "
                                  "row 13 (by hour); set task.missing = \"drop\" or \"ffill\"")


@pytest.mark.parametrize("with_test", [False, True])
def test_the_sequence_classification_preview_and_its_figures(tmp_path, with_test):
    train = tmp_path / "c.npz"
    np.savez(train, X=np.arange(60 * 6, dtype=float).reshape(60, 6, 1), y=np.arange(60) % 3)
    test = tmp_path / "t.npz"
    np.savez(test, X=np.zeros((12, 6, 1)), y=np.arange(12) % 3)
    cfg = parse_config({"task": {"kind": "sequence_classification", "path": str(train),
                                 "test_path": str(test) if with_test else "",
                                 "val_fraction": 0.5}})
    preview = registry.data_preview(cfg.task)
    assert preview.title == "2 example sequences per class" and preview.borders == ()
    assert preview.notes == ("classes (training file): 0: 20, 1: 20, 2: 20",
                             "train 30 · val 30 (stratified)" + (" · test 12" if with_test
                                                                 else ""),
                             "length 6 · 1 feature(s) per step")
    # rows 0 and 3 are the first two of class 0, row 1 the first of class 1
    assert preview.curves[:3] == (("class 0", list(range(6)), [float(v) for v in range(6)]),
                                  ("class 0", list(range(6)), [float(v) for v in range(18, 24)]),
                                  ("class 1", list(range(6)), [float(v) for v in range(6, 12)]))
    assert [c[0] for c in preview.curves] == ["class 0"] * 2 + ["class 1"] * 2 + ["class 2"] * 2
    assert registry.get("sequence_classification").figures(cfg.task) == (
        ("baselines.majority.accuracy", "baselines.majority.test.accuracy", "test.accuracy")
        if with_test else ("baselines.majority.accuracy",))


def test_a_missing_classification_file_says_what_is_required(tmp_path):
    with pytest.raises(ConfigError) as info:
        parse_config({"task": {"kind": "sequence_classification", "path": ""}}, "p.toml")
    assert info.value.message == "is required: a UCR-layout CSV/TSV file, or .npz"


@pytest.mark.parametrize("kind", ["nth_element", "weighted_sum"])
def test_member_scores_are_each_members_own_loss_and_metric(kind):
    """What the ensemble scores for M stacked members equals each member's own figures."""
    task = build_task(parse_config({"task": {"kind": kind}}).task, 0)
    x, y = next(iter(task.val_batches(8)))
    torch.manual_seed(0)
    members = 3
    shape = (*y.shape, task.output_size) if kind == "nth_element" else y.shape  # logits or values
    out = torch.randn(members, *shape)
    if kind == "nth_element":
        out[1] = torch.nn.functional.one_hot(y, task.output_size).float() * 5   # all right
    ys = y.expand(members, *y.shape)
    scale = torch.ones(members)
    loss, metric, count = task.member_scores(out, ys, scale)
    for i in range(members):
        own_total, own_count = task.metric_sum(out[i], y)
        assert loss[i].item() == pytest.approx(task.loss(out[i], y).item(), rel=1e-5)
        assert metric[i].item() == pytest.approx(float(own_total), rel=1e-5)
        assert count == own_count
    if kind == "nth_element":
        assert metric[1].item() == y.shape[0]


def test_the_shape_known_before_building_is_the_built_tasks(tmp_path):
    series = tmp_path / "s.csv"
    series.write_text("hour,load\n" + "\n".join(f"{i},{10 + i % 7}" for i in range(200)) + "\n")
    labelled = tmp_path / "c.npz"
    np.savez(labelled, X=np.arange(60 * 6, dtype=float).reshape(60, 6, 1), y=np.arange(60) % 3)
    for task in ({"kind": "series", "path": str(series), "target": ["load"], "window": 8},
                 {"kind": "sequence_classification", "path": str(labelled),
                  "val_fraction": 0.5}):
        cfg = parse_config({"task": task}).task
        shape = registry.get(task["kind"]).shape(cfg)
        built = build_task(cfg, 0)
        assert (shape.readout, shape.val_size, shape.train_size) == \
            (built.readout, built.val_size, built.train_size)


def test_plugin_problems_are_reported_once_to_the_given_stream(fresh_registry, monkeypatch):
    import io
    fresh_registry([_EntryPoint("odd", "pkg:y", lambda: "abc")])
    monkeypatch.setattr(registry, "_reported", False)
    out = io.StringIO()
    registry.report_problems(out)
    registry.report_problems(out)
    assert out.getvalue() == "warning: task plugin 'odd' (pkg:y): not a TaskSpec (got str)\n"


# ---------------------------------------------------------------- a held-out sample (seed 17)

def _series(tmp_path, rows: int = 300, **task):
    path = tmp_path / "s.csv"
    path.write_text("v,w\n" + "".join(f"{i % 5},{i % 3}\n" for i in range(rows)))
    return {"kind": "series", "path": str(path), "target": ["v"], **task}


def _series_fault(task: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config({"task": task}, "p.toml")
    return info.value


def test_a_series_path_that_is_a_folder_or_no_table_names_task_path(tmp_path):
    from lstm_tui.tasks.series import SUFFIXES
    err = _series_fault({"kind": "series", "path": str(tmp_path), "target": ["v"]})
    assert (err.key, err.message) == ("task.path", f"{str(tmp_path)!r} is a folder, not a "
                                                   "CSV/TSV/NPY file")
    odd = tmp_path / "s.json"
    odd.write_text("{}")
    err = _series_fault({"kind": "series", "path": str(odd), "target": ["v"]})
    assert (err.key, err.message) == ("task.path", f"{str(odd)!r} is not a CSV/TSV/NPY file "
                                                   f"(its name must end in {', '.join(SUFFIXES)})")


def test_a_column_with_no_near_name_gets_no_guess(tmp_path):
    err = _series_fault(_series(tmp_path, target=["zzzzzz"]))
    assert "did you mean" not in err.message and "columns: v, w" in err.message


def test_every_split_needs_ten_windows_and_ten_are_enough(tmp_path):
    task = dict(window=1, horizon=1, val_fraction=0.5, test_fraction=0)
    parse_config({"task": _series(tmp_path, 22, **task)})            # 10 windows each
    err = _series_fault(_series(tmp_path, 20, **task))
    assert (err.key, err.message) == (
        "task.window", "the train split has only 9 windows of window + horizon = 2 rows "
        "(needs >= 10); lower task.window or task.horizon, or give the train split more rows")


def test_a_season_longer_than_the_train_split_is_refused_with_its_length(tmp_path):
    err = _series_fault(_series(tmp_path, 100, window=4, season=90, val_fraction=0.2,
                                test_fraction=0.2))
    assert (err.source, err.key, err.message) == (
        "p.toml", "task.season", "must be at most the train split's 60 rows, got 90")


def test_a_long_series_preview_is_thinned_to_a_few_thousand_points(tmp_path):
    from lstm_tui.tasks import series
    cfg = parse_config({"task": _series(tmp_path, 5000)}).task
    [(_, xs, ys)] = series.preview(cfg).curves
    assert len(xs) == len(ys) == 2500 and xs[:3] == [0.0, 2.0, 4.0]
    assert describe_task(cfg).metric == "mae" and describe_task(cfg).goal == "min"


# ---------------------------------------------------------------- issue 27, item 18

def _exits():
    import sys
    sys.exit(3)


def _interrupts():
    raise KeyboardInterrupt


def _exits_quietly():
    raise SystemExit


def test_a_plugin_that_exits_or_raises_keyboard_interrupt_is_one_line(fresh_registry):
    """sys.exit() or a KeyboardInterrupt the plugin raises itself at import is reported
    like any broken plugin; the built-in kinds and the next plugin still load."""
    flop = TaskSpec("flop", _Flop, "x:y", lambda c: None, "mse", "min")
    fresh_registry([_EntryPoint("quits", "pkg:a", _exits),
                    _EntryPoint("ctrl", "pkg:b", _interrupts),
                    _EntryPoint("bare", "pkg:c", _exits_quietly),
                    _EntryPoint("fine", "pkg:d", lambda: flop)])
    assert "nth_element" in registry.kinds() and registry.get("flop") is flop
    assert registry.problems() == ["task plugin 'quits' (pkg:a): SystemExit: 3",
                                   "task plugin 'ctrl' (pkg:b): KeyboardInterrupt",
                                   "task plugin 'bare' (pkg:c): SystemExit"]


def test_the_users_own_ctrl_c_while_plugins_load_still_stops(fresh_registry):
    import os
    import signal

    def pressed():
        os.kill(os.getpid(), signal.SIGINT)    # a real Ctrl-C, delivered as a signal
        for _ in range(1000):                  # the handler runs between bytecodes
            pass
        raise AssertionError("the signal never arrived")
    fresh_registry([_EntryPoint("slow", "pkg:a", pressed)])
    before = signal.signal(signal.SIGINT, signal.default_int_handler)   # Python's own
    try:
        with pytest.raises(KeyboardInterrupt):
            registry.kinds()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)


def test_plugins_loaded_off_the_main_thread_report_keyboard_interrupt(fresh_registry):
    import threading
    fresh_registry([_EntryPoint("ctrl", "pkg:b", _interrupts)])
    thread = threading.Thread(target=registry.kinds)
    thread.start()
    thread.join()
    assert registry.problems() == ["task plugin 'ctrl' (pkg:b): KeyboardInterrupt"]
