"""Self-checks for the course's exercises and stated expectations.

Each notebook's exercises are checked by a function in ``ganlib.checks.nbNN`` that runs the
learner's code on small inputs and says what is wrong in words a learner understands (wrong
sign, missing detach, probabilities instead of logits, off by log 2, ...). Checks never raise on a
wrong answer: they print feedback and return ``False``, so a notebook with unfinished exercises
still runs from top to bottom. Reference solutions live in ``notebooks/solutions/`` (out of the
learner's way); the tests run every check against them and against typical wrong answers.

``expect`` states what a training cell should show and checks it.

Every message a learner reads is said through ``t(template, **fields)``, gettext style: the
English template is written where the check is and is the key; when ``config.language()`` is
"ko" it is looked up in the Korean table ``messages_ko.json`` (loaded once, on first use) and
formatted with the same named fields. ``N_(template)`` marks a template that is stored first and
said later (``DEFAULT_HINT``, case labels). ``expect`` also puts the caller's ``name`` and
``hint`` through the table when it has them (the Korean notebooks' code is the English code).
``tests/test_checks_messages.py`` checks that every template, and every ``checks.expect`` name
and hint written in the English notebooks, has a Korean entry with the same fields.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterable

from .. import config
from ..config import REPO_DIR

PASS = "\u2705"   # green tick
FAIL = "\u274c"   # red cross
WARN = "\u26a0\ufe0f"   # warning sign

#: The Korean table: {section: {English template: Korean template}}. A section is the file whose
#: messages it holds ("ganlib/checks/nb01.py", "notebooks/01_toy_gan_1d.ipynb"); "_about" is a note.
MESSAGES_KO: Path = Path(__file__).resolve().with_name("messages_ko.json")


def N_(template: str) -> str:
    """Mark ``template`` as a message to be said later with ``t(template)``; return it unchanged."""
    return template


@functools.lru_cache(maxsize=None)
def korean_table() -> dict[str, str]:
    """Every English message and its Korean, all sections of ``messages_ko.json`` in one mapping."""
    data = json.loads(MESSAGES_KO.read_text(encoding="utf-8"))
    return {en: ko for section, entries in data.items() if not section.startswith("_")
            for en, ko in entries.items()}


def translated(text: str) -> str:
    """``text`` in the current language when the table has it, else ``text`` unchanged (no formatting)."""
    if config.language() == "ko":
        return korean_table().get(text, text)
    return text


def t(template: str, **fields: object) -> str:
    """Say ``template`` in the current language, formatted with ``fields`` (``str.format`` syntax).

    ``t("for these logits the loss should be {want:.4f}, got {got:.4f}.", want=w, got=g)``: in
    English the template itself is formatted; in Korean, its entry in the Korean table (the same
    named fields, so numbers print identically). A template missing from the table falls back to
    English; ``tests/test_checks_messages.py`` makes sure none is missing.
    """
    return translated(template).format(**fields)


#: What ``expect`` says when a number falls outside its range and the caller gave no hint.
DEFAULT_HINT = N_("Training runs can come out differently on another CPU (its kernels round differently), "
                  "with another thread count or with another seed.")

#: What ``run_safely`` says about a function that still raises NotImplementedError.
NOT_WRITTEN = N_("it is not written yet (it raises NotImplementedError): replace the placeholder.")


def expect(name: str, value: float, low: float, high: float, hint: str = "", fmt: str = ".3f") -> bool:
    """Print whether ``value`` lies in [low, high] and return that.

    Use after a training cell: ``checks.expect("mean D(x) over the last 100 steps", d, 0.45, 0.55)``.
    Outside the range it says so and gives ``hint``; the default names what can differ between two
    honest runs (the CPU's kernels, the thread count, the seed) rather than blaming the learner.
    ``name`` and ``hint`` are said in Korean when the Korean table has them.
    """
    v = float(value)
    inside = math.isfinite(v) and low <= v <= high
    fields = dict(name=translated(name), value=f"{v:{fmt}}", low=f"{low:{fmt}}", high=f"{high:{fmt}}")
    if inside:
        print(f"{PASS} " + t("{name} = {value}, within the expected {low} to {high}.", **fields))
    else:
        print(f"{WARN} " + t("{name} = {value}, outside the expected {low} to {high}. {hint}",
                             hint=translated(hint) if hint else t(DEFAULT_HINT), **fields))
    return inside


def verdict(exercise: str, problems: Iterable[str]) -> bool:
    """Print one line per problem found (or a pass line) for ``exercise``; True when there were none."""
    problems = [p for p in problems if p]
    if not problems:
        print(f"{PASS} " + t("{exercise}: correct.", exercise=exercise))
        return True
    print(f"{FAIL} " + t("{exercise}: not yet.", exercise=exercise))
    for p in problems:
        print(f"   - {p}")
    return False


def run_safely(exercise: str, fn: Callable, *args, **kwargs):
    """Call the learner's ``fn``; on an exception return (None, message) instead of raising."""
    try:
        return fn(*args, **kwargs), None
    except NotImplementedError:
        return None, t(NOT_WRITTEN)
    except Exception as exc:  # noqa: BLE001 - any learner error becomes feedback
        return None, t("it raised {kind}: {exc}", kind=type(exc).__name__, exc=exc)


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
