"""Compare ``python -m ganlib bench`` between two commits, in alternating runs on one machine.

    python tools/compare_bench.py BASE_COMMIT [NEW_COMMIT (default HEAD)] [REPEATS (default 5)]
        [--python PY] [--threads N] [--bench-repeats N] [--json PATH]

Each commit is checked out into its own git worktree under a temporary folder (the repository's
own checkout, branch and index are not touched), with the git-ignored ``data/MNIST`` linked in;
``.`` as a commit means this checkout as it is, uncommitted changes included.
Then the bench of the two GAN steps runs A, B, A, B, ... (REPEATS runs each, ``PYTHONPATH`` and the
working folder set to the worktree), so that load from other programs hits both commits alike.
A bench that has ``--only`` measures ``--only mlp,dcgan``; an older one ``--no-extras`` (the same
timing code; its extra rows are ignored). Steps are matched by (model, precision, layout, plain
loop or trainer), and the table shows the median images/s of each commit and the ratio new/old.
The worktrees are removed at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout.strip()


def step_key(row: dict) -> tuple:
    """What a result row measures, the same in old and new benches (their names differ)."""
    return (row["model"], row.get("precision", "fp32"), bool(row.get("channels_last", False)), "plain" in row["name"])


def bench_once(python: str, tree: Path, bench_args: list[str], out: Path) -> dict[tuple, dict]:
    """Run the bench of the worktree ``tree`` once; {step_key: row} of its GAN step rows."""
    src = (tree / "ganlib" / "bench.py").read_text()
    which = ["--only", "mlp,dcgan"] if '"--only"' in src else ["--no-extras"]
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    r = subprocess.run([python, "-m", "ganlib", "bench", *which, *bench_args, "--json", str(out)],
                       cwd=tree, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench failed in {tree} (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")
    return {step_key(row): row for row in json.loads(out.read_text())["results"] if "images_per_s" in row}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("base")
    p.add_argument("new", nargs="?", default="HEAD")
    p.add_argument("repeats", nargs="?", type=int, default=5, help="bench runs per commit (default 5)")
    venv = REPO / ".venv" / "bin" / "python"
    p.add_argument("--python", default=str(venv) if venv.exists() else sys.executable)
    p.add_argument("--threads", type=int, default=None, help="torch threads of each bench (default: its own)")
    p.add_argument("--bench-repeats", type=int, default=None, help="timed repeats inside each bench (default 5)")
    p.add_argument("--json", default=None, help="also write every run's rows here")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("REPEATS must be >= 1")
    bench_args = [a for opt, v in (("--threads", args.threads), ("--repeats", args.bench_repeats)) if v is not None
                  for a in (opt, str(v))]
    shas = [c if c == "." else git("rev-parse", "--verify", f"{c}^{{commit}}") for c in (args.base, args.new)]
    labels = [sha[:10] if sha != "." else "checkout" for sha in shas]
    tmp = Path(tempfile.mkdtemp(prefix="ganlib-compare-bench-"))
    trees = [REPO if sha == "." else tmp / f"{i}-{sha[:10]}" for i, sha in enumerate(shas)]
    runs: list[list[dict[tuple, dict]]] = [[], []]
    try:
        for tree, sha in zip(trees, shas):
            if tree != REPO:
                git("worktree", "add", "--detach", str(tree), sha)
            if (REPO / "data" / "MNIST").is_dir() and not (tree / "data" / "MNIST").exists():
                (tree / "data" / "MNIST").symlink_to(REPO / "data" / "MNIST", target_is_directory=True)
            where = subprocess.run([args.python, "-c", "import ganlib; print(ganlib.__file__)"], cwd=tree, text=True,
                                   env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, check=True)
            if not Path(where.stdout.strip()).resolve().is_relative_to(tree.resolve()):
                sys.exit(f"{args.python} imports ganlib from {where.stdout.strip()}, not from {tree}")
        for i in range(args.repeats):
            for j, tree in enumerate(trees):
                print(f"run {i + 1}/{args.repeats} of {labels[j]} ...", flush=True)
                runs[j].append(bench_once(args.python, tree, bench_args, tmp / f"bench-{j}-{i}.json"))
    finally:
        for tree in trees:
            if tree != REPO and tree.exists():
                git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(tmp, ignore_errors=True)
    keys = [k for k in runs[1][0] if all(k in r for rs in runs for r in rs)]
    print(f"\nmedian images/s over {args.repeats} alternating run(s) per commit "
          f"(each run the median of its own timed repeats)\n")
    print(f"| step | batch | {labels[0]} (old) | {labels[1]} (new) | new/old |")
    print("| --- | --- | --- | --- | --- |")
    for k in keys:
        old, new = (statistics.median(r[k]["images_per_s"] for r in rs) for rs in runs)
        row = runs[1][0][k]
        print(f"| {row['name']}{', float32' if k[1] == 'fp32' else ''} | {row['batch_size']} | {old:,.0f} | "
              f"{new:,.0f} | {new / old:.3f} |")
    if args.json:
        doc = {"commits": shas, "runs": [[list(r.values()) for r in rs] for rs in runs]}
        Path(args.json).write_text(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
