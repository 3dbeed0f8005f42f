"""Where the manual explains an error: the one-line errors users meet, each matched to its
entry in docs/troubleshooting.md, so the line can end with a pointer to it.

The CLI's error lines (and the lab's start-up error) end with ``(see
docs/troubleshooting.md#ANCHOR)`` when an entry below matches; the message itself is not
changed, and a line without an entry gets no pointer.  Pure Python, no torch, no rich.
tests/unit/test_troubleshooting.py checks that every anchor is a heading of the page,
that every heading of the page has an entry here, and that each example matches its entry
(and no earlier one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PAGE = "docs/troubleshooting.md"


@dataclass(frozen=True)
class Entry:
    anchor: str          # the heading's id on the page (GitHub and MkDocs agree on it)
    pattern: str         # a regular expression searched in the error line
    examples: tuple[str, ...]   # real lines it is for (checked by the tests)


# First match wins: the specific entries come before the general ones.
ENTRIES: tuple[Entry, ...] = (
    Entry("still-running", r"its writer is alive|sweep is already running",
          ("runs/x: this run is still being written by pid 12 (its writer is alive); wait "
           "for it or stop it first",
           "runs/sweep-a-1f2e: this sweep is already running (pid 7); wait for it or stop it "
           "first")),
    Entry("missing-extra", r"pip install 'lstm-lab\[",
          ("--output: static figures need matplotlib; install it with: pip install "
           "'lstm-lab[plots]'",
           "p.toml: sweep.search: tpe needs Optuna: pip install 'lstm-lab[optuna]'")),
    Entry("no-gpu", r"was asked for but (torch sees|is not available)",
          ("train.device: cuda was asked for but torch sees no CUDA device (allowed here: "
           "auto, cpu)",)),
    Entry("out-of-memory", r"out of memory|OutOfMemoryError",
          ("OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",)),
    Entry("text8-download", r"cannot download text8|text8\.zip|SHA-256 of text8",
          ("task.text: cannot download text8 from http://mattmahoney.net/dc/text8.zip "
           "(timed out); put the unzipped file 'text8' at ~/.cache/lstm-lab/text8 by hand, "
           "or set task.text to a file",)),
    Entry("unknown-key", r"unknown key",
          ("--set: task.nope: unknown key (allowed: kind, seq_len, features, n, train_size, "
           "val_size)",
           "p.toml: model.hiden: unknown key; did you mean 'hidden'? (allowed: cell, hidden)")),
    Entry("no-such-preset", r"no such preset file",
          ("nth_elemnt_lstm: no such preset file (did you mean 'nth_element_lstm'? shipped "
           "presets: adding_problem, ...)",)),
    Entry("no-such-run", r"no such run|matches \d+ (runs|sweeps|removed folders)|"
                         r"there are only \d+ runs|no results of this sweep",
          ("nope: no such run (a run folder, or a run name under runs/; `lstm-lab runs` lists "
           "them)",
           "2026: matches 3 runs (a, b, c...); give more of the name")),
    Entry("nothing-to-resume", r"nothing to resume|no checkpoint yet",
          ("runs/x: already completed at step 312; nothing to resume (start a new run with "
           "more train.steps)",
           "runs/x: no checkpoint yet (best; a run saves one at each validation)")),
    Entry("checkpoint-does-not-fit", r"does not fit the model|do not fit the run's config|"
                                     r"vocabulary[^;]* differs|not a resumable checkpoint",
          ("runs/x/last.pt: does not fit the model of runs/x/config.toml (size mismatch); was "
           "the config edited?",)),
    Entry("damaged-tpe-study", r"to rebuild the study",
          ("runs/sweep-tpe-1a2b/study.journal: empty, and the trial folder "
           "p001-lr0.01-hidden8-s0 cannot be read (corrupt (Expected ']' at line 1)): move "
           "that folder away (lstm-lab rm runs/sweep-tpe-1a2b/p001-lr0.01-hidden8-s0) and run "
           "the same command again to rebuild the study",)),
    Entry("damaged-run-folder", r"cut short or emptied|: corrupt\b|not a complete run|"
                                r"is a folder, not a file",
          ("runs/x/config.toml: cut short or emptied (a run's config ends with the line '# end "
           "of the resolved config'); this folder cannot be used",
           "runs/x/summary.json: corrupt (Expecting value: line 1 column 1 (char 0))",
           "runs/x/config.toml: corrupt (a named pipe, not a regular file)")),
    Entry("run-store-not-writable", r"not a folder of runs|(?i:permission denied|read-only "
                                    r"file system|no space left on device)|cannot create a "
                                    r"new run",
          ("bad.toml: is a file, not a folder of runs (give --runs-dir a folder)",
           "runs/x: Read-only file system", "runs/ro: permission denied",
           "runs/x/metrics.jsonl: No space left on device")),
    Entry("data-file-problems", r"no such file|CSV/TSV|\.npy|\.npz|is empty\b|no column |"
                                r"is not numeric|NaN|nothing to train|window \+ horizon",
          ("s.toml: task.path: no such file 'no.csv'",
           "s.toml: task.target: no column 'lod' in load.csv (did you mean 'load'? columns: "
           "time, load)")),
    Entry("too-many-points", r"without --yes|even with --yes",
          ("p.toml: sweep: 12,000 points (grid 6000, samples 1, seeds 2); at most 10,000 "
           "without --yes",
           "p.toml: sweep: has 1,000,000,000 points (grid 1000 × 1000 × 1000, samples 1, "
           "seeds 1); at most 100,000 even with --yes (split the sweep)")),
    Entry("serving-beyond-this-machine", r"not a loopback address",
          ("--host: host: 0.0.0.0 is not a loopback address: the served lab can train and "
           "write files as you, so it listens beyond this machine only with --allow-remote",)),
    Entry("output-exists", r"exists; pass --force|exists; move it away",
          ("--output c.png: exists; pass --force to replace it",)),
    Entry("missed-expectation", r"missed expectations?\b",
          ("missed expectations (--strict): val.accuracy",)),
    Entry("diverged", r"\bdiverged\b|became non-finite|train loss grew to",
          ("diverged: loss became non-finite at step 40: lower train.lr (now 10), set "
           "train.grad_clip (e.g. 1.0) or standardize the inputs",)),
    Entry("task-plugin-skipped", r"task plugin",
          ("task plugin 'parity' (lstm_lab_parity:SPECS): No module named 'lstm_lab_parity'",)),
    Entry("value-not-allowed", r"\bmust be\b|\bnot one of\b|allowed:",
          ("--set train.lr=-1: train.lr: must be a number > 0, got -1.0",)),
)

_COMPILED = tuple((e, re.compile(e.pattern)) for e in ENTRIES)


def entry_for(line: str) -> Entry | None:
    """The troubleshooting entry of an error line, or None."""
    for entry, pattern in _COMPILED:
        if pattern.search(line):
            return entry
    return None


def link(anchor: str) -> str:
    return f"{PAGE}#{anchor}"


def with_help(line: str, anchor: str | None = None) -> str:
    """`line`, ending with a pointer to its troubleshooting entry (`anchor`, or the entry
    that matches it) when it has one."""
    if anchor is None:
        entry = entry_for(line)
        anchor = entry.anchor if entry else None
    elif anchor not in {e.anchor for e in ENTRIES}:
        raise ValueError(f"no troubleshooting entry {anchor!r}")
    return f"{line} (see {link(anchor)})" if anchor else line
