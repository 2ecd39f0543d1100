"""Files written whole or not at all: a temp file in the same folder, then a rename.

A `kill -9` in the middle of a write leaves the previous file (or none), never a half-written one.

Example:

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "state.json"
>>> atomic_write_text(path, '{"epoch": 3}')
>>> path.read_text()
'{"epoch": 3}'
"""
from __future__ import annotations

import os
from pathlib import Path


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` through a temp file in the same folder and a rename."""
    atomic_write_bytes(path, text.encode())


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` through a temp file in the same folder and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_save_model(model, path: str | Path) -> None:
    """`model.save(path)` through a temp file and a rename: a kill never leaves a half-written model."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix or '.keras'}")
    model.save(tmp)
    os.replace(tmp, path)


def report_section(lines: list[str], path: str | Path | None = None) -> str:
    """Print a Markdown section (its `lines`) and, with `path`, append it to that results file after a
    blank line, creating it when missing: what the experiment scripts do with the tables they measure.
    Earlier sections stay. Returns the section's text.

    Example:
    >>> report_section(["## Run 3", "", "| a |"], "experiments/results/refine_tuning.md")  # doctest: +SKIP
    """
    text = "\n".join(lines).strip("\n") + "\n"
    if path is not None:
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n" + text)
    print(text)
    return text
