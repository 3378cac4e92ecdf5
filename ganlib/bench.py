"""``python -m ganlib bench``: how fast this machine trains the course's GANs.

Measured on one device (``config.get_device()`` or ``--device``), in groups chosen by ``--only``:

* ``mlp`` / ``dcgan``: one iteration of Algorithm 1 (k = 1: a D step and a G step) through
  ``train.GANTrainer`` for the MLP pair (batch 512) or the DCGAN (batch 128), fed by a
  ``data.DeviceBatches`` over synthetic uint8 images of MNIST's shape (no dataset needed). Where
  ``config.fast_bf16`` holds, again under bf16 autocast (what ``python -m ganlib train`` uses
  there); the CPU DCGAN also channels_last; the MLP step also as a plain loop (what History costs);
* ``toy``: generator steps/s of a 1-D ``GANTrainer`` (batch 64, CPU), the loop of notebooks 01-04;
* ``presets``: seconds of each mode-collapse preset of notebook 04 (``widgets.run_preset``).

GAN figures are images/s (real images through D per second), steps/s and seconds per 60,000-image
epoch: the median of timed repeats after a warm-up. The variants of a group are timed in turn,
repeat by repeat, so that load from other programs hits all of them; a CUDA device is synchronised
only at the ends of a repeat. ``--quick`` is a smoke run (numbers not meaningful).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Any, Callable

import torch
import torch.nn.functional as F

from . import config, data, files, models, toy
from .train import GANTrainer

EPOCH_IMAGES = 60_000
GROUPS = ("mlp", "dcgan", "toy", "presets")
Setup = tuple[str, Callable[[int], Any]]  # (label, run(n): n training iterations)
#: (timed steps per repeat, warm-up steps) of each GAN on an accelerator (True) and on the CPU.
STEPS = {("mlp", True): (400, 50), ("mlp", False): (60, 10), ("dcgan", True): (100, 50), ("dcgan", False): (6, 3)}


def interleaved(fns: list[Callable[[int], Any]], device: torch.device, steps: int, repeats: int,
                warmup: int) -> list[list[float]]:
    """Seconds of ``fn(steps)`` per repeat for each fn, timed a, b, a, b, ... after ``fn(warmup)`` of each."""
    for fn in fns:
        fn(warmup)
    sync = getattr(torch, device.type).synchronize if device.type in ("cuda", "mps") else (lambda: None)
    sync()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, times):
            t0 = time.perf_counter()
            fn(steps)
            sync()
            t.append(time.perf_counter() - t0)
    return times


def synthetic_batches(device: torch.device, n: int = EPOCH_IMAGES, seed: int = 0) -> data.DeviceBatches:
    """``DeviceBatches`` over n random uint8 images (n, 1, 28, 28): MNIST's shape and dtype, no download."""
    images = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))
    return data.DeviceBatches(images, device=device, seed=seed)


def _result(name: str, batch: int, times: list[float], steps: int, **extra: Any) -> dict[str, Any]:
    ips = [batch * steps / t for t in times]
    med = statistics.median(ips)
    return {"name": name, "batch_size": batch, "steps_per_repeat": steps, "repeats": len(times),
            "images_per_s": med, "images_per_s_min": min(ips), "images_per_s_max": max(ips),
            "seconds_per_epoch": EPOCH_IMAGES / med, "steps_per_s": med / batch, **extra}


def _pair(model: str, device: torch.device, channels_last: bool = False) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    G, D = models.mnist_pair(model)
    return G.to(device, memory_format=fmt), D.to(device, memory_format=fmt)


def trainer_setup(model: str, device: torch.device, batch_size: int, log_every: int, channels_last: bool = False,
                  n_images: int = EPOCH_IMAGES, precision: str = "fp32") -> Setup:
    """(label, run(n)) for ``GANTrainer`` iterations of ``model`` on synthetic data."""
    G, D = _pair(model, device, channels_last)
    trainer = GANTrainer(G, D, synthetic_batches(device, max(n_images, batch_size)), batch_size=batch_size,
                         log_every=log_every, precision=precision)
    label = f"{model} GAN step (GANTrainer)" + (", channels_last" if channels_last else "") + \
        (", bf16 autocast" if precision == "bf16" else "")
    return label, trainer.run


def plain_mlp_setup(device: torch.device, batch_size: int, n_images: int = EPOCH_IMAGES) -> Setup:
    """(label, run(n)) for the MLP step written out: BCE on logits, ``.detach()``, Adam; no bookkeeping."""
    G, D = _pair("mlp", device)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batches = synthetic_batches(device, max(n_images, batch_size))
    ones, zeros = torch.ones(batch_size, 1, device=device), torch.zeros(batch_size, 1, device=device)

    bce = F.binary_cross_entropy_with_logits

    def update(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def run(n: int) -> None:
        for _ in range(n):
            fake = G(torch.randn(batch_size, G.z_dim, device=device)).detach()
            update(opt_d, bce(D(batches(batch_size)), ones) + bce(D(fake), zeros))
            update(opt_g, bce(D(G(torch.randn(batch_size, G.z_dim, device=device))), ones))

    return "mlp GAN step (plain loop, reference)", run


def bench_toy(steps: int, repeats: int) -> dict[str, Any]:
    """Generator steps/s of a 1-D toy GANTrainer run (small MLPs, batch 64) on the CPU."""
    torch.manual_seed(0)
    trainer = GANTrainer(models.ToyGenerator(1, 1), models.ToyDiscriminator(1),
                         toy.Sampler(toy.gaussian(2.0, 0.5), seed=0), batch_size=64, log_every=100)
    med = statistics.median(interleaved([trainer.run], torch.device("cpu"), steps, repeats, min(100, steps))[0])
    return {"name": "1-D toy GANTrainer loop (CPU, batch 64)", "steps_per_repeat": steps, "repeats": repeats,
            "steps_per_s": steps / med, "seconds_per_5000_steps": 5000 * med / steps}


def bench_presets(quick: bool) -> list[dict[str, Any]]:
    """Seconds of each preset of ``widgets.run_preset`` (quick: the first, 200 steps); skipped if unavailable."""
    try:
        from .widgets import PRESETS, run_preset
        out = []
        for name in list(PRESETS)[:1] if quick else list(PRESETS):
            t0 = time.perf_counter()
            run_preset(name, **({"steps": 200} if quick else {}))
            out.append({"name": f"widgets.run_preset({name!r})", "seconds": time.perf_counter() - t0})
        return out
    except Exception as exc:  # noqa: BLE001 - an optional part that fails must not stop the GAN figures
        return [{"name": "widgets.run_preset", "skipped": f"{type(exc).__name__}: {exc}"}]


def run(device: str | torch.device | None = None, quick: bool = False, mlp_batch: int = 512, dcgan_batch: int = 128,
        repeats: int | None = None, only: tuple[str, ...] = GROUPS) -> dict[str, Any]:
    """Run the measurements of the groups in ``only``; returns {'device': ..., 'results': [...]}."""
    for name in only or [""]:  # an empty selection is refused like an unknown group
        config.check_choice("only", name, GROUPS)
    config.check_int("mlp_batch", mlp_batch)
    config.check_int("dcgan_batch", dcgan_batch)
    dev = config.get_device(None if device is None else str(device))
    if dev.type == "cuda":  # TF32 matmuls and convolutions, as training uses
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    fast = dev.type != "cpu"
    r = config.check_int("repeats", repeats) if repeats is not None else (2 if quick else 5)
    n = 4096 if quick else EPOCH_IMAGES
    bf16 = ["bf16"] if config.fast_bf16(dev) else []
    results: list[dict[str, Any]] = []
    for model, batch in (("mlp", mlp_batch), ("dcgan", dcgan_batch)):
        if model not in only:
            continue
        steps, warm = (1, 1) if quick else STEPS[model, fast]
        nhwc = model == "dcgan" and dev.type == "cpu"  # the layout training uses there
        # (channels_last, precision): float32 (the CPU DCGAN in both layouts), then bf16 where it is fast.
        variants = [(False, "fp32")] + ([(True, "fp32")] if nhwc else []) + [(nhwc, p) for p in bf16]
        setups = [trainer_setup(model, dev, batch, max(steps, warm), cl, n, p) for cl, p in variants]
        keys = [{"model": model, "channels_last": cl, "precision": p} for cl, p in variants]
        if model == "mlp":
            setups.insert(1, plain_mlp_setup(dev, batch, n))
            keys.insert(1, {"model": "mlp", "channels_last": False, "precision": "fp32", "reference": True})
        times = interleaved([fn for _, fn in setups], dev, steps, r, warm)
        results += [_result(label, batch, t, steps, **k) for (label, _), t, k in zip(setups, times, keys)]
    if "toy" in only:
        results.append(bench_toy(30 if quick else 1000, r))
    if "presets" in only:
        results += bench_presets(quick)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or platform.machine()
    return {"device": str(dev), "device_name": name, "threads": torch.get_num_threads(),
            "torch": str(torch.__version__), "quick": quick, "only": list(only), "results": results}


def format_results(res: dict[str, Any]) -> str:
    """A plain-text table of ``run``'s results."""
    lines = [f"ganlib bench on {res['device']} ({res['device_name']}, {res['threads']} threads, "
             f"torch {res['torch']}){' [quick: smoke run, numbers not meaningful]' if res['quick'] else ''}"]
    for r in res["results"]:
        if "skipped" in r:
            what = f"skipped ({r['skipped']})"
        elif "images_per_s" in r:
            what = (f"batch {r['batch_size']:>4}: {r['images_per_s']:>11,.0f} images/s (min {r['images_per_s_min']:,.0f}, "
                    f"max {r['images_per_s_max']:,.0f}), {r['steps_per_s']:,.1f} steps/s, "
                    f"{r['seconds_per_epoch']:.3g} s per 60,000-image epoch")
        elif "seconds_per_5000_steps" in r:
            what = f"{r['steps_per_s']:>11,.0f} steps/s ({r['seconds_per_5000_steps']:.2f} s per 5,000 steps)"
        else:
            what = f"{r['seconds']:.2f} s"
        lines.append(f"  {r['name']:<60} {what}")
    return "\n".join(lines)


def cli_add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m ganlib bench``."""
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    parser.add_argument("--quick", action="store_true", help="smoke run: a few steps, numbers not meaningful")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--only", default=",".join(GROUPS), metavar="GROUPS",
                        help=f"comma-separated groups to measure, from {','.join(GROUPS)} (default: all)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per figure (default 5)")
    parser.add_argument("--mlp-batch", type=int, default=512, help="MLP batch size (default 512)")
    parser.add_argument("--dcgan-batch", type=int, default=128, help="DCGAN batch size (default 128)")


def cli_run(args: argparse.Namespace) -> int:
    """Measure, print the table and optionally write JSON; exit status 2 for bad arguments."""
    try:
        if args.threads is not None:
            torch.set_num_threads(config.check_int("threads", args.threads))
        res = run(args.device, quick=args.quick, mlp_batch=args.mlp_batch, dcgan_batch=args.dcgan_batch,
                  repeats=args.repeats, only=tuple(g.strip() for g in args.only.split(",") if g.strip()))
    except ValueError as err:
        print(f"error: {err}")
        return 2
    print(format_results(res), flush=True)
    if args.json:
        print(f"wrote {files.atomic_write(args.json, lambda f: f.write(json.dumps(res, indent=1).encode()))}")
    return 0
