"""The package metadata, the conda environment and the two README commands agree."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml

from conftest import REPO


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    assert conda == wanted, f"only in environment.yml: {conda - wanted}; only in pyproject: {wanted - conda}"


def test_python_floor_is_310():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"


def test_fcn_console_script_lists_every_subcommand():
    out = subprocess.run([sys.executable, "-m", "fcnlib.cli", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for cmd in ("pairs", "split", "verify", "import-quads", "synth", "models", "train", "evaluate", "calibrate",
                "compare", "predict", "extract", "bench", "demo"):
        assert cmd in out


def test_ci_calls_make_test_and_makefile_has_both_commands():
    assert "make test" in (REPO / ".ci" / "run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
