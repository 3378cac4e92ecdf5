"""``python -m ganlib bench``: how fast this machine trains the course's GANs.

Measured on the current device (``config.get_device()`` or ``--device``):

* one training iteration of Algorithm 1 (k = 1: a D step and a G step) through the course's own
  ``GANTrainer``, for the MLP pair of seed 002 (batch 512) and the DCGAN (batch 128), fed by a
  ``data.DeviceBatches`` over synthetic uint8 images of MNIST's shape (60,000 x 1 x 28 x 28), so
  no dataset is needed and the cost of drawing batches is the real one. Reported as images/s
  (real images through D per second) and seconds per 60,000-image epoch; warm-up steps are
  excluded, each figure is the median of several timed repeats, and on CUDA the device is
  synchronised only at the ends of a repeat;
* for comparison, the same MLP step written as seed 002's plain loop (no History, no gradient
  norm), which shows what the trainer's bookkeeping costs;
* the DCGAN on the CPU with and without channels_last;
* where the device computes bfloat16 natively (``config.fast_bf16``: AMX / AVX512-BF16 CPUs,
  A100-class GPUs and newer), both GANs again with bf16 autocast (``GANTrainer(precision='bf16')``),
  which is what ``python -m ganlib train`` uses there by default
  (each compared group is timed in alternating repeats, so load from other programs hits all);
* the 1-D toy loop: generator steps/s of a 1-D GANTrainer run, and the time of the Figure-1 run
  of ``ganlib.toyrun.run_figure1`` and of every mode-collapse preset of ``ganlib.widgets.run_preset``
  (as the explorer runs them) when those modules exist (otherwise the line says it was skipped and why).

Speed targets are checked here, never in timed tests. ``--quick`` is a smoke run (few steps,
numbers not meaningful); ``--json PATH`` saves the results.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from . import config, data, models
from .train import GANTrainer

EPOCH_IMAGES = 60_000


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _timed_repeats(step: Callable[[int], None], device: torch.device, steps: int, repeats: int,
                   warmup: int) -> list[float]:
    """Seconds of ``step(steps)`` for each repeat, after ``step(warmup)``."""
    return _interleaved([step], device, steps, repeats, warmup)[0]


def _interleaved(fns: list[Callable[[int], None]], device: torch.device, steps: int, repeats: int,
                 warmup: int) -> list[list[float]]:
    """Time several step functions repeat by repeat (a, b, a, b, ...), after a warm-up of each.

    Alternating makes a comparison fair on a shared machine: a burst of load from elsewhere hits
    every candidate, not just whichever happened to run at that moment.
    """
    for fn in fns:
        fn(warmup)
    _sync(device)
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, times):
            t0 = time.perf_counter()
            fn(steps)
            _sync(device)
            t.append(time.perf_counter() - t0)
    return times


def synthetic_batches(device: torch.device, n: int = EPOCH_IMAGES, seed: int = 0) -> data.DeviceBatches:
    """``DeviceBatches`` over n random uint8 images (n, 1, 28, 28): MNIST's shape and dtype, no download."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g)
    return data.DeviceBatches(images, device=device, seed=seed)


def _result(name: str, batch: int, times: list[float], steps: int, **extra: Any) -> dict[str, Any]:
    ips = [batch * steps / t for t in times]
    med = statistics.median(ips)
    return {"name": name, "batch_size": batch, "steps_per_repeat": steps, "repeats": len(times),
            "images_per_s": med, "images_per_s_min": min(ips), "images_per_s_max": max(ips),
            "seconds_per_epoch": EPOCH_IMAGES / med, "steps_per_s": med / batch, **extra}


def bench_trainer(model: str, device: torch.device, batch_size: int, steps: int, repeats: int,
                  warmup: int, channels_last: bool = False, n_images: int = EPOCH_IMAGES,
                  precision: str = "fp32") -> dict[str, Any]:
    """Images/s of ``GANTrainer`` iterations (k = 1) for ``model`` on synthetic MNIST-shaped data."""
    label, fn = trainer_setup(model, device, batch_size, max(steps, warmup, 1), channels_last, n_images, precision)
    times = _timed_repeats(fn, device, steps, repeats, warmup)
    return _result(label, batch_size, times, steps, model=model, channels_last=channels_last, precision=precision)


def trainer_setup(model: str, device: torch.device, batch_size: int, log_every: int,
                  channels_last: bool = False, n_images: int = EPOCH_IMAGES,
                  precision: str = "fp32") -> tuple[str, Callable[[int], Any]]:
    """(label, run(n)) for ``GANTrainer`` iterations of ``model`` on synthetic data."""
    torch.manual_seed(0)
    G, D = models.mnist_pair(model)
    G.to(device)
    D.to(device)
    if channels_last:
        G.to(memory_format=torch.channels_last)
        D.to(memory_format=torch.channels_last)
    trainer = GANTrainer(G, D, synthetic_batches(device, max(n_images, batch_size)), batch_size=batch_size,
                         log_every=log_every, precision=precision)
    label = f"{model} GAN step (GANTrainer)" + (", channels_last" if channels_last else "") + \
        (", bf16 autocast" if precision == "bf16" else "")
    return label, lambda n: trainer.run(n)


def bench_plain_mlp(device: torch.device, batch_size: int, steps: int, repeats: int, warmup: int,
                    n_images: int = EPOCH_IMAGES) -> dict[str, Any]:
    """Seed 002's MLP loop written out (BCE on logits, .detach(), no bookkeeping): the reference."""
    label, fn = plain_mlp_setup(device, batch_size, n_images)
    return _result(label, batch_size, _timed_repeats(fn, device, steps, repeats, warmup), steps, model="mlp")


def plain_mlp_setup(device: torch.device, batch_size: int, n_images: int = EPOCH_IMAGES) -> tuple[str, Callable[[int], Any]]:
    """(label, run(n)) for seed 002's MLP loop written out, without the trainer's bookkeeping."""
    torch.manual_seed(0)
    G, D = models.mnist_pair("mlp")
    G.to(device)
    D.to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batches = synthetic_batches(device, max(n_images, batch_size))
    ones = torch.ones(batch_size, 1, device=device)
    zeros = torch.zeros(batch_size, 1, device=device)

    def run(n: int) -> None:
        for _ in range(n):
            real = batches(batch_size)
            fake = G(torch.randn(batch_size, 100, device=device)).detach()
            loss_d = F.binary_cross_entropy_with_logits(D(real), ones) + \
                F.binary_cross_entropy_with_logits(D(fake), zeros)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            loss_g = F.binary_cross_entropy_with_logits(D(G(torch.randn(batch_size, 100, device=device))), ones)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

    return "mlp GAN step (plain seed-002 loop, reference)", run


def bench_toy(device: torch.device, steps: int, repeats: int) -> dict[str, Any]:
    """Generator steps/s of a 1-D toy GANTrainer run (small MLPs, batch 64) on the CPU."""
    from . import toy

    cpu = torch.device("cpu")
    torch.manual_seed(0)
    G, D = models.ToyGenerator(1, 1), models.ToyDiscriminator(1)
    trainer = GANTrainer(G, D, toy.Sampler(toy.gaussian(2.0, 0.5), seed=0), batch_size=64, log_every=100)
    times = _timed_repeats(lambda n: trainer.run(n), cpu, steps, repeats, min(100, steps))
    med = statistics.median(times)
    return {"name": "1-D toy GANTrainer loop (CPU, batch 64)", "steps_per_repeat": steps,
            "repeats": repeats, "steps_per_s": steps / med, "seconds_per_5000_steps": 5000 * med / steps}


def _optional(name: str, attr: str, call: Callable[[Any], Any]) -> dict[str, Any]:
    """Time ``call(getattr(module, attr))`` once, or say why it was skipped."""
    import importlib

    try:
        fn = getattr(importlib.import_module(f"ganlib.{name}"), attr)
    except (ImportError, AttributeError) as exc:
        return {"name": f"ganlib.{name}.{attr}", "skipped": f"{type(exc).__name__}: {exc}"}
    t0 = time.perf_counter()
    try:
        what = call(fn)
    except Exception as exc:  # noqa: BLE001 - a broken optional part must not stop the bench
        return {"name": f"ganlib.{name}.{attr}", "skipped": f"it raised {type(exc).__name__}: {exc}"}
    return {"name": f"ganlib.{name}.{attr}({what})", "seconds": time.perf_counter() - t0}


def _has(name: str, attr: str) -> bool:
    """Whether ``ganlib.<name>.<attr>`` exists (without running it)."""
    import importlib

    try:
        return hasattr(importlib.import_module(f"ganlib.{name}"), attr)
    except ImportError:
        return False


def preset_names() -> list[str]:
    """The names of ``ganlib.widgets.PRESETS`` (AttributeError if there are none)."""
    from . import widgets  # type: ignore[attr-defined]

    names = list(getattr(widgets, "PRESETS", None) or [])
    if not names:
        raise AttributeError("ganlib.widgets has no PRESETS to pick a preset name from")
    return names


def _run_preset(run_preset: Callable[..., Any], name: str, steps: int | None = None) -> str:
    """Run one preset of the explorer (``steps`` None: its own length); returns what ran, for the label."""
    if steps is None:
        run_preset(name)
        return repr(name)
    run_preset(name, steps=steps)
    return f"{name!r}, steps={steps}"


def run(device: str | torch.device | None = None, quick: bool = False, mlp_batch: int = 512,
        dcgan_batch: int = 128, repeats: int | None = None, extras: bool = True) -> dict[str, Any]:
    """Run every measurement; returns {'device': ..., 'results': [...]} (see the module docstring)."""
    dev = config.get_device(None if device is None else str(device))
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # as training does (experiment.py)
        torch.backends.cudnn.allow_tf32 = True
    fast = dev.type != "cpu"
    r = repeats or (2 if quick else 5)
    mlp_steps, dc_steps = (3, 1) if quick else ((400, 100) if fast else (60, 6))
    warm = 1 if quick else (50 if fast else 10)
    n = 4096 if quick else EPOCH_IMAGES
    # Each pair that is compared is timed repeat by repeat in alternation (see _interleaved).
    bf16 = ["bf16"] if config.fast_bf16(dev) else []
    mlp = [trainer_setup("mlp", dev, mlp_batch, max(mlp_steps, warm), n_images=n),
           plain_mlp_setup(dev, mlp_batch, n)] + \
          [trainer_setup("mlp", dev, mlp_batch, max(mlp_steps, warm), n_images=n, precision=p) for p in bf16]
    mlp_prec = ["fp32", "fp32"] + bf16
    results = [_result(label, mlp_batch, t, mlp_steps, model="mlp", precision=p)
               for (label, _), t, p in zip(mlp, _interleaved([fn for _, fn in mlp], dev, mlp_steps, r, warm),
                                            mlp_prec)]
    # (channels_last, precision): NCHW and NHWC in float32 on the CPU, then what training uses.
    variants = ([(False, "fp32"), (True, "fp32")] if dev.type == "cpu" else [(False, "fp32")]) + \
        [(dev.type == "cpu", p) for p in bf16]
    dc = [trainer_setup("dcgan", dev, dcgan_batch, max(dc_steps, warm), channels_last=cl, n_images=n, precision=p)
          for cl, p in variants]
    dc_times = _interleaved([fn for _, fn in dc], dev, dc_steps, r, warm if fast else min(warm, 3))
    results += [_result(label, dcgan_batch, t, dc_steps, model="dcgan", channels_last=cl, precision=p)
                for (label, _), t, (cl, p) in zip(dc, dc_times, variants)]
    results.append(bench_toy(dev, 30 if quick else 1000, r))
    if extras:
        # ganlib.toyrun may not exist (yet): _optional reports it as skipped instead of failing.
        # Quick mode runs them too (a real smoke run), the preset shortened to 200 steps.
        if not quick:
            results.append(_optional("toyrun", "run_figure1", lambda fn: (fn(), "")[1]))
        else:
            results.append({"name": "ganlib.toyrun.run_figure1", "skipped": "--quick (a full figure run)"}
                           if _has("toyrun", "run_figure1") else
                           _optional("toyrun", "run_figure1", lambda fn: (fn(), "")[1]))
        # Every preset at its own length (a learner pressing Train); quick: the first, 200 steps.
        try:
            names = preset_names()[:1] if quick else preset_names()
        except (ImportError, AttributeError) as exc:
            names = []
            results.append({"name": "ganlib.widgets.run_preset", "skipped": f"{type(exc).__name__}: {exc}"})
        for name in names:
            results.append(_optional("widgets", "run_preset",
                                     lambda fn, name=name: _run_preset(fn, name, steps=200 if quick else None)))
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or platform.machine()
    return {"device": str(dev), "device_name": name, "threads": torch.get_num_threads(),
            "torch": str(torch.__version__), "quick": quick, "results": results}


def format_results(res: dict[str, Any]) -> str:
    """A plain-text table of ``run``'s results."""
    lines = [f"ganlib bench on {res['device']} ({res['device_name']}, {res['threads']} threads, "
             f"torch {res['torch']}){' [quick: smoke run, numbers not meaningful]' if res['quick'] else ''}"]
    for r in res["results"]:
        if "skipped" in r:
            lines.append(f"  {r['name']:<60} skipped ({r['skipped']})")
        elif "images_per_s" in r:
            lines.append(f"  {r['name']:<60} batch {r['batch_size']:>4}: {r['images_per_s']:>11,.0f} images/s "
                         f"(min {r['images_per_s_min']:,.0f}, max {r['images_per_s_max']:,.0f}), "
                         f"{r['seconds_per_epoch']:.3g} s per 60,000-image epoch")
        elif "seconds_per_5000_steps" in r:
            lines.append(f"  {r['name']:<60} {r['steps_per_s']:>11,.0f} steps/s "
                         f"({r['seconds_per_5000_steps']:.2f} s per 5,000 steps)")
        else:
            lines.append(f"  {r['name']:<60} {r['seconds']:.2f} s")
    return "\n".join(lines)


def cli_add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m ganlib bench``."""
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    parser.add_argument("--quick", action="store_true", help="smoke run: a few steps, numbers not meaningful")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per figure (default 5)")
    parser.add_argument("--mlp-batch", type=int, default=512, help="MLP batch size (default 512, seed 002)")
    parser.add_argument("--dcgan-batch", type=int, default=128, help="DCGAN batch size (default 128)")
    parser.add_argument("--no-extras", action="store_true", help="skip the toyrun / widgets timings")


def cli_run(args: argparse.Namespace) -> int:
    if args.threads is not None:
        if args.threads < 1:
            print(f"error: --threads must be >= 1, got {args.threads}.")
            return 2
        torch.set_num_threads(args.threads)
    for name in ("mlp_batch", "dcgan_batch"):
        if getattr(args, name) < 1:
            print(f"error: --{name.replace('_', '-')} must be >= 1.")
            return 2
    try:
        res = run(args.device, quick=args.quick, mlp_batch=args.mlp_batch, dcgan_batch=args.dcgan_batch,
                  repeats=args.repeats, extras=not args.no_extras)
    except ValueError as err:
        print(f"error: {err}")
        return 2
    print(format_results(res), flush=True)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(res, indent=1))
        print(f"wrote {path}")
    return 0
