"""What a learner sees first: the outputs stored in every committed notebook.

A fresh clone opens the notebooks *untrusted* and *unrun*, so what they show is exactly the
outputs saved in the ``.ipynb`` files. This test reads those files as JSON (no kernel, no
browser; well under a second) and fails, naming the notebook and the cell index with a short
excerpt, on anything a learner should not see there:

* ``errors``      an error output (a traceback);
* ``abs_paths``   an absolute path of the machine that ran it (``/work/...``, ``/home/<x>/``,
                  ``/tmp/``, ``C:\\...``, ``site-packages``): it leaks the author's machine and
                  means nothing on the learner's;
* ``nan_rate``    a rate printed as ``nan`` (``nan images/s``, ``nan it/s``);
* ``widget_repr`` a widget's text repr (``VBox(children=(...``, ``Button(...``), or a widget
                  output without a static ``image/png`` beside it: untrusted, it shows its text;
* ``tqdm_text``   tqdm's text fallback (``0%|          | 0/2340 [00:00<?, ?it/s]``);
* ``javascript``  JavaScript-only output (``application/javascript``, or HTML with ``<script``,
                  e.g. matplotlib's ``to_jshtml`` players): blank in an untrusted notebook;
* ``bare_bool``   a stray ``True``/``False`` as a cell's result;
* ``kernelspec``  a kernelspec other than the project's ``Python 3 (ipykernel)``.

Every ``notebooks/**/*.ipynb`` is covered (later editions such as ``notebooks/ko/`` too).
``test_detectors_*`` check that each detector fires on a synthetic bad output and stays quiet
on good ones, so this test can fail.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, Iterable

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def committed_notebooks(root: Path = NOTEBOOK_DIR) -> list[Path]:
    return sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else (value or "")


def _texts(output: dict) -> Iterable[tuple[str, str]]:
    """(where, text) for every human-readable text of one output: stream text, text/plain, text/html,
    an error's message and traceback."""
    if "text" in output:
        yield output.get("name", "stream"), _text(output["text"])
    data = output.get("data", {})
    for mime in ("text/plain", "text/html", "text/markdown", "text/latex"):
        if mime in data:
            yield mime, _text(data[mime])
    if output.get("output_type") == "error":
        yield "error", output.get("ename", "") + ": " + output.get("evalue", "")
        yield "traceback", "\n".join(output.get("traceback", []))


def _excerpt(text: str, match: re.Match | None = None, width: int = 90) -> str:
    if match is None:
        s = text.strip()
    else:
        start = max(0, match.start() - 30)
        s = text[start:start + width]
    s = re.sub(r"\x1b\[[0-9;]*m", "", s)  # ANSI colours of tracebacks
    s = " ".join(s.split())
    return repr(s[:width] + ("..." if len(s) > width else ""))


# --- detectors: each takes one output and returns a list of short problem descriptions ---------

def detect_errors(output: dict) -> list[str]:
    if output.get("output_type") != "error":
        return []
    return [f"error output {output.get('ename', '?')}: {_excerpt(output.get('evalue', ''))}"]


# An absolute path starts at a word boundary that is not part of a longer path or word, so
# "images/s", "1/2", "data/MNIST/raw" and URLs ("https://host/tmp/x") do not match.
ABS_PATH = re.compile(
    r"(?<![\w.~/-])/(?:work|root|tmp|Users|usr|opt|var|mnt|srv|private|scratch|nix|home/[^/\s]+)(?=/|\b)"
    r"|\b[A-Za-z]:\\(?=[\w$ .-])"
    r"|\b(?:site|dist)-packages\b")


def _search(output: dict, pattern: re.Pattern, what: str) -> list[str]:
    """One finding per text of ``output`` in which ``pattern`` occurs."""
    return [f"{what} {m.group(0)!r} in {where}: {_excerpt(text, m)}"
            for where, text in _texts(output) if (m := pattern.search(text))]


def detect_abs_paths(output: dict) -> list[str]:
    if output.get("output_type") == "error":
        return []  # reported by detect_errors; a traceback is full of paths
    return _search(output, ABS_PATH, "absolute path")


NAN_RATE = re.compile(r"\b(?:nan|inf)\s*(?:[A-Za-z]+/s|s/[A-Za-z]+)\b", re.IGNORECASE)


def detect_nan_rate(output: dict) -> list[str]:
    return _search(output, NAN_RATE, "rate")


WIDGET_NAMES = (
    "VBox|HBox|Box|GridBox|GridspecLayout|AppLayout|TwoByTwoLayout|Tab|Accordion|Stack|"
    "Button|ToggleButton|ToggleButtons|Checkbox|Valid|Dropdown|RadioButtons|Select|SelectMultiple|"
    "SelectionSlider|SelectionRangeSlider|IntSlider|FloatSlider|FloatLogSlider|IntRangeSlider|"
    "FloatRangeSlider|IntProgress|FloatProgress|IntText|FloatText|BoundedIntText|BoundedFloatText|"
    "Text|Textarea|Password|Combobox|Label|HTML|HTMLMath|Image|Video|Audio|Play|Output|"
    "ColorPicker|DatePicker|TagsInput|FileUpload|Controller")
WIDGET_REPR = re.compile(rf"^\s*(?:{WIDGET_NAMES})\((?:\)|children=|value=|description=|layout=|"
                         rf"max=|min=|options=|index=|style=|placeholder=|outputs=)")


def detect_widget_repr(output: dict) -> list[str]:
    found = []
    data = output.get("data", {})
    plain = _text(data.get("text/plain", ""))
    if WIDGET_REPR.match(plain):
        found.append(f"widget text repr in text/plain: {_excerpt(plain)}")
    if WIDGET_MIME in data and "image/png" not in data:
        found.append("widget view without a static image/png: an untrusted notebook shows its "
                     f"text/plain {_excerpt(plain)}")
    return found


TQDM_TEXT = re.compile(r"\d+%\|[^|\n]*\|\s*\d+(?:\.\d+)?[kMG]?/\d+")


def detect_tqdm_text(output: dict) -> list[str]:
    return _search(output, TQDM_TEXT, "tqdm text")


def detect_javascript(output: dict) -> list[str]:
    data = output.get("data", {})
    found = []
    if "application/javascript" in data:
        found.append(f"application/javascript output: {_excerpt(_text(data['application/javascript']))}")
    html = _text(data.get("text/html", ""))
    m = re.search(r"<script", html, re.IGNORECASE)
    if m:
        found.append("text/html with <script> (blank when untrusted, e.g. a to_jshtml player): "
                     f"{_excerpt(html, m)}")
    return found


def detect_bare_bool(output: dict) -> list[str]:
    if output.get("output_type") != "execute_result":
        return []
    plain = _text(output.get("data", {}).get("text/plain", "")).strip()
    return [f"stray {plain} as the cell's result"] if plain in ("True", "False") else []


DETECTORS: dict[str, Callable[[dict], list[str]]] = {
    "errors": detect_errors,
    "abs_paths": detect_abs_paths,
    "nan_rate": detect_nan_rate,
    "widget_repr": detect_widget_repr,
    "tqdm_text": detect_tqdm_text,
    "javascript": detect_javascript,
    "bare_bool": detect_bare_bool,
}


def notebook_problems(nb: dict, kind: str) -> list[str]:
    """Every problem of one kind in a notebook, as 'cell N: ...' lines."""
    if kind == "kernelspec":
        spec = nb.get("metadata", {}).get("kernelspec")
        return [] if spec == KERNELSPEC else [f"kernelspec {spec!r}, expected {KERNELSPEC!r}"]
    problems = []
    for index, cell in enumerate(nb.get("cells", [])):
        for output in cell.get("outputs", []):
            problems += [f"cell {index}: {p}" for p in DETECTORS[kind](output)]
    return problems


KINDS = [*DETECTORS, "kernelspec"]
NOTEBOOKS = committed_notebooks()


def test_notebooks_are_found():
    assert len([p for p in NOTEBOOKS if p.parent == NOTEBOOK_DIR]) >= 7, NOTEBOOKS


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(NOTEBOOK_DIR)) for p in NOTEBOOKS])
def test_committed_outputs(path: Path, kind: str):
    nb = json.loads(path.read_text(encoding="utf-8"))
    problems = notebook_problems(nb, kind)
    if problems:
        pytest.fail(f"{path.relative_to(REPO)}: {len(problems)} stored output(s) a learner should not "
                    f"see ({kind}):\n  " + "\n  ".join(problems), pytrace=False)


# --- self-tests: each detector fires on a bad output and stays quiet on good ones --------------

def _stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": [text]}


def _display(data, kind="display_data"):
    out = {"output_type": kind, "data": data, "metadata": {}}
    if kind == "execute_result":
        out["execution_count"] = 1
    return out


GOOD = [
    _stream("trained 468 steps in 82 s (28,472 images/s on cpu)\n"),
    _stream("source: found in data/MNIST/raw, verified; D(x) = 1/2 at the optimum; 3 it/s\n"),
    _stream("see https://example.org/tmp/usr/file and ./runs/nb06 or ~/gan-course/notebooks\n"),
    _stream("trained to step 2340 (epoch 20); done: 100% in 42 s\n", name="stderr"),
    _display({"image/png": "iVBORw0KGgo=", "text/plain": ["<Figure size 720x227 with 1 Axes>"]}),
    _display({"text/html": ["<img src='data:image/gif;base64,R0lG'>"],
              "text/plain": ["<IPython.core.display.HTML object>"]}),
    _display({WIDGET_MIME: {"model_id": "abc", "version_major": 2, "version_minor": 0},
              "image/png": "iVBORw0KGgo=", "text/plain": ["<the explorer: run the cell>"]}),
    _display({"text/plain": ["Sequential(\n  (0): Linear(in_features=1, out_features=32)\n)"]},
             "execute_result"),
    _display({"text/plain": ["(True, False)"]}, "execute_result"),
    _display({"text/plain": ["True"]}),  # a display_data, not a cell's stray result
]

BAD = {
    "errors": {"output_type": "error", "ename": "ValueError", "evalue": "boom",
               "traceback": ["\x1b[0;31mValueError\x1b[0m: boom"]},
    "abs_paths": [_stream("resumed /work/main/runs/nb06-dcgan-1ep at step 468\n"),
                  _stream("data folder /home/alice/gan-course/data\n"),
                  _stream("saved to /tmp/x.png\n"),
                  _display({"text/plain": ["PosixPath('/Users/bob/data')"]}, "execute_result"),
                  _stream("C:\\Users\\carol\\gan\\data\n"),
                  _stream(".venv/lib/python3.11/site-packages/torch/nn.py:12: UserWarning\n", "stderr")],
    "nan_rate": [_stream("trained 468 steps in 82 s (nan images/s on cpu)\n"),
                 _stream("10 steps, NaN steps/s\n"), _stream("3 [00:01, nan it/s]\n")],
    "widget_repr": [_display({WIDGET_MIME: {"model_id": "abc"},
                              "text/plain": ["VBox(children=(HBox(children=(Button(description='Train'),)),))"]},
                             "execute_result"),
                    _display({"text/plain": ["Button(description='Train', style=ButtonStyle())"]},
                             "execute_result"),
                    _display({"text/plain": ["IntProgress(value=0, max=10)"]}),
                    _display({"text/plain": ["Output()"]}),
                    _display({"text/plain": ["Image(value=b'\\x89PNG\\r\\n')"]}),
                    _display({"text/plain": ["HTML(value='<b>step 3</b>')"]}),
                    _display({WIDGET_MIME: {"model_id": "abc"}, "text/plain": ["anything"]})],
    "tqdm_text": [_display({WIDGET_MIME: {"model_id": "abc"}, "image/png": "iVBORw0KGgo=",
                            "text/plain": ["mlp GAN on mnist:   0%|          | 0/2340 [00:00<?, ?step/s]"]}),
                  _stream("name: 45%|####5     | 1053/2340 [00:21<00:26, 49.1it/s]\r", "stderr")],
    "javascript": [_display({"application/javascript": ["console.log(1)"], "text/plain": [""]}),
                   _display({"text/html": ["<div id='anim'></div>\n<SCRIPT language='javascript'>x()</script>"],
                             "text/plain": ["<IPython.core.display.HTML object>"]}, "execute_result")],
    "bare_bool": [_display({"text/plain": ["True"]}, "execute_result"),
                  _display({"text/plain": ["False"]}, "execute_result")],
}


@pytest.mark.parametrize("kind", list(DETECTORS))
def test_detectors_fire_on_bad_output(kind):
    bad = BAD[kind] if isinstance(BAD[kind], list) else [BAD[kind]]
    for output in bad:
        assert DETECTORS[kind](output), f"{kind} missed {output}"
        nb = {"cells": [{"cell_type": "code", "outputs": [GOOD[0], output]}], "metadata": {}}
        assert notebook_problems(nb, kind)[0].startswith("cell 0: ")


@pytest.mark.parametrize("kind", list(DETECTORS))
def test_detectors_quiet_on_good_output(kind):
    for output in GOOD:
        assert not DETECTORS[kind](output), f"{kind} fired on a good output {output}"


def test_kernelspec_detector():
    assert not notebook_problems({"metadata": {"kernelspec": dict(KERNELSPEC)}}, "kernelspec")
    bad = {"metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}}
    assert notebook_problems(bad, "kernelspec")
    assert notebook_problems({"metadata": {}}, "kernelspec")


def test_notebook_glob_covers_subfolders_and_skips_checkpoints(tmp_path):
    for rel in ["00_a.ipynb", "ko/00_a.ipynb", ".ipynb_checkpoints/00_a-checkpoint.ipynb"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    assert [p.relative_to(tmp_path).as_posix() for p in committed_notebooks(tmp_path)] == \
        ["00_a.ipynb", "ko/00_a.ipynb"]
