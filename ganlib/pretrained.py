"""Pretrained MNIST generators shipped with the course, so a classroom without a GPU sees results.

``data/pretrained/<name>_generator.pt``: G's weights in half precision, its architecture and how it was trained
(loads with ``weights_only=True``), its SHA-256 pinned in ``SHA256``; ``<name>_history.json``: the run's History
(window means) and settings. Both come from a run's checkpoint (``dcgan-clusters``: ``--clusters 50``)::

    python -m ganlib train mlp --epochs 100 --out runs/pretrained-mlp
    python -m ganlib.pretrained export runs/pretrained-mlp mlp    # prints the SHA-256 to pin
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import config, files, models
from .train import History

FORMAT = "ganlib-pretrained-generator"
#: Where the shipped files live.
PRETRAINED_DIR: Path = config.DATA_DIR / "pretrained"
#: The shipped generators: name -> the model of the run it comes from.
NAMES: dict[str, str] = {"mlp": "mlp", "dcgan": "dcgan", "dcgan-clusters": "dcgan"}
#: SHA-256 of each shipped generator file (data/pretrained/<name>_generator.pt).
SHA256: dict[str, str] = {
    "mlp": "f80683b6917bee0cc3c86e9c2269ec5c36ede0ed1fb852657231d2b2a512d75b",
    "dcgan": "14bb8560ffe9125a776a6ca6afcf7112cbebda4d0f5fb582a74e626625021f66",
    "dcgan-clusters": "746ed9b4a9fac76f53585c3de90d480125ab58ad93f1f6647092a2ce93dede63",
}


class PretrainedError(RuntimeError):
    """A pretrained file is missing, not pinned, or does not match its pinned SHA-256."""


def generator_path(name: str, kind: str = "generator.pt") -> Path:
    """``data/pretrained/<name>_generator.pt`` (or ``_history.json`` for kind='history.json')."""
    return PRETRAINED_DIR / f"{config.check_choice('name', name, sorted(NAMES))}_{kind}"


def _verified(name: str) -> dict[str, Any]:
    """The payload of the generator file ``name``, after its bytes matched the pinned SHA-256."""
    path = generator_path(name)
    if not path.is_file():
        raise PretrainedError(f"no pretrained {name!r} generator at {config.display_path(path)}; restore it from the "
                              f"repository or export a run (`python -m ganlib.pretrained export RUN_DIR {name}`).")
    want, got = SHA256.get(name, ""), files.sha256_file(path)
    if got != want:
        raise PretrainedError(f"{config.display_path(path)} has SHA-256 {got}, not the pinned {want or 'nothing'} "
                              f"(SHA256[{name!r}]): it is corrupt or was replaced; restore it from the repository.")
    return torch.load(path, map_location="cpu", weights_only=True)  # the pinned bytes: the format is known


def info(name: str) -> dict[str, Any]:
    """How the shipped generator was trained: epochs, steps, device, seconds, settings (and its ``arch``)."""
    payload = _verified(name)
    return {"arch": payload["arch"], **payload["info"]}


def load_generator(name: str = "mlp", device: str | torch.device | None = None) -> nn.Module:
    """The shipped generator ``name`` ('mlp', 'dcgan' or 'dcgan-clusters') in float32 and eval mode on ``device``.

    G maps z (m, z_dim) ~ N(0, I) to images (m, 1, 28, 28) in [-1, 1] (``G.z_dim``: 101 for 'dcgan-clusters',
    z_0 picks one of 50 clusters, ``G.code(z)``). ``PretrainedError`` if the file is missing or not the pinned one.
    """
    payload = _verified(name)
    arch = payload["arch"]
    G, _ = models.mnist_pair(NAMES[name], z_dim=arch["z_dim"], width=arch["width"], channels=arch["channels"],
                             clusters=arch.get("clusters"))
    G.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()})
    return G.eval().to(config.get_device(None if device is None else str(device)))


def load_history(name: str = "mlp") -> tuple[History, dict[str, Any]]:
    """The shipped run's History (means over windows of ``meta['stride']`` steps) and its JSON header."""
    doc = json.loads(generator_path(name, "history.json").read_text())
    return History.from_dict({**doc["history"], "snapshots": []}), {k: v for k, v in doc.items() if k != "history"}


def export(run_dir: str | Path, name: str, out_dir: str | Path | None = None, max_points: int = 2000) -> dict[str, Any]:
    """Write ``<name>_generator.pt`` (half precision) and ``<name>_history.json`` from a run's checkpoint.

    The generator is the run's averaged G where it kept one (``ema_decay``: what it sampled). The History is cut
    to at most ``max_points`` means of ``stride`` consecutive steps (x: the window's last step). Returns the
    paths, sizes and the generator's SHA-256 (to pin in ``SHA256``).
    """
    from .run import LAST, load
    config.check_choice("name", name, sorted(NAMES))
    saved = load(Path(run_dir) / LAST)
    cfg, meta, trainer = saved["config"], saved["meta"], saved["trainer"]
    k, n, hist = cfg["clusters"], int(trainer["step"]), trainer["history"]
    if cfg["model"] != NAMES[name] or (k is not None) != name.endswith("-clusters"):
        raise ValueError(f"{run_dir} holds a {cfg['model']!r} run (clusters={k}): not exported as {name!r}.")
    out = Path(out_dir) if out_dir is not None else PRETRAINED_DIR
    payload = {
        "format": FORMAT, "model": name,
        "arch": {"z_dim": cfg["z_dim"], "width": cfg["width"] or (256 if cfg["model"] == "mlp" else 64),
                 "channels": 1, "clusters": k},
        "state_dict": {key: v.half() if v.is_floating_point() else v
                       for key, v in trainer.get("G_ema", trainer["G"]).items()},
        "info": {**{key: cfg[key] for key in ("dataset", "batch_size", "lr", "g_loss", "k", "seed", "clusters")},
                 **{key: meta[key] for key in ("precision", "device", "device_name", "threads", "torch")},
                 "epochs": int(meta["epoch"]), "steps": n, "betas": [cfg["beta1"], cfg["beta2"]],
                 "ema_decay": cfg["ema_decay"] if "G_ema" in trainer else None, "train_seconds": meta["train_seconds"],
                 "d_depth": cfg["d_depth"] if cfg["model"] == "dcgan" else None,
                 "images_per_second": round(n * cfg["batch_size"] * cfg["k"] / meta["train_seconds"], 1)},
    }
    gpath = files.atomic_save(payload, out / f"{name}_generator.pt")
    stride = max(1, -(-n // max_points))
    ends = range(stride - 1, n, stride)  # the last step of each full window
    small = {key: [round(sum(hist[key][i - stride + 1:i + 1]) / stride, 5) for i in ends]
             for key in ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm")}
    doc = {"config": cfg, "meta": {**meta, "stride": stride, "note": f"means over windows of {stride} steps"},
           "history": {"step": [hist["step"][i] for i in ends], **small}}
    text = json.dumps(doc, separators=(",", ":"))
    hpath = files.atomic_write(out / f"{name}_history.json", lambda f: f.write(text.encode()))
    return {"generator": str(gpath), "generator_bytes": gpath.stat().st_size, "sha256": files.sha256_file(gpath),
            "history": str(hpath), "history_bytes": hpath.stat().st_size, "stride": stride}


def main(argv: list[str] | None = None) -> int:
    """``python -m ganlib.pretrained export RUN_DIR NAME [--out DIR]``: write the shipped files."""
    p = argparse.ArgumentParser(prog="python -m ganlib.pretrained")
    e = p.add_subparsers(dest="cmd", required=True).add_parser("export", help="write the two files from a run")
    e.add_argument("run_dir")
    e.add_argument("name", choices=sorted(NAMES))
    e.add_argument("--out", default=None, help="output folder (default data/pretrained)")
    args = p.parse_args(argv)
    res = export(args.run_dir, args.name, args.out)
    for key, v in res.items():
        print(f"{key}: {v}")
    print(f'pin it: SHA256["{args.name}"] = "{res["sha256"]}" in ganlib/pretrained.py')
    return 0


if __name__ == "__main__":
    sys.exit(main())
