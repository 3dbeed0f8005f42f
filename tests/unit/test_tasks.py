"""The task layer: batch shapes, determinism, targets, scoring and the torch-free shapes."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from lstm_tui.config import (AddingTask, CharLMTask, CopyTask, NthElementTask,
                             WeightedSumTask)
from lstm_tui.tasks import TaskShape, build_task, describe_task
from lstm_tui.tasks.base import bpc
from lstm_tui.tasks.shapes import TEXT8_VOCAB, builtin_text
from lstm_tui.tasks.weighted_sum import realistic_series, weighted_sum_target

SMALL = {
    "nth": NthElementTask(seq_len=6, features=7, n=2, train_size=200, val_size=50),
    "ws_simple": WeightedSumTask(seq_len=5, train_size=200, val_size=50, noise_std=1.0),
    "ws_realistic": WeightedSumTask(seq_len=5, train_size=200, val_size=50, mode="realistic",
                                    noise_std=2.0, standardize=True),
    "adding": AddingTask(seq_len=9, train_size=200, val_size=50),
    "copy": CopyTask(length=3, delay=4, symbols=5, train_size=200, val_size=50),
    "char_text8": CharLMTask(seq_len=8, max_chars=5000),
    "char_none": CharLMTask(seq_len=8, max_chars=5000, normalize="none", val_fraction=0.2),
}
SYNTHETIC = [k for k in SMALL if not k.startswith("char")]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def shape_of(task) -> TaskShape:
    names = [f.name for f in dataclasses.fields(TaskShape) if f.name != "vocab_size"]
    return TaskShape(**{n: getattr(task, n) for n in names},
                     vocab_size=len(task.vocab) if task.vocab is not None else None)


def all_batches(task, batch_size: int = 32, seed: int = 0):
    return list(task.train_batches(batch_size, gen(seed))), list(task.val_batches(batch_size))


# ---------------------------------------------------------------- every kind

@pytest.mark.parametrize("name", SMALL)
def test_batches_have_the_engine_shapes_and_dtypes(name):
    task = build_task(SMALL[name], seed=1)
    train, val = all_batches(task, batch_size=16)
    assert len(train) == task.steps_per_epoch(16) and val
    for x, y in train + val:
        assert x.dtype == torch.float32 and x.shape[1:] == (task.seq_len, task.input_size)
        rows = x.shape[0]
        if task.readout == "all":
            assert y.shape == (rows, task.seq_len)
        else:
            assert y.shape[0] == rows and y.numel() == rows
        assert y.dtype == (torch.float32 if task.metric == "mad" else torch.int64)
    assert all(x.shape[0] == 16 for x, _ in train)
    if not task.stateful:
        assert sum(x.shape[0] for x, _ in val) == task.val_size


@pytest.mark.parametrize("name", SMALL)
def test_describe_task_equals_the_built_task(name):
    assert describe_task(SMALL[name]) == shape_of(build_task(SMALL[name], seed=0))


def test_describe_task_of_the_full_builtin_corpus():
    cfg = CharLMTask()
    task = build_task(cfg, 0)
    assert describe_task(cfg) == shape_of(task)
    assert task.train_size + task.val_size > 300_000


@pytest.mark.parametrize("name", SYNTHETIC)
def test_same_seed_same_data_other_seed_other_data(name):
    def data(seed):
        train, val = all_batches(build_task(SMALL[name], seed), seed=0)
        return [t for batch in train + val for t in batch]

    a, b, c = data(3), data(3), data(4)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not all(torch.equal(u, v) for u, v in zip(a, c))


@pytest.mark.parametrize("cfg", [
    SMALL["nth"], SMALL["ws_simple"], SMALL["adding"],
    CopyTask(length=6, symbols=5, train_size=200, val_size=200)], ids=lambda c: c.kind)
def test_validation_rows_are_fresh_draws(cfg):
    task = build_task(cfg, 0)
    train = {tuple(row.flatten().tolist()) for row in task.x}
    # Collisions are possible for tiny alphabets, a re-seeded copy of train is not.
    overlap = sum(tuple(row.flatten().tolist()) in train for row in task.val_x)
    assert overlap < len(task.val_x) // 4
    assert not torch.equal(task.val_x, task.x[:len(task.val_x)])


def test_import_and_describe_without_torch():
    code = ("import sys, lstm_tui.tasks.shapes, lstm_tui.tasks\n"
            "from lstm_tui.config import CharLMTask, CopyTask\n"
            "lstm_tui.tasks.describe_task(CharLMTask(max_chars=1000))\n"
            "lstm_tui.tasks.describe_task(CopyTask())\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_unknown_kind_is_an_error():
    bad = NthElementTask()
    bad.kind = "nope"
    with pytest.raises(ValueError, match="nope"):
        build_task(bad, 0)
    with pytest.raises(ValueError, match="nope"):
        describe_task(bad)


# ---------------------------------------------------------------- nth element

def test_nth_target_is_the_element_at_n():
    cfg = SMALL["nth"]
    task = build_task(cfg, 0)
    for x, y in task.train_batches(32, gen()):
        assert (x.sum(-1) == 1).all()                      # one-hot
        assert torch.equal(x[:, cfg.n].argmax(-1), y)
    assert task.y.unique().numel() == cfg.features     # every value occurs


# ---------------------------------------------------------------- weighted sum

def test_seed_table_simple_windows():
    w, p = [0.6, 0.3], [0, -1]
    windows = [[-35, 20, 10, 30, 45], [15, 30, 15, 25, 35], [20, 15, -4, 16, 22],
               [32, -10, 33, 23, -14]]
    assert weighted_sum_target(windows, w, p) == pytest.approx([-7.5, 19.5, 18.6, 15.0])
    assert weighted_sum_target(windows[0], w, p) == pytest.approx(-7.5)


def test_seed_table_realistic_series():
    series = realistic_series([-35, 20, 10, 30, 45], 5, [0.6, 0.3], [0, -1])
    assert series[:5].tolist() == [-35, 20, 10, 30, 45]
    assert series[5:] == pytest.approx([-7.5, 9.75, 8.925, 20.6775, 33.20325])


def test_realistic_noise_enters_the_series():
    rng = np.random.default_rng(0)
    noisy = realistic_series([1, 2, 3], 50, [0.5, 0.5], [0, -1], noise_std=1.0, rng=rng)
    clean_next = weighted_sum_target(noisy[1:4], [0.5, 0.5], [0, -1])
    assert noisy[4] != pytest.approx(clean_next)      # noise was added ...
    assert abs(noisy[4] - clean_next) < 6              # ... and it is N(0, 1)-sized


@pytest.mark.parametrize("mode", ["simple", "realistic"])
def test_weighted_sum_targets_and_range(mode):
    cfg = WeightedSumTask(seq_len=4, weights=[0.5, -0.2, 0.25], positions=[1, -2, -1],
                          mode=mode, low=-3, high=3, train_size=300, val_size=40)
    task = build_task(cfg, 0)
    for x, y in [(task.x, task.y), (task.val_x, task.val_y)]:
        expected = weighted_sum_target(x[..., 0].double().numpy(), cfg.weights, cfg.positions)
        assert y.numpy() == pytest.approx(expected, rel=1e-5, abs=1e-4)
    first = task.x[0, :, 0] if mode == "realistic" else task.x[..., 0]
    assert set(first.flatten().tolist()) <= {-2.0, -1.0, 0.0, 1.0, 2.0}   # open interval
    if mode == "simple":
        assert set(task.x.flatten().tolist()) == {-2.0, -1.0, 0.0, 1.0, 2.0}


def test_realistic_windows_slide_and_split_chronologically():
    cfg = WeightedSumTask(seq_len=5, mode="realistic", noise_std=3.0, train_size=100,
                          val_size=20)
    task = build_task(cfg, 0)
    x, y = torch.cat([task.x, task.val_x])[..., 0], torch.cat([task.y, task.val_y])
    assert torch.equal(x[1:, :-1], x[:-1, 1:])      # windows slide by one step
    assert torch.equal(x[1:, -1], y[:-1])           # each target is the next input
    assert torch.equal(task.val_x[0, :-1, 0], task.x[-1, 1:, 0])


def test_standardize_keeps_mad_in_original_units():
    raw_cfg = WeightedSumTask(seq_len=5, noise_std=6.0, train_size=500, val_size=100)
    raw = build_task(raw_cfg, 7)
    std = build_task(dataclasses.replace(raw_cfg, standardize=True), 7)
    assert raw.target_scale == 1.0 and std.target_scale > 5
    assert float(std.x.mean()) == pytest.approx(0, abs=1e-4)
    assert float(std.x.std()) == pytest.approx(1, abs=1e-2)
    assert float(std.y.mean()) == pytest.approx(0, abs=1e-4)
    const = 0.3                                       # a constant prediction in model units
    total, count = std.metric_sum(torch.full((100, 1), const), std.val_y)
    in_original_units = const * std.target_scale + std.target_offset
    by_hand = (raw.val_y.double() - in_original_units).abs().mean()
    assert float(total) / count == pytest.approx(float(by_hand), rel=1e-4)


# ---------------------------------------------------------------- adding

def test_adding_marks_two_values_one_per_half_and_sums_them():
    cfg = SMALL["adding"]
    task = build_task(cfg, 0)
    x, y = task.x, task.y
    marks = x[..., 1]
    assert ((marks == 0) | (marks == 1)).all()
    half = cfg.seq_len // 2
    assert (marks[:, :half].sum(1) == 1).all() and (marks[:, half:].sum(1) == 1).all()
    assert ((x[..., 0] >= 0) & (x[..., 0] < 1)).all()
    picked = torch.stack([x[i, marks[i] == 1, 0] for i in range(len(x))])
    assert torch.allclose(y, picked.sum(1))
    assert marks[:, 0].sum() > 0 and marks[:, -1].sum() > 0   # positions cover each half


# ---------------------------------------------------------------- copy

def test_copy_layout():
    cfg = CopyTask(length=3, delay=4, symbols=5, train_size=50, val_size=10)
    task = build_task(cfg, 0)
    assert task.seq_len == 2 * 3 + 4 + 1 == 11 and task.input_size == 7
    blank, cue = 5, 6
    x, y = next(iter(task.val_batches(10)))
    codes = x.argmax(-1)
    assert (codes[:, :3] < 5).all()
    assert (codes[:, 3:7] == blank).all() and (codes[:, 7] == cue).all()
    assert (codes[:, 8:] == blank).all()
    assert torch.equal(y[:, -3:], codes[:, :3])
    assert (y[:, :-3] == blank).all()


def test_copy_scores_only_the_answer_steps():
    task = build_task(SMALL["copy"], 0)
    x, y = next(iter(task.val_batches(20)))
    perfect = F.one_hot(y, task.output_size).float() * 20
    noise = torch.randn_like(perfect)
    wrong_elsewhere = perfect.clone()
    wrong_elsewhere[:, :-task.length] = noise[:, :-task.length]
    total, count = task.metric_sum(wrong_elsewhere, y)
    assert count == 20 * task.length and int(total) == count
    assert task.loss(wrong_elsewhere, y) == pytest.approx(float(task.loss(perfect, y)))
    answers_wrong = perfect.clone()
    answers_wrong[:, -1] = noise[:, -1]
    assert task.loss(answers_wrong, y) > task.loss(perfect, y)
    expected = F.cross_entropy(answers_wrong[:, -1], y[:, -1], reduction="sum")
    assert task.final_step_loss(answers_wrong, y) == pytest.approx(float(expected))


# ---------------------------------------------------------------- char_lm

def test_text8_vocab_and_normalization():
    task = build_task(CharLMTask(seq_len=5, max_chars=3000), 0)
    assert task.vocab == list(TEXT8_VOCAB) and task.input_size == 27
    text = task.decode(torch.cat([task.train_codes, task.val_codes]))
    assert set(text) <= set(TEXT8_VOCAB) and "  " not in text
    assert task.decode(task.encode("Hello, World!!  42x")) == "hello world x"


def test_char_streams_continue_across_batches():
    cfg = CharLMTask(seq_len=7, max_chars=4000)
    task = build_task(cfg, 0)
    batches = list(task.train_batches(4, gen()))
    assert len(batches) == task.steps_per_epoch(4) > 2
    for (x0, y0), (x1, _) in zip(batches, batches[1:]):
        assert torch.equal(x0.argmax(-1)[:, 1:], y0[:, :-1])   # y is x shifted by one
        assert torch.equal(x1.argmax(-1)[:, 0], y0[:, -1])     # batch k+1 goes on from k
    # Row 0 read across the epoch is the start of the training text.
    row0 = torch.cat([x[0].argmax(-1) for x, _ in batches])
    assert torch.equal(row0, task.train_codes[:len(row0)].long())
    # Row 1 starts a quarter of the way in (B = 4 contiguous streams).
    assert torch.equal(batches[0][0][1].argmax(-1),
                       task.train_codes[task.train_size // 4:][:7].long())


def test_char_split_is_the_tail_of_the_text():
    cfg = CharLMTask(seq_len=5, max_chars=2000, normalize="none", val_fraction=0.25)
    task = build_task(cfg, 0)
    text = builtin_text()[:2000]
    assert task.decode(task.train_codes) + task.decode(task.val_codes) == text
    assert task.val_size == 500 and task.train_size == 1500
    one_stream = "".join(task.decode(x[0].argmax(-1)) for x, _ in task.val_batches(1))
    assert len(one_stream) > 400 and one_stream == text[1500:1500 + len(one_stream)]


def test_char_lm_reads_a_text_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("abcab\u00e9 " * 40, encoding="utf-8")
    cfg = CharLMTask(text=str(path), normalize="none", seq_len=4)
    task = build_task(cfg, 0)
    assert task.vocab == [" ", "a", "b", "c", "\u00e9"]
    assert task.train_size + task.val_size == 280
    assert describe_task(cfg) == shape_of(task)
    assert task.decode(task.encode("cabz\u00e9")) == "cab\u00e9"       # unknown z dropped
    # An edited file is read again (the cache is keyed by mtime and size).
    path.write_text("xyz" * 50, encoding="utf-8")
    os.utime(path, ns=(1, 1))
    assert describe_task(cfg).vocab_size == 3 and build_task(cfg, 0).vocab == ["x", "y", "z"]


def test_char_lm_too_short_for_seq_len_is_a_config_error(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("abcdefghij" * 3, encoding="utf-8")
    with pytest.raises(ValueError, match="seq_len"):
        build_task(CharLMTask(text=str(path), seq_len=10), 0)


def test_uniform_predictor_has_perplexity_of_the_vocab_size():
    task = build_task(CharLMTask(seq_len=6, max_chars=3000, normalize="none"), 0)
    total, count = 0.0, 0
    for x, y in task.val_batches(8):
        s, c = task.metric_sum(torch.zeros(*y.shape, task.output_size), y)
        total, count = total + float(s), count + c
    assert count > 0
    assert task.reduce_metric(total, count) == pytest.approx(len(task.vocab), rel=1e-5)
    assert bpc(total / count) == pytest.approx(math.log2(len(task.vocab)), rel=1e-5)


@pytest.mark.parametrize("kind", ["char_lm", "nth_element"])
def test_the_train_metric_taken_from_the_loss_is_the_metric_of_the_batch(kind):
    # char_lm takes its train metric (summed cross entropy) from the step's loss; the
    # others compute it from the output; both are what metric_sum gives
    cfg = (CharLMTask(seq_len=6, max_chars=3000) if kind == "char_lm"
           else NthElementTask(seq_len=5, features=4, train_size=64, val_size=16))
    task = build_task(cfg, 0)
    x, y = next(iter(task.train_batches(8, torch.Generator().manual_seed(0))))
    output = torch.randn(*y.shape, task.output_size, generator=torch.Generator().manual_seed(1))
    loss = task.loss(output, y)
    got, count = task.train_metric_sum(output, y, loss)
    want, want_count = task.metric_sum(output, y)
    assert count == want_count and float(got) == pytest.approx(float(want), rel=1e-6)
