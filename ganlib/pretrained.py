"""Pretrained MNIST generators shipped with the course, so a classroom without a GPU sees results.

Files (in ``data/pretrained/``)::

    <name>_generator.pt    G's weights in half precision + its architecture and how it was trained
    <name>_history.json    the run's History (window means, see ``export``) and settings

Each generator file's SHA-256 is pinned in ``SHA256`` below; ``load_generator`` refuses a file
whose bytes differ (changed, truncated, retrained without updating the pin). Both files are
written by ``export`` from a run's checkpoint::

    python -m ganlib train mlp --epochs 100 --out runs/pretrained-mlp
    python -m ganlib.pretrained export runs/pretrained-mlp mlp    # prints the SHA-256 to pin

``dcgan-clusters`` is a DCGAN run with ``--clusters 50`` (a latent space with a discrete part,
``models.ClusterCodeGenerator``); export it with the name ``dcgan-clusters``.

The generator file holds only tensors and plain values, so it loads with
``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import checkpoint, config, models
from .train import History

FORMAT = "ganlib-pretrained-generator"
#: Where the shipped files live.
PRETRAINED_DIR: Path = config.DATA_DIR / "pretrained"

#: The shipped generators: name -> the model of the run it comes from.
NAMES: dict[str, str] = {"mlp": "mlp", "dcgan": "dcgan", "dcgan-clusters": "dcgan"}

#: SHA-256 of each shipped generator file (data/pretrained/<name>_generator.pt), one entry per model.
SHA256: dict[str, str] = {
    "mlp": "f80683b6917bee0cc3c86e9c2269ec5c36ede0ed1fb852657231d2b2a512d75b",
    "dcgan": "14bb8560ffe9125a776a6ca6afcf7112cbebda4d0f5fb582a74e626625021f66",
    "dcgan-clusters": "746ed9b4a9fac76f53585c3de90d480125ab58ad93f1f6647092a2ce93dede63",
}


class PretrainedError(RuntimeError):
    """A pretrained file is missing, not pinned, or does not match its pinned SHA-256."""


def _check_name(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"name={name!r} is not a pretrained model; use one of {sorted(NAMES)}.")
    return name


def generator_path(name: str) -> Path:
    return PRETRAINED_DIR / f"{_check_name(name)}_generator.pt"


def history_path(name: str) -> Path:
    return PRETRAINED_DIR / f"{_check_name(name)}_history.json"


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified(name: str) -> Path:
    path = generator_path(name)
    if not path.is_file():
        raise PretrainedError(
            f"no pretrained {name!r} generator at {path}. Train one and export it: "
            f"`python -m ganlib train {name} --out runs/pretrained-{name}` then "
            f"`python -m ganlib.pretrained export runs/pretrained-{name} {name}`.")
    want = SHA256.get(name)
    if not want or len(want) != 64:
        raise PretrainedError(f"no SHA-256 is pinned for the {name!r} generator in "
                              f"ganlib.pretrained.SHA256, so {path.name} cannot be verified.")
    got = sha256_file(path)
    if got != want:
        raise PretrainedError(
            f"{path} has SHA-256 {got}, but {want} is pinned (ganlib.pretrained.SHA256[{name!r}]): "
            f"the file is corrupt or was replaced. Restore it from the repository "
            f"(git checkout -- {path.relative_to(config.REPO_DIR) if path.is_relative_to(config.REPO_DIR) else path}).")
    return path


def info(name: str) -> dict[str, Any]:
    """How the shipped generator was trained: epochs, steps, device, seconds, settings."""
    payload = torch.load(_verified(name), map_location="cpu", weights_only=True)
    return {"arch": payload["arch"], **payload["info"]}


def load_generator(name: str = "mlp", device: str | torch.device | None = None) -> nn.Module:
    """The shipped generator ``name`` ('mlp', 'dcgan' or 'dcgan-clusters') in float32 and eval mode on ``device``.

    G maps z (m, z_dim) ~ N(0, I) to images (m, 1, 28, 28) in [-1, 1]; ``G.z_dim`` gives z_dim
    (for 'dcgan-clusters' 101: z_0 picks one of 50 clusters, ``G.code(z)``).
    Raises ``PretrainedError`` if the file is missing or its SHA-256 differs from the pinned one.
    """
    path = _verified(name)
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT or payload.get("model") != name:
        raise PretrainedError(f"{path} is not a ganlib pretrained {name!r} generator.")
    arch = payload["arch"]
    G, _ = models.mnist_pair(NAMES[name], z_dim=arch["z_dim"], width=arch["width"], channels=arch["channels"],
                             clusters=arch.get("clusters"))
    G.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()})
    G.eval()
    return G.to(config.get_device(None if device is None else str(device)))


def load_history(name: str = "mlp") -> tuple[History, dict[str, Any]]:
    """The shipped run's History (means over windows of ``meta['stride']`` steps) and its JSON header."""
    path = history_path(name)
    if not path.is_file():
        raise PretrainedError(f"no history for the pretrained {name!r} generator at {path}.")
    doc = json.loads(path.read_text())
    return History.from_dict({**doc["history"], "snapshots": []}), {k: v for k, v in doc.items() if k != "history"}


def _window_means(values: list[float], stride: int) -> list[float]:
    out = []
    for i in range(0, len(values) - stride + 1, stride):
        out.append(round(sum(values[i:i + stride]) / stride, 5))
    return out


def export(run_dir: str | Path, name: str, out_dir: str | Path | None = None,
           max_points: int = 2000) -> dict[str, Any]:
    """Write ``<name>_generator.pt`` (half precision) and ``<name>_history.json`` from a run's checkpoint.

    The History is reduced to at most ``max_points`` points by averaging windows of
    ``stride`` consecutive steps (the x value is the window's last step). Returns the file paths,
    sizes and the generator's SHA-256 (to pin in ``SHA256``).
    """
    _check_name(name)
    saved = checkpoint.load(Path(run_dir) / checkpoint.LAST)
    cfg, meta, trainer = saved["config"], saved["meta"], saved["trainer"]
    model, k = NAMES[name], cfg.get("clusters")
    if cfg["model"] != model or (k is not None) != name.endswith("-clusters"):
        what = f"{cfg['model']!r}" + (f" with clusters={k}" if k is not None else "")
        raise ValueError(f"{run_dir} holds a {what} run, which is not exported as {name!r}.")
    out = Path(out_dir) if out_dir is not None else PRETRAINED_DIR
    out.mkdir(parents=True, exist_ok=True)
    width = cfg["width"] if cfg["width"] is not None else (256 if model == "mlp" else 64)
    hist = trainer["history"]
    n = len(hist["step"])
    ips = n * cfg["batch_size"] * cfg["k"] / meta["train_seconds"] if meta.get("train_seconds") else None
    payload = {
        "format": FORMAT, "model": name,
        "arch": {"z_dim": cfg["z_dim"], "width": width, "channels": 1, "clusters": k},
        # The averaged generator where the run kept one (cfg.ema_decay): it is what the run sampled.
        "state_dict": {k: (v.half() if v.is_floating_point() else v)
                       for k, v in trainer.get("G_ema", trainer["G"]).items()},
        "info": {"dataset": cfg["dataset"], "epochs": int(meta["epoch"]), "steps": int(trainer["step"]),
                 "batch_size": cfg["batch_size"], "lr": cfg["lr"], "betas": [cfg["beta1"], cfg["beta2"]],
                 "g_loss": cfg["g_loss"], "k": cfg["k"], "seed": cfg["seed"],
                 "ema_decay": cfg.get("ema_decay") if "G_ema" in trainer else None,
                 "d_depth": cfg.get("d_depth", 2) if model == "dcgan" else None, "clusters": k,
                 "precision": meta.get("precision", "fp32"), "device": meta.get("device"),
                 "device_name": meta.get("device_name"), "threads": meta.get("threads"),
                 "train_seconds": meta.get("train_seconds"),
                 "images_per_second": None if ips is None else round(ips, 1),
                 "torch": meta.get("torch")},
    }
    gpath = out / f"{name}_generator.pt"
    checkpoint.atomic_save(payload, gpath)
    stride = max(1, -(-n // max_points))
    small = {"step": [hist["step"][i + stride - 1] for i in range(0, n - stride + 1, stride)]}
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm"):
        small[key] = _window_means(hist[key], stride)
    doc = {"config": cfg, "meta": {**meta, "stride": stride, "note": f"means over windows of {stride} steps"},
           "history": small}
    hpath = out / f"{name}_history.json"
    hpath.write_text(json.dumps(doc, indent=None, separators=(",", ":")))
    return {"generator": str(gpath), "generator_bytes": gpath.stat().st_size, "sha256": sha256_file(gpath),
            "history": str(hpath), "history_bytes": hpath.stat().st_size, "stride": stride}


def main(argv: list[str] | None = None) -> int:
    """``python -m ganlib.pretrained export RUN_DIR NAME [--out DIR]``: write the shipped files."""
    p = argparse.ArgumentParser(prog="python -m ganlib.pretrained")
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="write <name>_generator.pt and <name>_history.json from a run")
    e.add_argument("run_dir")
    e.add_argument("name", choices=sorted(NAMES))
    e.add_argument("--out", default=None, help=f"output folder (default {PRETRAINED_DIR})")
    args = p.parse_args(argv)
    res = export(args.run_dir, args.name, args.out)
    for k, v in res.items():
        print(f"{k}: {v}")
    print(f'pin it: SHA256["{args.name}"] = "{res["sha256"]}" in ganlib/pretrained.py')
    return 0


if __name__ == "__main__":
    sys.exit(main())
