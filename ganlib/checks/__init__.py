"""Self-checks for the course's exercises and stated expectations.

Each notebook's exercises are checked by a function in ``ganlib.checks.nbNN`` that runs the
learner's code on small inputs and says what is wrong in words a learner understands (wrong
sign, missing detach, probabilities instead of logits, off by log 2, ...). Checks never raise on a
wrong answer: they print feedback and return ``False``, so a notebook with unfinished exercises
still runs from top to bottom. Reference solutions live in ``notebooks/solutions/`` (out of the
learner's way); the tests run every check against them and against typical wrong answers.

``expect`` states what a training cell should show and checks it.
"""
from __future__ import annotations

import importlib
import importlib.util
import math
from types import ModuleType
from typing import Callable, Iterable

from ..config import REPO_DIR

PASS = "\u2705"   # green tick
FAIL = "\u274c"   # red cross
WARN = "\u26a0\ufe0f"   # warning sign


#: What ``expect`` says when a number falls outside its range and the caller gave no hint.
DEFAULT_HINT = ("Training runs can come out differently on another CPU (its kernels round differently), "
                "with another thread count or with another seed.")


def expect(name: str, value: float, low: float, high: float, hint: str = "", fmt: str = ".3f") -> bool:
    """Print whether ``value`` lies in [low, high] and return that.

    Use after a training cell: ``checks.expect("mean D(x) over the last 100 steps", d, 0.45, 0.55)``.
    Outside the range it says so and gives ``hint``; the default names what can differ between two
    honest runs (the CPU's kernels, the thread count, the seed) rather than blaming the learner.
    """
    v = float(value)
    inside = math.isfinite(v) and low <= v <= high
    if inside:
        print(f"{PASS} {name} = {v:{fmt}}, within the expected {low:{fmt}} to {high:{fmt}}.")
    else:
        print(f"{WARN} {name} = {v:{fmt}}, outside the expected {low:{fmt}} to {high:{fmt}}. "
              f"{hint or DEFAULT_HINT}")
    return inside


def verdict(exercise: str, problems: Iterable[str]) -> bool:
    """Print one line per problem found (or a pass line) for ``exercise``; True when there were none."""
    problems = [p for p in problems if p]
    if not problems:
        print(f"{PASS} {exercise}: correct.")
        return True
    print(f"{FAIL} {exercise}: not yet.")
    for p in problems:
        print(f"   - {p}")
    return False


def run_safely(exercise: str, fn: Callable, *args, **kwargs):
    """Call the learner's ``fn``; on an exception return (None, message) instead of raising."""
    try:
        return fn(*args, **kwargs), None
    except NotImplementedError:
        return None, "it is not written yet (it raises NotImplementedError): replace the placeholder."
    except Exception as exc:  # noqa: BLE001 - any learner error becomes feedback
        return None, f"it raised {type(exc).__name__}: {exc}"


def load_solutions(notebook: int) -> ModuleType:
    """Import ``notebooks/solutions/nbNN.py`` (the reference solutions) as a module."""
    path = REPO_DIR / "notebooks" / "solutions" / f"nb{notebook:02d}.py"
    if not path.exists():
        raise FileNotFoundError(f"no reference solutions for notebook {notebook:02d} at {path}.")
    spec = importlib.util.spec_from_file_location(f"gan_course_solutions_nb{notebook:02d}", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def __getattr__(name: str) -> ModuleType:
    """``checks.nb05`` imports ``ganlib.checks.nb05`` on first use (notebooks need one import)."""
    if name.startswith("nb") and name[2:].isdigit():
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
