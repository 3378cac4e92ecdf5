"""Shipped pretrained generators: they load, produce images, are pinned by SHA-256 and stay small."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from ganlib import pretrained

NAMES = ("mlp", "dcgan", "dcgan-clusters")


@pytest.mark.parametrize("name", NAMES)
def test_shipped_generator_loads_and_samples(name: str) -> None:
    G = pretrained.load_generator(name, device="cpu")
    torch.manual_seed(0)
    m = 16
    with torch.no_grad():
        x = G(torch.randn(m, G.z_dim))
    assert x.shape == (m, 1, 28, 28)
    assert torch.isfinite(x).all()
    assert x.min() >= -1.0 and x.max() <= 1.0
    # a trained generator does not output a constant image: samples differ from each other
    assert x.std(dim=0).mean() > 0.05


@pytest.mark.parametrize("name", NAMES)
def test_tampered_generator_is_refused(name: str, tmp_path, monkeypatch) -> None:
    src = pretrained.generator_path(name)
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    raw = bytearray(dst.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # flip one bit in the middle of the weights
    dst.write_bytes(bytes(raw))
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    with pytest.raises(pretrained.PretrainedError, match="SHA-256"):
        pretrained.load_generator(name, device="cpu")


def test_missing_generator_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    with pytest.raises(pretrained.PretrainedError, match="no pretrained"):
        pretrained.load_generator("mlp", device="cpu")


def test_unknown_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="name="):
        pretrained.load_generator("resnet")


def test_shipped_files_are_small() -> None:
    files = sorted(pretrained.PRETRAINED_DIR.glob("*_generator.pt"))
    assert {f.name for f in files} >= {f"{n}_generator.pt" for n in NAMES}
    total = sum(f.stat().st_size for f in files)
    assert total <= 10 * 1024 * 1024, f"shipped generators take {total / 2**20:.1f} MiB > 10 MiB"


@pytest.mark.parametrize("name", NAMES)
def test_shipped_history_loads(name: str) -> None:
    hist, meta = pretrained.load_history(name)
    assert len(hist.step) > 10 and len(hist.d_loss) == len(hist.step)
    assert meta["config"]["model"] == pretrained.NAMES[name]
    assert (meta["config"].get("clusters") is not None) == name.endswith("-clusters")


def test_export_ships_the_averaged_generator(tmp_path, one_thread) -> None:
    """A run that keeps G_ema (ema_decay) exports the average, in half precision, and it loads."""
    from ganlib import run
    exp = run.Experiment(run.RunConfig(model="dcgan", epochs=1, subset=256, batch_size=32, width=8, ema_decay=0.9,
                                       log_every=4), out=tmp_path / "run", verbose=False)
    exp.train(progress=False)
    res = pretrained.export(tmp_path / "run", "dcgan", out_dir=tmp_path / "shipped", max_points=3)
    doc = json.loads(Path(res["history"]).read_text())  # 8 steps -> windows of 3: steps 1-3 and 4-6
    assert res["stride"] == doc["meta"]["stride"] == 3 and doc["history"]["step"] == [3, 6]
    assert doc["history"]["d_loss"][1] == pytest.approx(sum(exp.history.d_loss[3:6]) / 3, abs=1e-5)
    payload = torch.load(res["generator"], map_location="cpu", weights_only=True)
    assert payload["info"]["ema_decay"] == 0.9 and payload["arch"]["width"] == 8
    ema = exp.trainer.G_ema.state_dict()
    for k, v in payload["state_dict"].items():
        want = ema[k].half() if ema[k].is_floating_point() else ema[k]
        assert torch.equal(v, want), k
    assert any(not torch.equal(payload["state_dict"][k], v.half()) for k, v in exp.G.state_dict().items()
               if v.is_floating_point())


def test_shipped_cluster_generator_draws_each_group_as_often_as_the_data():
    G = pretrained.load_generator("dcgan-clusters", device="cpu")
    info = pretrained.info("dcgan-clusters")
    assert info["arch"]["clusters"] == G.n_codes == 50 and G.z_dim == 101
    assert int(G.counts.sum()) == 60_000  # one count per training image
    z = torch.randn(20_000, G.z_dim, generator=torch.Generator().manual_seed(0))
    share = torch.bincount(G.code(z), minlength=50).double() / z.shape[0]
    assert torch.allclose(share, G.counts.double() / 60_000, atol=0.006)


def test_export_refuses_a_run_under_the_wrong_name(tmp_path, one_thread) -> None:
    from ganlib import run
    exp = run.Experiment(run.RunConfig(model="dcgan", epochs=1, subset=64, batch_size=32, width=4, log_every=2),
                         out=tmp_path / "run", verbose=False)
    exp.train(progress=False)
    with pytest.raises(ValueError, match="not exported as 'dcgan-clusters'"):
        pretrained.export(tmp_path / "run", "dcgan-clusters", out_dir=tmp_path / "shipped")
    with pytest.raises(ValueError, match="not exported as 'mlp'"):
        pretrained.export(tmp_path / "run", "mlp", out_dir=tmp_path / "shipped")
