"""The package metadata, the conda environment and the two README commands agree."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest
import yaml

from helpers import REPO


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    assert conda == wanted, f"only in environment.yml: {conda - wanted}; only in pyproject: {wanted - conda}"


def _floor() -> tuple[int, int]:
    spec = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    m = re.fullmatch(r">=\s*3\.(\d+)", spec.strip())
    assert m, f"requires-python {spec!r}: expected '>=3.N'"
    return 3, int(m.group(1))


# Standard-library modules newer than some Python 3 releases (name -> first version that has it).
NEW_STDLIB = {"tomllib": (3, 11), "zoneinfo": (3, 9), "graphlib": (3, 9)}


def test_package_source_runs_on_the_python_floor():
    # every module of fcnlib parses with the grammar of the oldest Python that pyproject promises, and
    # imports no standard module that Python lacks (tests may use newer ones: they run on the dev Python)
    import ast

    floor = _floor()
    for path in sorted((REPO / "fcnlib").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path), feature_version=floor)
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                since = NEW_STDLIB.get(name.split(".")[0])
                assert since is None or since <= floor, f"{path}: imports {name}, new in Python {since}"


def test_fcn_console_script_lists_every_subcommand():
    # the console script is fcnlib.cli:main, and its parser's subcommand list is exactly this one (the
    # list argparse prints in `fcn --help` as {pairs,split,...})
    from fcnlib import cli

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["fcn"] == "fcnlib.cli:main"
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    expected = {"pairs", "split", "verify", "import-quads", "synth", "models", "train", "evaluate", "calibrate",
                "compare", "predict", "extract", "bench", "demo"}
    assert set(sub.choices) == expected
    listed = re.search(r"\{([a-z,-]+)\}", parser.format_help()).group(1).split(",")
    assert set(listed) == expected


@pytest.mark.slow
def test_fcn_help_runs_as_a_program():
    out = subprocess.run([sys.executable, "-m", "fcnlib.cli", "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("usage: fcn")


def test_ci_calls_make_test_and_makefile_has_both_commands():
    assert "make test" in (REPO / ".ci" / "run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
