"""Command line: ``python -m ganlib <command> ...`` (also installed as ``ganlib``).

Commands (each lives in the module that owns the concept; imported lazily so that
``fetch-data`` works before anything heavy is needed):

    fetch-data [mnist|fashion-mnist|all]   find, download or rebuild, and verify datasets
    train {mlp,dcgan} --epochs N ...       train an MNIST GAN with checkpoints (resumable)
    train-classifier                        train the shipped MNIST classifier (deterministic)
    bench                                   images/s and steps/s on this machine's device
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: command -> (module, one-line help). Each module defines ``cli_add_arguments(parser)`` and
#: ``cli_run(args) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "fetch-data": ("ganlib.data", "download (or rebuild offline) and verify MNIST / Fashion-MNIST"),
    "train": ("ganlib.run", "train an MNIST GAN (mlp or dcgan) with checkpoints"),
    "train-classifier": ("ganlib.image_metrics", "train the MNIST classifier used by the metrics"),
    "bench": ("ganlib.bench", "measure training speed on this machine"),
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ganlib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="command")
    argv = sys.argv[1:] if argv is None else argv
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        # Only the chosen command's module is imported (so `fetch-data` stays light).
        if name == wanted:
            importlib.import_module(module).cli_add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    module = importlib.import_module(COMMANDS[args.command][0])
    return int(module.cli_run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
