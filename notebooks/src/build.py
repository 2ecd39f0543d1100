"""Write notebooks/NAME.ipynb from notebooks/src/NAME.py (percent format: `# %%` code, `# %% [markdown]` prose).

Usage: python notebooks/src/build.py notebooks/src/05_camvid.py   (outputs are cleared; run fcnlib.notebook next)
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def cells(text: str) -> list:
    out, kind, lines = [], None, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.split("\n"))
            out.append(nbformat.v4.new_markdown_cell(body))
        else:
            out.append(nbformat.v4.new_code_cell(body))

    body = text.split('"""', 2)[2] if text.startswith('"""') else text  # the module docstring is not a cell
    for line in body.split("\n"):
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    return out


def build(src: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells(src.read_text())
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}, "colab": {"provenance": []}}
    target = src.parents[1] / f"{src.stem}.ipynb"
    target.write_text(nbformat.writes(nb) + "\n")
    return target


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(build(Path(arg)))
