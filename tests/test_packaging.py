"""The project's set-up files agree: environment.yml lists what pyproject.toml installs."""
from __future__ import annotations

import re
import tomllib

from ganlib.config import REPO_DIR

# Names that differ between PyPI and conda-forge.
CONDA_NAMES = {"torch": "pytorch"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower()


def _pyproject_specs() -> list[str]:
    data = tomllib.loads((REPO_DIR / "pyproject.toml").read_text())
    specs = list(data["project"]["dependencies"])
    for extra in data["project"].get("optional-dependencies", {}).values():
        specs += extra
    return specs


def _pyproject_packages() -> set[str]:
    return {CONDA_NAMES.get(_name(s), _name(s)) for s in _pyproject_specs()}


def _environment_specs() -> list[str]:
    specs = []
    in_deps = False
    for line in (REPO_DIR / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+[^\s:#]*)", line)
        if in_deps and m and _name(m.group(1)) not in {"python", "pip"}:
            specs.append(m.group(1))
    return specs


def _environment_packages() -> set[str]:
    return {_name(s) for s in _environment_specs()}


def _minimum(spec: str) -> str:
    """The version after '>=' in a spec written name>=version (the only form make test-lowest pins)."""
    m = re.fullmatch(r"[A-Za-z0-9_.\-]+>=([0-9][A-Za-z0-9_.]*)", spec.replace(" ", ""))
    assert m, f"{spec!r}: write each dependency as name>=version (make test-lowest installs exactly that version)"
    return m.group(1)


def test_environment_yml_matches_pyproject():
    py, env = _pyproject_packages(), _environment_packages()
    assert py == env, f"only in pyproject: {sorted(py - env)}; only in environment.yml: {sorted(env - py)}"


def test_environment_yml_has_the_same_minimums():
    py = {CONDA_NAMES.get(_name(s), _name(s)): _minimum(s) for s in _pyproject_specs()}
    env = {_name(s): _minimum(s) for s in _environment_specs()}
    assert py == env


def test_torch_floor_admits_the_pinned_build():
    """TORCH_SPEC (torch==2.13.*) is installed first; the declared range must accept it."""
    (torch_spec,) = [s for s in _pyproject_specs() if _name(s) == "torch"]
    floor = tuple(int(x) for x in _minimum(torch_spec).split("."))
    assert (2, 6) <= floor <= (2, 13), "2.6: torch.nn.utils.get_total_norm (see the comment in pyproject.toml)"


def test_license_is_an_spdx_string():
    data = tomllib.loads((REPO_DIR / "pyproject.toml").read_text())
    assert data["project"]["license"] == "MIT"
    assert "setuptools>=77" in data["build-system"]["requires"]  # 77 reads the PEP 639 string form


def test_make_test_lowest_pins_every_declared_minimum():
    text = (REPO_DIR / "Makefile").read_text()
    assert "test-lowest:" in text and ".venv-lowest" in text
    rule = text[text.index("$(LOWEST_STAMP): pyproject.toml"):]
    assert rule.index('"$(TORCH_SPEC)"') < rule.index("-r $(LOWEST_PINS)")
    assert '"pyproject.toml"' in text[text.index("define LOWEST_PINS_PY"):text.index("endef")]
    assert ".venv-lowest/" in (REPO_DIR / ".gitignore").read_text().splitlines()


def test_no_torchvision_dependency():
    assert "torchvision" not in _pyproject_packages() | _environment_packages()


def test_makefile_pins_torch_first():
    text = (REPO_DIR / "Makefile").read_text()
    assert "TORCH_SPEC  ?= torch==2.13.*" in text
    assert text.index('"$(TORCH_SPEC)"') < text.index('-e ".[dev]"')


def test_ci_runs_make_test():
    assert "make test" in (REPO_DIR / ".ci" / "run").read_text()
