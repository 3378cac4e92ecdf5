"""ganlib.experiment: real-data training, exact resume after an interrupt, divergence, the CLI.

Runs use a subset of MNIST (first 1,024 training images, batch 64: 16 steps per epoch) so the
file stays within its CPU budget.
"""
from __future__ import annotations

import io
import json
import math
import os
import signal
import subprocess
import sys

import pytest
import torch

from ganlib import checkpoint, config, experiment
from ganlib.experiment import Experiment, RunConfig

SMALL = dict(subset=1024, batch_size=64, log_every=4)


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def _series(h) -> dict:
    d = h.to_dict()
    d.pop("snapshots")
    return d


def test_discriminator_learns_real_from_noise(tmp_path):
    """Train D only (G frozen, so its output stays noise): L_D falls from ~2 log 2 and D separates."""
    exp = Experiment(RunConfig(**SMALL), out=tmp_path / "d_only", verbose=False)
    exp.trainer.train_g = False
    h = exp.trainer.run(30)
    first, last = h.d_loss[0], sum(h.d_loss[-5:]) / 5
    assert abs(first - 2 * math.log(2)) < 0.15, first  # D(x) ~ D(G(z)) ~ 1/2 at initialisation
    assert last < 0.7 and last < first - 0.6, (first, last)
    assert h.last("d_real", 5) > 0.8 and h.last("d_fake", 5) < 0.5


def test_resume_after_interrupt_gives_the_same_history(tmp_path):
    cfg = RunConfig(epochs=3, **SMALL)
    straight = Experiment(cfg, out=tmp_path / "straight", verbose=False)
    straight.train(progress=False)
    assert straight.step == 48 and straight.epoch == 3 and len(straight.history.snapshots) == 3

    sent = []

    def interrupt_at_20(exp):  # the real thing: a SIGINT, as Ctrl-C or Jupyter's interrupt sends
        if exp.step >= 20 and not sent:
            sent.append(exp.step)
            os.kill(os.getpid(), signal.SIGINT)

    first = Experiment(cfg, out=tmp_path / "resumed", verbose=False)
    first.train(on_log=interrupt_at_20, progress=False)
    assert first.interrupted and first.step == 20  # stopped after the current step, mid-epoch 2
    assert checkpoint.load(first.checkpoint_path)["trainer"]["step"] == 20
    assert signal.getsignal(signal.SIGINT) is not first._on_sigint  # handler restored
    del first

    second = Experiment(cfg, out=tmp_path / "resumed", resume=True, verbose=False)  # new objects
    assert second.step == 20
    second.train(progress=False)
    assert second.step == 48 and not second.interrupted
    assert _series(second.history) == _series(straight.history)  # bit-identical numbers
    for a, b in zip(second.history.snapshots, straight.history.snapshots):
        assert (a["epoch"], a["step"]) == (b["epoch"], b["step"])
        assert torch.equal(a["images"], b["images"])
    for a, b in zip(second.G.state_dict().values(), straight.G.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(second.fixed_z, straight.fixed_z)
    assert sorted(p.name for p in (tmp_path / "resumed" / "samples").iterdir()) == \
        ["epoch_001.png", "epoch_002.png", "epoch_003.png"]
    doc = json.loads((tmp_path / "resumed" / "history.json").read_text())
    assert doc["history"]["step"][-1] == 48 and doc["meta"]["epoch"] == 3


def test_divergence_keeps_the_last_good_checkpoint(tmp_path, capsys):
    out = tmp_path / "div"
    exp = Experiment(RunConfig(epochs=1, **SMALL), out=out, verbose=False)
    exp.train(progress=False)
    good = (out / "last.pt").read_bytes()
    from PIL import Image
    anim = Image.open(io.BytesIO(exp.animation().data))  # an animated PNG: plays with no JavaScript
    assert anim.format == "PNG" and anim.n_frames == 1  # one frame per epoch, from the snapshots
    with torch.no_grad():  # a blow-up: D's first weight becomes NaN, so every loss after it is NaN
        next(exp.D.parameters()).view(-1)[0] = float("nan")
    exp.train(epochs=2, progress=False)
    msg = capsys.readouterr().out
    assert exp.diverged is not None and exp.diverged.step == 17
    assert "diverged at step 17" in msg and "smaller learning rate" in msg and "step 16" in msg
    assert (out / "last.pt").read_bytes() == good
    assert len(exp.history) == 16  # the record keeps the good prefix only
    with pytest.raises(RuntimeError, match="resume=True"):
        exp.train(epochs=2, progress=False)
    again = Experiment(RunConfig(epochs=2, **{**SMALL, "log_every": 8}), out=out, resume=True,
                       lr=1e-4, verbose=False)
    assert again.step == 16 and again.trainer.opt_d.param_groups[0]["lr"] == 1e-4


def test_rerunning_a_finished_run_shows_it_again(tmp_path, monkeypatch, capsys):
    """A notebook run twice: the second Experiment finds the finished run, trains nothing, says so
    (with a path relative to the repository), still calls the callback (the dashboard is drawn
    again) and reports the saved run's images/s, never nan."""
    monkeypatch.setattr(config, "REPO_DIR", tmp_path)
    cfg = RunConfig(epochs=1, **SMALL)
    first = Experiment(cfg, out=tmp_path / "runs" / "done", verbose=False)
    first.train(progress=False)
    rate = first.images_per_second
    assert math.isfinite(rate) and rate > 0
    calls = []
    again = Experiment(cfg, out=tmp_path / "runs" / "done", resume=True)
    again.train(callback=calls.append, progress=False)
    out = capsys.readouterr().out
    assert calls == [again] and again.step == first.step == 16
    assert "runs/done already holds this run" in out and "showing the saved run" in out
    assert str(tmp_path) not in out
    assert again.images_per_second == pytest.approx(16 * 64 / again.train_seconds)
    assert Experiment(RunConfig(**SMALL), out=tmp_path / "fresh", verbose=False).images_per_second == 0.0


def test_existing_run_needs_resume_and_matching_settings(tmp_path):
    out = tmp_path / "run"
    Experiment(RunConfig(epochs=1, max_steps=4, **SMALL), out=out, verbose=False).train(progress=False)
    with pytest.raises(ValueError, match="resume=True"):
        Experiment(RunConfig(**SMALL), out=out, verbose=False)
    with pytest.raises(ValueError, match="batch_size: saved 64, asked 32"):
        Experiment(RunConfig(**{**SMALL, "batch_size": 32}), out=out, resume=True, verbose=False)


@pytest.mark.parametrize("field, value, words", [
    ("model", "gan", "model='gan'"), ("dataset", "cifar", "dataset='cifar'"),
    ("batch_size", 0, "batch_size must be an int >= 1"), ("lr", -1.0, "lr must be a positive"),
    ("beta1", 1.5, "beta1 must be"), ("g_loss", "wasserstein", "g_loss='wasserstein'"),
    ("precision", "fp16", "precision='fp16' is not known"),
    ("ema_decay", 1.0, "ema_decay must be a number in"), ("real_label", 0.3, "real_label must be a number in"),
])
def test_bad_settings_name_the_parameter(field, value, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace("[", r"\[")):
        RunConfig(**{field: value})


def test_precision_defaults_to_bf16_only_where_it_is_native(tmp_path):
    exp = Experiment(RunConfig(**SMALL), out=tmp_path / "auto", verbose=False)
    assert exp.precision == ("bf16" if config.fast_bf16("cpu") else "fp32") == exp.trainer.precision
    assert exp.meta()["precision"] == exp.precision
    exp = Experiment(RunConfig(precision="fp32", **SMALL), out=tmp_path / "fp32", verbose=False)
    assert exp.trainer.precision == "fp32"


def test_real_label_reaches_the_discriminator_loss(tmp_path):
    from ganlib import losses
    a, b = torch.randn(8, 1), torch.randn(8, 1)
    exp = Experiment(RunConfig(real_label=0.9, **SMALL), out=tmp_path / "ls", verbose=False)
    torch.testing.assert_close(exp.trainer.d_loss_fn(a, b), losses.discriminator_loss(a, b, real_label=0.9))
    exp = Experiment(RunConfig(**SMALL), out=tmp_path / "plain", verbose=False)
    assert exp.trainer.d_loss_fn is losses.discriminator_loss


def test_cli_train_and_resume(tmp_path):
    out = tmp_path / "cli"
    base = [sys.executable, "-m", "ganlib", "train", "mlp", "--subset", "256", "--batch-size", "32",
            "--log-every", "3", "--out", str(out), "--no-progress", "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(base + ["--max-steps", "6", "--ema-decay", "0.99"], capture_output=True, text=True,
                       env=env, cwd=config.REPO_DIR, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "step 6" in r.stdout and (out / "last.pt").exists()
    saved = checkpoint.load(out / "last.pt")
    assert saved["config"]["ema_decay"] == 0.99 and "G_ema" in saved["trainer"]
    r = subprocess.run(base + ["--max-steps", "10", "--resume", "--gif"], capture_output=True, text=True,
                       env=env, cwd=config.REPO_DIR, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((out / "history.json").read_text())
    assert doc["history"]["step"] == list(range(1, 11)) and doc["config"]["max_steps"] == 10
    assert doc["config"]["ema_decay"] == 0.99  # kept from the saved run
    assert (out / "samples" / "epoch_001.png").exists() and (out / "samples.gif").exists()
    r = subprocess.run(base + ["--max-steps", "12"], capture_output=True, text=True, env=env,
                       cwd=config.REPO_DIR, timeout=300)
    assert r.returncode == 2 and "--resume" in r.stdout
