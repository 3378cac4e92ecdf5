"""ganlib.bench: a smoke run of every measurement (no timing asserts: speed is measured, not tested)."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from ganlib import bench, config


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def test_quick_run_reports_every_measurement():
    res = bench.run("cpu", quick=True, mlp_batch=64, dcgan_batch=8, only=("mlp", "dcgan", "toy"))
    assert res["device"] == "cpu" and res["quick"] is True and res["only"] == ["mlp", "dcgan", "toy"]
    names = [r["name"] for r in res["results"]]
    assert names[:2] == ["mlp GAN step (GANTrainer)", "mlp GAN step (plain loop, reference)"]
    assert [r.get("reference", False) for r in res["results"][:2]] == [False, True]
    # NCHW and channels_last in float32, plus bf16 autocast where the CPU computes bf16 natively.
    bf16 = config.fast_bf16("cpu")
    assert sum(n.startswith("dcgan GAN step (GANTrainer)") for n in names) == 2 + bf16
    assert sum("bf16 autocast" in n for n in names) == 2 * bf16
    gan = [r for r in res["results"] if "images_per_s" in r]
    assert {r["precision"] for r in gan} == ({"fp32", "bf16"} if bf16 else {"fp32"})
    assert {r["model"] for r in gan} == {"mlp", "dcgan"}
    for r in gan:
        assert r["images_per_s"] > 0 and math.isclose(r["seconds_per_epoch"], 60_000 / r["images_per_s"])
        assert r["images_per_s_min"] <= r["images_per_s"] <= r["images_per_s_max"]
        assert math.isclose(r["steps_per_s"], r["images_per_s"] / r["batch_size"])
    toy = next(r for r in res["results"] if "toy" in r["name"])
    assert toy["steps_per_s"] > 0
    text = bench.format_results(res)
    assert "images/s" in text and "steps/s" in text and "quick" in text


def test_only_the_two_gan_steps():
    res = bench.run("cpu", quick=True, mlp_batch=16, dcgan_batch=4, repeats=1, only=("mlp", "dcgan"))
    assert {r["model"] for r in res["results"]} == {"mlp", "dcgan"} and all(r["repeats"] == 1 for r in res["results"])
    for bad in ((), ("mlp", "gan")):
        with pytest.raises(ValueError, match="only="):
            bench.run("cpu", quick=True, only=bad)
    with pytest.raises(ValueError, match="mlp_batch"):
        bench.run("cpu", quick=True, mlp_batch=0, only=("mlp",))


def test_synthetic_batches_have_mnist_shape():
    b = bench.synthetic_batches(torch.device("cpu"), n=128)
    x = b(16)
    assert x.shape == (16, 1, 28, 28) and x.dtype == torch.float32
    assert -1.0 <= float(x.min()) and float(x.max()) <= 1.0


def test_interleaved_times_each_candidate_in_turn():
    calls: list[tuple[str, int]] = []
    times = bench.interleaved([lambda n: calls.append(("a", n)), lambda n: calls.append(("b", n))],
                              torch.device("cpu"), steps=3, repeats=2, warmup=5)
    assert calls == [("a", 5), ("b", 5), ("a", 3), ("b", 3), ("a", 3), ("b", 3)]
    assert len(times) == 2 and all(len(t) == 2 and min(t) >= 0 for t in times)


def test_every_mode_collapse_preset_is_timed(monkeypatch):
    """The bench times every preset of the explorer, at its own length; quick mode runs the first one for real."""
    from ganlib import widgets

    ran: list[tuple[str, dict]] = []
    monkeypatch.setattr(widgets, "run_preset", lambda name, **kw: ran.append((name, kw)))
    rows = bench.bench_presets(quick=False)
    assert [name for name, _ in ran] == list(widgets.PRESETS) and all(kw == {} for _, kw in ran)
    assert [r["name"] for r in rows] == [f"widgets.run_preset({n!r})" for n in widgets.PRESETS]
    assert all(r["seconds"] >= 0 for r in rows)
    monkeypatch.undo()
    (row,) = bench.bench_presets(quick=True)  # the real run_preset, 200 steps: its signature still fits
    assert "skipped" not in row, row
    assert row["name"] == f"widgets.run_preset({next(iter(widgets.PRESETS))!r})" and row["seconds"] > 0
    assert "s" in bench.format_results({"device": "cpu", "device_name": "x", "threads": 1, "torch": "t",
                                        "quick": True, "results": [row]})


def test_a_failing_optional_part_is_skipped_with_a_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "ganlib.widgets", None)  # as if the module could not be imported
    (row,) = bench.bench_presets(quick=True)
    assert row["name"] == "widgets.run_preset" and row["skipped"].startswith(("ImportError", "ModuleNotFoundError"))
    assert "skipped (" in bench.format_results({"device": "cpu", "device_name": "x", "threads": 1,
                                                           "torch": "t", "quick": True, "results": [row]})


def test_cli_quick_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "ganlib", "bench", "--quick", "--device", "cpu", "--threads", "1",
           "--mlp-batch", "32", "--dcgan-batch", "4", "--repeats", "1"]
    r = subprocess.run(cmd + ["--only", "mlp,dcgan", "--json", str(out)],
                       capture_output=True, text=True, cwd=config.REPO_DIR, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "images/s" in r.stdout
    doc = json.loads(out.read_text())
    assert doc["threads"] == 1 and doc["only"] == ["mlp", "dcgan"] and len(doc["results"]) >= 4
    from ganlib.__main__ import main

    assert main(["bench", "--quick", "--only", "mlp,nope"]) == 2 and "only='nope'" in capsys.readouterr().out
    assert main(["bench", "--quick", "--threads", "0"]) == 2 and "threads must be" in capsys.readouterr().out
