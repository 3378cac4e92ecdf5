"""The project's set-up files agree: environment.yml lists what pyproject.toml installs."""
from __future__ import annotations

import re
import tomllib

from ganlib.config import REPO_DIR

# Names that differ between PyPI and conda-forge.
CONDA_NAMES = {"torch": "pytorch"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower()


def _pyproject_packages() -> set[str]:
    data = tomllib.loads((REPO_DIR / "pyproject.toml").read_text())
    specs = list(data["project"]["dependencies"])
    for extra in data["project"].get("optional-dependencies", {}).values():
        specs += extra
    return {CONDA_NAMES.get(_name(s), _name(s)) for s in specs}


def _environment_packages() -> set[str]:
    names = set()
    in_deps = False
    for line in (REPO_DIR / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+)", line)
        if in_deps and m:
            names.add(_name(m.group(1)))
    return names - {"python", "pip"}


def test_environment_yml_matches_pyproject():
    py, env = _pyproject_packages(), _environment_packages()
    assert py == env, f"only in pyproject: {sorted(py - env)}; only in environment.yml: {sorted(env - py)}"


def test_no_torchvision_dependency():
    assert "torchvision" not in _pyproject_packages() | _environment_packages()


def test_makefile_pins_torch_first():
    text = (REPO_DIR / "Makefile").read_text()
    assert "TORCH_SPEC  ?= torch==2.13.*" in text
    assert text.index('"$(TORCH_SPEC)"') < text.index('-e ".[dev]"')


def test_ci_runs_make_test():
    assert "make test" in (REPO_DIR / ".ci" / "run").read_text()
