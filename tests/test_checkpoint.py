"""ganlib.checkpoint: atomic writes, the kept previous file, weights_only loading, NaN refusal."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ganlib import checkpoint, models, toy
from ganlib.train import GANTrainer


def _trainer(steps: int = 5, seed: int = 0) -> GANTrainer:
    torch.manual_seed(seed)
    G, D = models.ToyGenerator(1, 1, hidden=8), models.ToyDiscriminator(1, hidden=8)
    tr = GANTrainer(G, D, toy.Sampler(toy.gaussian(1.0, 0.5), seed=seed), batch_size=16, log_every=5, seed=seed)
    tr.run(steps)
    return tr


def _save(path: Path, tr: GANTrainer) -> Path:
    return checkpoint.save(path, tr.state_dict(), {"model": "toy", "lr": 2e-4},
                           fixed_z=torch.zeros(4, 1), meta={"epoch": 0, "device": "cpu"})


def test_round_trip_with_weights_only(tmp_path):
    tr = _trainer()
    tr.history.snapshots.append({"step": 5, "images": torch.arange(6, dtype=torch.uint8)})
    path = _save(tmp_path / "last.pt", tr)
    raw = torch.load(path, weights_only=True)  # the file needs no allow-listed globals
    assert raw["format"] == checkpoint.FORMAT
    payload = checkpoint.load(path)
    fresh = _trainer(steps=0, seed=1)
    fresh.load_state_dict(payload["trainer"])
    assert fresh.step == 5 and fresh.history.d_loss == tr.history.d_loss
    assert torch.equal(fresh.history.snapshots[0]["images"], torch.arange(6, dtype=torch.uint8))
    for a, b in zip(fresh.G.parameters(), tr.G.parameters()):
        assert torch.equal(a, b)


def test_previous_checkpoint_is_kept(tmp_path):
    tr = _trainer()
    path = _save(tmp_path / "last.pt", tr)
    tr.run(3)
    _save(path, tr)
    assert checkpoint.load(path)["trainer"]["step"] == 8
    assert checkpoint.load(checkpoint.backup_path(path))["trainer"]["step"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.prev.pt", "last.pt"]  # no temp files


@pytest.mark.parametrize("where", ["G", "opt_d", "history", "fixed_z"])
def test_checkpoint_with_nan_is_refused(tmp_path, where):
    tr = _trainer()
    path = _save(tmp_path / "last.pt", tr)
    payload = torch.load(path, weights_only=True)
    if where == "G":
        next(iter(payload["trainer"]["G"].values())).view(-1)[0] = float("nan")
    elif where == "opt_d":
        state = payload["trainer"]["opt_d"]["state"]
        next(iter(state.values()))["exp_avg"].view(-1)[0] = float("inf")
    elif where == "history":
        payload["trainer"]["history"]["g_loss"][2] = math.nan
    else:
        payload["fixed_z"][1, 0] = float("-inf")
    torch.save(payload, path)  # bypasses save()'s own check, as a corrupt or foreign file would
    with pytest.raises(checkpoint.CheckpointError, match="NaN or infinite") as err:
        checkpoint.load(path)
    assert where in str(err.value)


def test_save_refuses_a_diverged_state_and_keeps_the_old_file(tmp_path):
    tr = _trainer()
    path = _save(tmp_path / "last.pt", tr)
    before = path.read_bytes()
    with torch.no_grad():
        next(tr.D.parameters()).view(-1)[0] = float("nan")
    with pytest.raises(checkpoint.CheckpointError, match="NaN or infinite"):
        _save(path, tr)
    assert path.read_bytes() == before
    assert not checkpoint.backup_path(path).exists()  # a refused save does not rotate files


def test_failed_write_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    tr = _trainer()
    path = _save(tmp_path / "last.pt", tr)
    before = path.read_bytes()
    real_save = torch.save

    def disk_full(obj, f, *args, **kwargs):
        f.write(b"partial bytes")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint.torch, "save", disk_full)
    tr.run(2)
    with pytest.raises(OSError, match="No space"):
        _save(path, tr)
    monkeypatch.setattr(checkpoint.torch, "save", real_save)
    assert path.read_bytes() == before
    assert checkpoint.load(path)["trainer"]["step"] == 5
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_truncated_file_falls_back_to_previous(tmp_path, capsys):
    tr = _trainer()
    path = _save(tmp_path / "last.pt", tr)
    tr.run(1)
    _save(path, tr)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(checkpoint.CheckpointError, match="cannot read"):
        checkpoint.load(path)
    payload = checkpoint.load_latest(tmp_path)
    assert payload["trainer"]["step"] == 5
    assert "Falling back" in capsys.readouterr().out


def test_foreign_or_unsafe_content_is_refused(tmp_path):
    torch.save({"weights": torch.ones(2)}, tmp_path / "other.pt")
    with pytest.raises(checkpoint.CheckpointError, match="not a ganlib checkpoint"):
        checkpoint.load(tmp_path / "other.pt")
    with pytest.raises(checkpoint.CheckpointError, match="weights_only"):
        checkpoint.save(tmp_path / "x.pt", _trainer().state_dict(), {"torch": torch.__version__})
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint"):
        checkpoint.load(tmp_path / "missing.pt")
    assert checkpoint.load_latest(tmp_path / "empty") is None
