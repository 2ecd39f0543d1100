"""What the numbered notebooks share: quick mode, where to write, and the stamp of a full run.

`FCNLIB_QUICK=1` (set by `make test`) shrinks data, sizes and epochs so every notebook runs in CI in a few
minutes; without it the notebooks run their full (CPU-sized) study, and the committed copies carry that
run. `python -m fcnlib.notebook notebooks/0*.ipynb` re-executes notebooks in full mode and stamps each with
the hash of its code cells and the fcnlib version, so a test can tell a committed notebook whose code
changed after its outputs were made.

Example:

>>> from fcnlib import notebook
>>> notebook.pick(quick_value=2, full_value=20) in (2, 20)
True
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

from fcnlib.shared_data import repo_root

# Set before TensorFlow is imported: CPU-only machines otherwise fill notebook outputs with
# TensorFlow's start-up log (no CUDA driver found, and so on).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

STAMP_KEY = "fcnlib"


def quick() -> bool:
    """True in quick mode (`FCNLIB_QUICK=1`)."""
    return os.environ.get("FCNLIB_QUICK", "") not in ("", "0", "false")


def pick(quick_value, full_value):
    """`quick_value` in quick mode, else `full_value`."""
    return quick_value if quick() else full_value


def work_dir(name: str) -> Path:
    """A folder for a notebook's outputs: `data/notebooks/<name>` (quick runs get their own)."""
    path = repo_root() / "data" / ("notebooks-quick" if quick() else "notebooks") / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path:
    """`experiments/results`, where full runs keep their tables and figures (quick runs do not)."""
    path = repo_root() / "experiments" / "results" if not quick() else work_dir("results")
    path.mkdir(parents=True, exist_ok=True)
    return path


def cells_hash(nb) -> str:
    """sha256 of a notebook's code cells, in order (what its outputs were computed from)."""
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            h.update(cell.source.encode())
            h.update(b"\0")
    return h.hexdigest()


_TF_LOG = re.compile(r"^(?:[IWE]\d{4} [\d:.]+ +\d+ \S+:\d+\] .*|WARNING: All log messages before "
                     r"absl::InitializeLog\(\) is called are written to STDERR)\n?", re.M)


def drop_tf_log_lines(nb) -> None:
    """Remove TensorFlow's C++ start-up log lines (CUDA probing, oneDNN notices) from stderr outputs.

    TensorFlow writes them before its log level takes effect, so `TF_CPP_MIN_LOG_LEVEL` cannot keep them
    out; they say nothing about the notebook. Other stderr text is kept.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                out.text = _TF_LOG.sub("", out.text)
                if not out.text.strip():
                    continue
            kept.append(out)
        cell.outputs = kept


def stamp(nb, mode: str) -> None:
    """Record in `nb.metadata` which code and which fcnlib version produced its outputs."""
    import fcnlib

    nb.metadata[STAMP_KEY] = {"cells_sha256": cells_hash(nb), "version": fcnlib.__version__, "mode": mode}


def execute(path: str | Path, timeout: int = 3600) -> None:
    """Run a notebook top to bottom in full mode (its own folder as working directory) and stamp it."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env_quick = os.environ.pop("FCNLIB_QUICK", None)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if env_quick is not None:
            os.environ["FCNLIB_QUICK"] = env_quick
    drop_tf_log_lines(nb)
    stamp(nb, "full")
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m fcnlib.notebook NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    for p in paths:
        print(f"{p}: executing in full mode", flush=True)
        execute(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
