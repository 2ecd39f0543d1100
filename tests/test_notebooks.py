"""The committed notebooks carry the outputs of a full run of the code they show.

`make test` re-executes every notebook in quick mode (nbval); these tests check the committed copies
themselves: stamped by `python -m fcnlib.notebook` after their last code change, run top to bottom in
one go, without errors, all with the same header.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from fcnlib import notebook

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_every_numbered_notebook_is_found():
    assert len(NOTEBOOKS) >= 4, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_come_from_the_current_code(path):
    nb = nbformat.read(path, as_version=4)
    stamp = nb.metadata.get(notebook.STAMP_KEY)
    assert stamp, f"{path.name}: not stamped; run `python -m fcnlib.notebook {path.relative_to(path.parents[1])}`"
    assert stamp["mode"] == "full", f"{path.name}: committed outputs come from a {stamp['mode']} run"
    assert stamp["cells_sha256"] == notebook.cells_hash(nb), (
        f"{path.name}: code cells changed after the outputs were made; re-run `python -m fcnlib.notebook`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_run_went_top_to_bottom_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), f"{path.name}: cells run out of order"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0].ename}: {errors[0].evalue}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_same_header(path):
    nb = nbformat.read(path, as_version=4)
    title, setup = nb.cells[0], nb.cells[1]
    number = path.name[:2]
    assert title.cell_type == "markdown" and title.source.startswith(f"# {number} · "), title.source[:60]
    assert f"notebooks/{path.name}" in title.source, f"{path.name}: no Colab link to itself"
    assert setup.cell_type == "markdown" and setup.source.startswith("**Setup.**"), setup.source[:60]


def test_tensorflow_start_up_lines_are_dropped_and_other_stderr_kept():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import tensorflow")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=(
            "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            "I0000 00:00:1796146142.848993   21437 port.cc:153] oneDNN custom operations are on.\n")),
        nbformat.v4.new_output("stream", name="stderr", text=(
            "E0000 00:00:1796146149.115651   21437 cuda_platform.cc:52] failed call to cuInit\n"
            "UserWarning: something the reader should see\n")),
        nbformat.v4.new_output("stream", name="stdout", text="I0000 looks like a log line but is stdout\n"),
    ]
    nb.cells = [cell]
    notebook.drop_tf_log_lines(nb)
    assert [o.name for o in cell.outputs] == ["stderr", "stdout"]
    assert cell.outputs[0].text == "UserWarning: something the reader should see\n"
