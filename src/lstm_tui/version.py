"""lstm-lab's version, in a module that imports nothing: run records, exported models and
figures name it without importing the package root (whose Python API sits on top of them).
pyproject.toml and CHANGELOG.md state the same number (tests/unit/test_manual.py)."""

VERSION = "0.2.0"
