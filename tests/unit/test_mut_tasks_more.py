"""tasks/ behaviour that the third mutation pass found unchecked (the 13 small files of
tasks/; see TESTING.md)."""

from __future__ import annotations

import hashlib
import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from lstm_tui.config import MAX_TEXT, ConfigError, parse_config
from lstm_tui.tasks import build_task, datafiles, downloads, shapes, text8
from lstm_tui.tasks.weighted_sum import realistic_series, weighted_sum_target
from tests.loopback import loopback_server


def _fault(data: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "p.toml")
    return info.value


# ---------------------------------------------------------------- char_lm (check)

def test_char_lm_refuses_a_bidirectional_model_naming_the_key():
    err = _fault({"task": {"kind": "char_lm"}, "model": {"bidirectional": True}})
    assert (err.source, err.key) == ("p.toml", "model.bidirectional")
    assert err.message == ("must be false for char_lm (a backward pass sees the characters "
                           "it is asked to predict)")


def test_char_lm_names_a_missing_text_file(tmp_path):
    missing = str(tmp_path / "nope.txt")
    err = _fault({"task": {"kind": "char_lm", "text": missing}})
    assert (err.source, err.key) == ("p.toml", "task.text")
    assert err.message == (f"no such file {missing!r} (a UTF-8 text file, or empty for the "
                           "built-in corpus)")


def _sparse(path, size: int) -> str:
    with open(path, "wb") as f:          # sparse: no disk, no time
        f.truncate(size)
    return str(path)


def test_a_text_file_over_the_limit_is_refused_unless_cut(tmp_path):
    at_limit = _sparse(tmp_path / "at.txt", MAX_TEXT)
    parse_config({"task": {"kind": "char_lm", "text": at_limit}})          # exactly: fine
    over = _sparse(tmp_path / "over.txt", MAX_TEXT + 1)
    err = _fault({"task": {"kind": "char_lm", "text": over}})
    assert (err.source, err.key) == ("p.toml", "task.text")
    assert err.message == (f"{over!r} is 100,000,001 bytes; at most 100,000,000 are used "
                           "whole (set task.max_chars to train on its first part)")
    parse_config({"task": {"kind": "char_lm", "text": over, "max_chars": 1000}})   # cut: fine


def test_max_chars_is_bounded_by_the_text_limit():
    parse_config({"task": {"kind": "char_lm", "max_chars": MAX_TEXT}})
    err = _fault({"task": {"kind": "char_lm", "max_chars": MAX_TEXT + 1}})
    assert (err.source, err.key) == ("p.toml", "task.max_chars")
    assert err.message == ("must be <= 100,000,000 (the most text a run holds in memory), "
                           "got 100,000,001")


# ---------------------------------------------------------------- datafiles


def test_a_shipped_data_set_is_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = parse_config({"task": {"kind": "series", "path": "sunspots_yearly.csv",
                                 "target": ["sunspots"], "window": 20}})
    task = build_task(cfg.task, 0)
    assert task.inputs.shape[0] == 309                      # the 309 years 1700-2008
    assert datafiles.locate("sunspots_yearly.csv") == datafiles.data_dir() / "sunspots_yearly.csv"


def test_a_file_in_the_working_folder_wins_over_a_shipped_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sunspots_yearly.csv").write_text(
        "hour,load\n" + "".join(f"{i},{i % 7}\n" for i in range(200)))
    cfg = parse_config({"task": {"kind": "series", "path": "sunspots_yearly.csv",
                                 "target": ["load"], "window": 8}})
    assert build_task(cfg.task, 0).inputs.shape[0] == 200
    assert datafiles.locate("sunspots_yearly.csv") == tmp_path.joinpath(
        "sunspots_yearly.csv").relative_to(tmp_path)


def test_a_path_found_nowhere_is_returned_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert datafiles.locate("nope.csv") == Path("nope.csv")
    absolute = str(tmp_path / "sunspots_yearly.csv")         # absolute: never the shipped one
    assert datafiles.locate(absolute) == Path(absolute)


def test_the_shipped_sets_are_the_data_files_of_the_data_folder(tmp_path, monkeypatch):
    names = [p.name for p in datafiles.shipped_sets()]          # the shipped ones, at least
    assert names == sorted(names) and {"ItalyPowerDemand_TEST.tsv", "ItalyPowerDemand_TRAIN.tsv",
                                       "sunspots_yearly.csv"} <= set(names)
    assert all(n.endswith((".csv", ".tsv", ".npy", ".npz")) for n in names)
    for name in ("b.npz", "a.csv", "c.tsv", "d.npy", "e.txt", "f.CSV", "g.json"):
        (tmp_path / name).write_text("x")
    monkeypatch.setattr(datafiles, "data_dir", lambda: tmp_path)
    assert [p.name for p in datafiles.shipped_sets()] == ["a.csv", "b.npz", "c.tsv", "d.npy"]


# ---------------------------------------------------------------- nth_element, weighted_sum (check)

def test_nth_element_index_must_lie_inside_the_sequence():
    parse_config({"task": {"kind": "nth_element", "seq_len": 5, "n": 4}})       # the last: fine
    err = _fault({"task": {"kind": "nth_element", "seq_len": 5, "n": 5}})
    assert (err.source, err.key, err.message) == ("p.toml", "task.n",
                                                  "must be < task.seq_len (5), got 5")


def _ws(**task) -> dict:
    return {"task": {"kind": "weighted_sum", "seq_len": 5, **task}}


@pytest.mark.parametrize("weights,positions,message", [
    ([0.5], [0, -1], "must have as many entries as task.positions (2) and at least one, got 1"),
    ([], [], "must have as many entries as task.positions (0) and at least one, got 0")])
def test_weighted_sum_needs_one_weight_per_position(weights, positions, message):
    err = _fault(_ws(weights=weights, positions=positions))
    assert (err.source, err.key, err.message) == ("p.toml", "task.weights", message)


@pytest.mark.parametrize("position", [5, -6])
def test_weighted_sum_positions_lie_in_the_window(position):
    parse_config(_ws(weights=[1.0, 1.0], positions=[-5, 4]))                    # both ends
    err = _fault(_ws(weights=[1.0, 1.0], positions=[0, position]))
    assert (err.source, err.key) == ("p.toml", "task.positions")
    assert err.message == f"must lie in [-5, 4] for seq_len 5, got {position}"


def test_weighted_sum_interval_must_hold_an_integer():
    parse_config(_ws(low=3, high=5))                                            # just 4: fine
    err = _fault(_ws(low=3, high=4))
    assert (err.source, err.key) == ("p.toml", "task.high")
    assert err.message == ("must exceed task.low + 1 (the open interval needs an integer), "
                           "got 3..4")


# ---------------------------------------------------------------- memory_data

def test_adding_marks_reach_every_step_of_each_half():
    task = build_task(parse_config({"task": {"kind": "adding", "seq_len": 9, "train_size": 300,
                                             "val_size": 20}}).task, 0)
    marks = task.x[..., 1]
    per_step = marks.sum(0)
    assert (per_step[:4] > 0).all() and (per_step[4:] > 0).all()    # [0, 4) and [4, 9)
    assert per_step[:4].sum() == per_step[4:].sum() == 300   # one mark per half per row


def test_copy_draws_every_symbol():
    task = build_task(parse_config({"task": {"kind": "copy", "length": 3, "delay": 2,
                                             "symbols": 4, "train_size": 100,
                                             "val_size": 10}}).task, 0)
    codes = task.x.long()
    codes = codes.argmax(-1) if codes.dim() == 3 else codes
    assert sorted(codes[:, :3].unique().tolist()) == [0, 1, 2, 3]


# ---------------------------------------------------------------- sequence_classification_data


def _labelled(tmp_path, normalize: str = "standard", test: bool = False):
    rng = np.random.default_rng(0)
    X = 3.0 + 0.1 * rng.normal(size=(60, 6, 1))                # std 0.1: below 1
    y = np.array([0] * 30 + [1] * 20 + [2] * 10)               # class 0 the majority
    np.savez(tmp_path / "c.npz", X=X, y=y)
    task = {"kind": "sequence_classification", "path": str(tmp_path / "c.npz"),
            "val_fraction": 0.5, "normalize": normalize}
    if test:
        np.savez(tmp_path / "t.npz", X=np.zeros((12, 6, 1)), y=np.array([0] * 3 + [1] * 9))
        task["test_path"] = str(tmp_path / "t.npz")
    return X, build_task(parse_config({"task": task}).task, 0)


def test_standard_normalization_uses_the_training_rows_statistics(tmp_path):
    _, task = _labelled(tmp_path)
    assert float(task.x.mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(task.x.std(unbiased=False)) == pytest.approx(1.0, rel=1e-4)


def test_no_normalization_keeps_the_values_as_read(tmp_path):
    X, task = _labelled(tmp_path, "none")
    got = torch.cat([task.x, task.val_x]).flatten().sort().values
    assert torch.equal(got, torch.from_numpy(X).float().flatten().sort().values)


class _Always(torch.nn.Module):
    """A model that answers class `k` for every sequence."""

    def __init__(self, k: int, classes: int):
        super().__init__()
        self.k, self.classes = k, classes

    def forward(self, x, state):
        logits = torch.zeros(len(x), self.classes)
        logits[:, self.k] = 1.0
        return logits, None


def test_the_majority_baseline_and_the_final_report_score_the_test_file(tmp_path):
    _, task = _labelled(tmp_path, test=True)
    report = task.start_report()
    assert report["baselines"]["majority"] == {"accuracy": pytest.approx(15 / 30),
                                               "test": {"accuracy": 0.25}}
    final = task.final_report(_Always(0, 3), 8)
    assert final["test"] == {"accuracy": 0.25}
    assert final["confusion"] == {"split": "test", "classes": [0, 1, 2],
                                  "matrix": [[3, 0, 0], [9, 0, 0], [0, 0, 0]]}


def test_without_a_test_file_the_final_report_is_the_validation_confusion(tmp_path):
    _, task = _labelled(tmp_path)
    final = task.final_report(_Always(1, 3), 8)
    assert "test" not in final
    assert final["confusion"] == {"split": "val", "classes": [0, 1, 2],
                                  "matrix": [[0, 15, 0], [0, 10, 0], [0, 5, 0]]}


# ---------------------------------------------------------------- series_data

def _ramp(tmp_path):
    np.save(tmp_path / "ramp.npy", np.arange(100, dtype=float)[:, None])   # row i holds i
    cfg = parse_config({"task": {"kind": "series", "path": str(tmp_path / "ramp.npy"),
                                 "target": ["0"], "window": 5, "horizon": 2,
                                 "val_fraction": 0.3, "test_fraction": 0.3}})
    return build_task(cfg.task, 0)                    # train rows 0-39, val 40-69, test 70-99


class _Zero(torch.nn.Module):
    """Forecasts 0 in normalized units: the training mean in the data's units."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x, state):
        return torch.zeros(len(x), self.size), None


def test_a_window_is_followed_by_its_horizon_rows(tmp_path):
    task = _ramp(tmp_path)
    x, y = next(iter(task.val_batches(4)))
    scale, offset = task.scale, task.offset
    assert (y * scale + offset).flatten().tolist() == pytest.approx(
        [v for i in range(4) for v in (45 + i, 46 + i)], rel=1e-6)
    pred, truth = task.forecast(_Zero(2), "val")
    assert pred.dtype == truth.dtype == torch.float32          # the model's units and type
    assert truth.flatten().tolist() == pytest.approx(
        [v for i in range(24) for v in (45 + i, 46 + i)], rel=1e-6)
    assert pred.flatten().tolist() == pytest.approx([19.5] * 48)   # the training mean


def test_the_final_report_scores_the_test_windows_in_the_datas_units(tmp_path):
    task = _ramp(tmp_path)
    err = np.array([[s + h - 19.5 for h in (5, 6)] for s in range(70, 94)])
    mae, rmse = float(np.abs(err).mean()), float(np.sqrt((err ** 2).mean()))
    report = task.final_report(_Zero(2), 8)
    assert report == {"test": {"mae": pytest.approx(mae, rel=1e-5),
                               "rmse": pytest.approx(rmse, rel=1e-5),
                               "skill": pytest.approx(1 - mae / 1.5, rel=1e-5)}}


# ---------------------------------------------------------------- shapes (char_lm text)


def test_max_chars_cuts_a_text_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("abcdefghij" * 100)
    corpus = shapes.load_corpus(str(path), "none", 50)
    assert corpus.text == "abcdefghij" * 5
    task = build_task(parse_config({"task": {"kind": "char_lm", "text": str(path),
                                             "normalize": "none", "max_chars": 50,
                                             "seq_len": 4}}).task, 0)
    assert task.train_size + task.val_size == 50


def test_a_text_file_that_vanished_is_a_config_error_naming_it(tmp_path):
    missing = str(tmp_path / "gone.txt")
    with pytest.raises(ConfigError) as info:
        shapes.load_corpus(missing, "none", 0)
    assert (info.value.source, info.value.key) == ("", "task.text")
    assert info.value.message == f"cannot read {missing!r}: No such file or directory"


def test_without_pydoc_data_the_builtin_corpus_is_a_config_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydoc_data.topics", None)     # import fails
    with pytest.raises(ConfigError) as info:
        shapes.builtin_text()
    assert (info.value.source, info.value.key) == ("", "task.text")
    assert info.value.message == ("the built-in corpus (pydoc_data) is missing from this "
                                  "Python; set task.text to a UTF-8 file")


# ---------------------------------------------------------------- text8 (loopback only)


TEXT = b"anarchism originated as a term of abuse " * 40


def _zip(name: str = "text8", text: bytes = TEXT) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, text)
    return buf.getvalue()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A loopback server of `.body` (with a Content-Length unless `.length` is False), the
    cache in tmp_path/cache, and the digests of TEXT and of the served zip."""
    with loopback_server(_zip()) as state:
        state.cache = tmp_path / "cache"
        monkeypatch.setenv("LSTM_LAB_CACHE", str(state.cache))
        monkeypatch.setenv("LSTM_LAB_TEXT8_URL", state.url)
        monkeypatch.setenv("LSTM_LAB_TEXT8_SHA256", hashlib.sha256(TEXT).hexdigest())
        monkeypatch.setenv("LSTM_LAB_TEXT8_ZIP_SHA256", hashlib.sha256(state.body).hexdigest())
        yield state


def _text8_fault(**kw) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        text8.path(progress=lambda *a: None, **kw)
    return info.value


def test_the_cache_folder_follows_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.delenv("LSTM_LAB_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert text8.cache_dir() == tmp_path / "xdg" / "lstm-lab"
    assert text8.cached_path() == tmp_path / "xdg" / "lstm-lab" / "text8"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert text8.cache_dir() == tmp_path / "home" / ".cache" / "lstm-lab"


def test_a_forbidden_download_says_its_size_and_where_it_will_be_cached(served):
    with downloads.forbidden(), pytest.raises(ConfigError) as info:
        text8.path()
    assert (info.value.source, info.value.key) == ("", "task.text")
    assert info.value.message == ("text8 is not downloaded yet: the first run fetches it "
                                  f"(about 31 MB) and caches it at {served.cache / 'text8'}")


def test_a_cache_folder_that_cannot_be_made_is_one_line(served, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("LSTM_LAB_CACHE", str(tmp_path / "file" / "cache"))
    err = _text8_fault()
    assert (err.source, err.key) == ("", "task.text")
    assert err.message == (f"cannot create the cache folder {tmp_path / 'file' / 'cache'}: "
                           "Not a directory")


def test_the_download_lands_in_a_hidden_folder_beside_the_cache(served):
    seen = []
    text8.path(progress=lambda done, total: seen.append(sorted(os.listdir(served.cache))))
    inside = [[n for n in names if n != text8.LOCK] for names in seen[:-1]]
    assert inside and all(len(n) == 1 and n[0].startswith(".text8-") for n in inside)
    assert sorted(os.listdir(served.cache)) == ["text8"]


def test_a_wrong_text_digest_names_both_digests(served, monkeypatch):
    monkeypatch.setenv("LSTM_LAB_TEXT8_SHA256", "ab" * 32)
    err = _text8_fault()
    assert (err.source, err.key) == ("", "task.text")
    got = hashlib.sha256(TEXT).hexdigest()[:16]
    assert err.message == (f"the text8 from {served.url} has SHA-256 {got}..., expected "
                           "abababababababab...; not cached (a damaged download? try again)")


def test_a_wrong_archive_digest_of_a_mirror_gives_no_expected_size(served, monkeypatch):
    monkeypatch.setenv("LSTM_LAB_TEXT8_ZIP_SHA256", "cd" * 32)
    err = _text8_fault()
    assert (err.source, err.key) == ("", "task.text")
    got = hashlib.sha256(served.body).hexdigest()[:16]
    assert err.message == (f"the archive from {served.url} has SHA-256 {got}... "
                           f"({len(served.body):,} bytes), expected cdcdcdcdcdcdcdcd...; "
                           "not cached (a damaged download? try again)")


def test_an_unknown_length_is_reported_as_zero(served):
    served.length = False
    seen = []
    text8.path(progress=lambda done, total: seen.append((done, total)))
    assert seen[-2] == (len(served.body), 0) and all(t == 0 for _, t in seen)


def test_a_url_that_is_no_url_is_one_line(served, monkeypatch):
    monkeypatch.setenv("LSTM_LAB_TEXT8_URL", "text8.zip")
    err = _text8_fault()
    assert (err.source, err.key) == ("", "task.text")
    assert err.message == ("cannot download text8 from text8.zip (unknown url type: "
                           f"'text8.zip'); put the unzipped file 'text8' at "
                           f"{served.cache / 'text8'} by hand, or set task.text to a file")


def test_an_archive_without_text8_is_named(served, monkeypatch):
    served.body = _zip("other")
    monkeypatch.setenv("LSTM_LAB_TEXT8_ZIP_SHA256", hashlib.sha256(served.body).hexdigest())
    err = _text8_fault()
    assert (err.source, err.key, err.message) == ("", "task.text",
                                                  "the downloaded archive holds no 'text8'")


# ---------------------------------------------------------------- weighted_sum (series)


def test_realistic_noise_is_centred_on_zero():
    noise = realistic_series([0.0], 4000, [0.0], [0], 1.0, np.random.default_rng(0))[1:]
    assert abs(noise.mean()) < 0.1 and noise.std() == pytest.approx(1.0, abs=0.1)


def test_a_noise_free_series_draws_nothing_from_the_generator():
    rng = np.random.default_rng(5)
    realistic_series([1.0, 2.0], 10, [0.5, 0.5], [0, -1], 0.0, rng)
    assert rng.integers(0, 2 ** 62) == np.random.default_rng(5).integers(0, 2 ** 62)


# ---------------------------------------------------------------- weighted_sum_data

def _ws_task(**task):
    return build_task(parse_config(_ws(train_size=2000, val_size=10, **task)).task, 0)


def test_simple_targets_get_noise_of_the_configured_size_on_each_row():
    task = _ws_task(noise_std=0.5)
    clean = torch.tensor(weighted_sum_target(task.x[..., 0].double().numpy(), [0.6, 0.3],
                                             [0, -1]), dtype=torch.float32)
    residual = task.y - clean
    assert float(residual.std()) == pytest.approx(0.5, abs=0.05)
    assert abs(float(residual.mean())) < 0.05


def test_standardize_scales_a_spread_below_one_to_unit_std():
    task = _ws_task(low=0, high=3, standardize=True)           # values 1 and 2: std 0.5
    assert float(task.x.std(unbiased=False)) == pytest.approx(1.0, rel=1e-3)
    assert float(task.y.std(unbiased=False)) == pytest.approx(1.0, rel=1e-3)
    assert task.target_scale < 1.0
