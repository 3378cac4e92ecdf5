"""ganlib.run: checkpoints (atomic, previous kept, weights_only, NaN refused), real-data training,
exact resume after an interrupt, divergence, settings checked once, a finished run shown again, the CLI.

Runs use a subset of MNIST (first 1,024 training images, batch 64: 16 steps per epoch) so the file
stays within its CPU budget.
"""
from __future__ import annotations

import io
import json
import math
import os
import signal
import subprocess
import sys
from dataclasses import asdict, replace

import pytest
import torch

from ganlib import config, files, losses, models, run, toy
from ganlib.run import Experiment, RunConfig
from ganlib.train import GANTrainer

SMALL = dict(subset=1024, batch_size=64, log_every=4)

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def _series(h) -> dict:
    return {k: v for k, v in h.to_dict().items() if k != "snapshots"}


# ------------------------------------------------------------------ checkpoint files
def _trainer(steps: int = 5, seed: int = 0) -> GANTrainer:
    torch.manual_seed(seed)
    G, D = models.ToyGenerator(1, 1, hidden=8), models.ToyDiscriminator(1, hidden=8)
    tr = GANTrainer(G, D, toy.Sampler(toy.gaussian(1.0, 0.5), seed=seed), batch_size=16, log_every=5, seed=seed)
    tr.run(steps)
    return tr


def _save(path, tr: GANTrainer):
    return run.save(path, tr.state_dict(), {"model": "toy", "lr": 2e-4}, fixed_z=torch.zeros(4, 1),
                    meta={"epoch": 0, "device": "cpu"})


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    tr = _trainer()
    tr.history.snapshots.append({"step": 5, "images": torch.arange(6, dtype=torch.uint8)})
    path = _save(tmp_path / "last.pt", tr)
    assert torch.load(path, weights_only=True)["format"] == run.FORMAT  # needs no allow-listed globals
    fresh = _trainer(steps=0, seed=1)
    fresh.load_state_dict(run.load(path)["trainer"])
    assert fresh.step == 5 and fresh.history.d_loss == tr.history.d_loss
    assert torch.equal(fresh.history.snapshots[0]["images"], torch.arange(6, dtype=torch.uint8))
    for a, b in zip(fresh.G.parameters(), tr.G.parameters()):
        assert torch.equal(a, b)


def test_previous_checkpoint_is_kept(tmp_path):
    tr = _trainer()
    path = _save(tmp_path / "last.pt", tr)
    tr.run(3)
    _save(path, tr)
    assert run.load(path)["trainer"]["step"] == 8
    assert run.load(tmp_path / run.PREVIOUS)["trainer"]["step"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.prev.pt", "last.pt"]  # no temp files


@pytest.mark.parametrize("where", ["G", "opt_d", "history", "fixed_z"])
def test_checkpoint_with_nan_is_refused(tmp_path, where):
    path = _save(tmp_path / "last.pt", _trainer())
    payload = torch.load(path, weights_only=True)
    if where == "G":
        next(iter(payload["trainer"]["G"].values())).view(-1)[0] = float("nan")
    elif where == "opt_d":
        next(iter(payload["trainer"]["opt_d"]["state"].values()))["exp_avg"].view(-1)[0] = float("inf")
    elif where == "history":
        payload["trainer"]["history"]["g_loss"][2] = math.nan
    else:
        payload["fixed_z"][1, 0] = float("-inf")
    torch.save(payload, path)  # bypasses save()'s own check, as a corrupt or foreign file would
    with pytest.raises(run.CheckpointError, match="NaN or infinite") as err:
        run.load(path)
    assert where in str(err.value)


def test_save_refuses_a_diverged_state_and_keeps_the_old_file(tmp_path):
    tr = _trainer()
    path = _save(tmp_path / "last.pt", tr)
    before = path.read_bytes()
    with torch.no_grad():
        next(tr.D.parameters()).view(-1)[0] = float("nan")
    with pytest.raises(run.CheckpointError, match="NaN or infinite"):
        _save(path, tr)
    assert path.read_bytes() == before
    assert not (tmp_path / run.PREVIOUS).exists()  # a refused save does not rotate files


def test_failed_write_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    tr = _trainer()
    path = _save(tmp_path / "last.pt", tr)
    before = path.read_bytes()

    def disk_full(obj, f, *args, **kwargs):
        f.write(b"partial bytes")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.torch, "save", disk_full)
    tr.run(2)
    with pytest.raises(OSError, match="No space"):
        _save(path, tr)
    monkeypatch.undo()
    assert path.read_bytes() == before and run.load(path)["trainer"]["step"] == 5
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_truncated_or_foreign_checkpoints_are_refused_clearly(tmp_path):
    tr = _trainer()
    path = _save(tmp_path / "last.pt", tr)
    tr.run(1)
    _save(path, tr)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(run.CheckpointError, match="cannot read .* last.prev.pt, may still be good"):
        run.load(path)
    assert run.load(tmp_path / run.PREVIOUS)["trainer"]["step"] == 5
    torch.save({"weights": torch.ones(2)}, tmp_path / "other.pt")
    with pytest.raises(run.CheckpointError, match="not a ganlib checkpoint"):
        run.load(tmp_path / "other.pt")
    with pytest.raises(run.CheckpointError, match="weights_only"):  # TorchVersion is not a plain str
        run.save(tmp_path / "x.pt", tr.state_dict(), {"torch": torch.__version__})
    with pytest.raises(run.CheckpointError, match="no checkpoint"):
        run.load(tmp_path / "missing.pt")


# ------------------------------------------------------------------ training runs
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

    first = Experiment(cfg, out=tmp_path / "resumed", verbose=False)
    step = first.trainer.train_step

    def step_then_interrupt():  # the real thing: a SIGINT, as Ctrl-C or Jupyter's interrupt sends
        step()
        if first.trainer.step == 20:
            os.kill(os.getpid(), signal.SIGINT)

    first.trainer.train_step = step_then_interrupt
    first.train(progress=True)  # the one progress bar is drawn from the trainer's callback
    assert first.interrupted and first.step == 20  # stopped after the current step, mid-epoch 2
    assert run.load(first.checkpoint_path)["trainer"]["step"] == 20
    assert signal.getsignal(signal.SIGINT) is not first._on_sigint  # handler restored
    del first

    second = Experiment(cfg, out=tmp_path / "resumed", resume=True, verbose=False)  # new objects
    assert second.step == 20
    second.train(progress=False)
    assert second.step == 48 and not second.interrupted
    assert _series(second.history) == _series(straight.history)  # bit-identical numbers
    for a, b in zip(second.history.snapshots, straight.history.snapshots):
        assert (a["epoch"], a["step"]) == (b["epoch"], b["step"]) and torch.equal(a["images"], b["images"])
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
    exp.cfg = replace(exp.cfg, epochs=2)
    exp.train(progress=False)
    msg = capsys.readouterr().out
    assert exp.diverged is not None and exp.diverged.step == 17
    assert "diverged at step 17" in msg and "smaller learning rate" in msg and "step 16" in msg
    assert (out / "last.pt").read_bytes() == good
    assert len(exp.history) == 16  # the record keeps the good prefix only
    with pytest.raises(RuntimeError, match="resume=True"):
        exp.train(progress=False)
    again = Experiment(RunConfig(epochs=2, **{**SMALL, "log_every": 8}), out=out, resume=True, lr=1e-4, verbose=False)
    assert again.step == 16 and again.trainer.opt_d.param_groups[0]["lr"] == 1e-4


def test_rerunning_a_finished_run_shows_it_again(tmp_path, monkeypatch, capsys):
    """A notebook run twice: the second Experiment finds the finished run, trains nothing, says so
    (with a path relative to the repository), still calls the callback (the dashboard is drawn
    again) and reports the saved run's images/s, never nan."""
    monkeypatch.setattr(config, "REPO_DIR", tmp_path)
    cfg = RunConfig(epochs=1, **SMALL)
    first = Experiment(cfg, out=tmp_path / "runs" / "done", verbose=False)
    assert first.images_per_second == 0.0  # before any training
    first.train(progress=False)
    assert math.isfinite(first.images_per_second) and first.images_per_second > 0
    calls = []
    again = Experiment(cfg, out=tmp_path / "runs" / "done", resume=True)
    again.train(callback=calls.append, progress=False)
    out = capsys.readouterr().out
    assert calls == [again] and again.step == first.step == 16
    assert "runs/done already holds this run" in out and "showing the saved run" in out
    assert str(tmp_path) not in out
    assert again.images_per_second == pytest.approx(16 * 64 / again.train_seconds)


def test_existing_run_needs_resume_and_matching_settings(tmp_path):
    out = tmp_path / "run"
    Experiment(RunConfig(epochs=1, max_steps=4, **SMALL), out=out, verbose=False).train(progress=False)
    with pytest.raises(ValueError, match="resume=True"):
        Experiment(RunConfig(**SMALL), out=out, verbose=False)
    with pytest.raises(ValueError, match="batch_size: saved 64, asked 32"):
        Experiment(RunConfig(**{**SMALL, "batch_size": 32}), out=out, resume=True, verbose=False)
    exp = Experiment(None, out, resume=True, verbose=False, epochs=2)  # no cfg: the saved settings
    assert asdict(exp.cfg) == {**asdict(RunConfig(epochs=1, max_steps=4, **SMALL)), "epochs": 2}


@pytest.mark.parametrize("field, value, words", [
    ("model", "gan", "model='gan'"), ("dataset", "cifar", "dataset='cifar'"), ("epochs", 0, "epochs must be"),
    ("subset", 0, "subset must be"), ("checkpoint_every", 0, "checkpoint_every must be"),
    ("real_label", 0.3, "real_label must be a finite number in"), ("clusters", 1, "clusters must be an int >= 2"),
    ("tf32", 1, "tf32 must be True or False"),
])
def test_bad_run_settings_name_the_parameter(field, value, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace("[", r"\[")):
        RunConfig(**{field: value})


def test_clusters_need_the_dcgan():
    with pytest.raises(ValueError, match=r"model \(with clusters\)='mlp'"):
        RunConfig(model="mlp", clusters=10)


@pytest.mark.parametrize("field, value, words", [
    ("batch_size", 0, "batch_size must be an int >= 1"), ("k", 0, "k must be an int >= 1"),
    ("lr", -1.0, "lr_d must be a finite number > 0"), ("beta1", 1.5, "betas[0] must be"),
    ("g_loss", "wasserstein", "g_loss='wasserstein'"), ("precision", "fp16", "precision='fp16' is not known"),
    ("ema_decay", 1.0, "ema_decay must be a finite number in"), ("z_dim", 0, "z_dim"),
    ("log_every", 0, "log_every must be"), ("subset", 32, "exceeds the 32 training images"),
])
def test_bad_trainer_settings_fail_before_training(tmp_path, field, value, words):
    """What the trainer or the models own, they check, while the Experiment is built: nothing is written."""
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace("[", r"\[")):
        Experiment(RunConfig(**{**SMALL, "subset": 256, field: value}), out=tmp_path / "bad", verbose=False)
    assert not (tmp_path / "bad").exists()


def test_precision_defaults_to_bf16_only_where_it_is_native(tmp_path):
    exp = Experiment(RunConfig(**SMALL), out=tmp_path / "auto", verbose=False)
    assert exp.precision == ("bf16" if config.fast_bf16("cpu") else "fp32") == exp.trainer.precision
    assert Experiment(RunConfig(precision="fp32", **SMALL), out=tmp_path / "fp32",
                      verbose=False).trainer.precision == "fp32"


def test_real_label_reaches_the_discriminator_loss(tmp_path):
    a, b = torch.randn(8, 1), torch.randn(8, 1)
    exp = Experiment(RunConfig(real_label=0.9, **SMALL), out=tmp_path / "ls", verbose=False)
    torch.testing.assert_close(exp.trainer.d_loss_fn(a, b), losses.discriminator_loss(a, b, real_label=0.9))
    exp = Experiment(RunConfig(**SMALL), out=tmp_path / "plain", verbose=False)
    assert exp.trainer.d_loss_fn is losses.discriminator_loss


def test_cluster_run_resumes_exactly_with_its_saved_clusters(tmp_path):
    kw = dict(model="dcgan", subset=256, batch_size=32, width=4, clusters=4, ema_decay=0.9, log_every=4)
    full = Experiment(RunConfig(epochs=2, **kw), out=tmp_path / "full", verbose=False)
    full.train(progress=False)
    part = Experiment(RunConfig(epochs=1, **kw), out=tmp_path / "part", verbose=False)
    part.train(progress=False)
    assert torch.equal(run.load(part.checkpoint_path)["clusters"], part.cluster_labels)
    assert torch.equal(part.G.counts, torch.bincount(part.cluster_labels, minlength=4))
    assert part.G.z_dim == part.fixed_z.shape[1] == 1 + part.cfg.z_dim
    resumed = Experiment(RunConfig(epochs=2, **kw), out=tmp_path / "part", resume=True, verbose=False)
    resumed.train(progress=False)
    for k, v in full.G.state_dict().items():
        assert torch.equal(v, resumed.G.state_dict()[k]), k
    with pytest.raises(ValueError, match="clusters: saved 4, asked 5"):
        Experiment(RunConfig(epochs=3, **{**kw, "clusters": 5}), out=tmp_path / "part", resume=True, verbose=False)


def test_cli_train_and_resume(tmp_path, capsys):
    """``python -m ganlib train`` (a real subprocess once, then in this process: same code, no torch import)."""
    from ganlib.__main__ import main
    out = tmp_path / "cli"
    args = ["train", "mlp", "--subset", "256", "--batch-size", "32", "--log-every", "3", "--out", str(out),
            "--no-progress", "--device", "cpu", "--threads", "1"]
    r = subprocess.run([sys.executable, "-m", "ganlib", *args, "--max-steps", "6", "--ema-decay", "0.99", "--no-tf32"],
                       capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
                       cwd=config.REPO_DIR, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "step 6" in r.stdout and (out / "last.pt").exists()
    saved = run.load(out / "last.pt")
    assert saved["config"]["ema_decay"] == 0.99 and not saved["config"]["tf32"] and "G_ema" in saved["trainer"]
    assert main(args + ["--max-steps", "10", "--resume", "--gif"]) == 0
    doc = json.loads((out / "history.json").read_text())
    assert doc["history"]["step"] == list(range(1, 11)) and doc["config"]["max_steps"] == 10
    assert doc["config"]["ema_decay"] == 0.99  # kept from the saved run
    assert (out / "samples" / "epoch_001.png").exists() and (out / "samples.gif").exists()
    capsys.readouterr()
    assert main(args + ["--max-steps", "12"]) == 2 and "--resume" in capsys.readouterr().out
    assert main(args[:2] + ["--k", "0", "--out", str(tmp_path / "bad")]) == 2
    assert "k must be an int >= 1" in capsys.readouterr().out
