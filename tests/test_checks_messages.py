"""The exercise checks speak English and Korean from one table (ganlib/checks/messages_ko.json).

* every English template said through ``t(...)`` / ``N_(...)`` in ganlib/checks has a Korean entry
  with exactly the same ``{fields}`` (name, format spec and conversion), and no Korean entry is stale;
* no learner-facing sentence in ganlib/checks bypasses the table;
* every string-literal ``name`` / ``hint`` that an English notebook passes to ``checks.expect``
  has a Korean entry in that notebook's section (f-strings and variables cannot be looked up and
  are skipped; ``notebook_expect_strings`` returns them too);
* in Korean, the checks print Hangul and none of the English templates' phrases.

``lang`` (both languages, always back to "en") and ``phrase`` are used by tests/test_checks_nb0*.py.
"""
from __future__ import annotations

import ast
import json
import re
import string
from collections import Counter
from pathlib import Path

import pytest
import torch

from ganlib import checks, config
from ganlib.checks import nb01, nb02, nb03, nb04, nb05, nb06
from ganlib.config import REPO_DIR

CHECKS_DIR = REPO_DIR / "ganlib" / "checks"
NOTEBOOK_DIR = REPO_DIR / "notebooks"
HANGUL = re.compile("[\uac00-\ud7a3]")
#: What the pass and fail lines say, and what run_safely says about a placeholder.
CORRECT = {"en": "correct", "ko": "정답입니다"}
NOT_YET = {"en": "not yet", "ko": "아직 정답이 아닙니다"}
NOT_WRITTEN = {"en": "not written yet", "ko": "아직 작성되지 않았습니다"}


def _table() -> dict[str, dict[str, str]]:
    data = json.loads(checks.MESSAGES_KO.read_text(encoding="utf-8"))
    return {section: entries for section, entries in data.items() if not section.startswith("_")}


def _section(path: Path) -> str:
    return path.relative_to(REPO_DIR).as_posix()


# ------------------------------------------------------------------------------ fixtures for all check tests
@pytest.fixture(params=["en", "ko"])
def lang(request):
    """Run the test in English and in Korean; the language is always set back to English."""
    config.set_language(request.param)
    yield request.param
    config.set_language("en")


@pytest.fixture
def korean():
    config.set_language("ko")
    yield
    config.set_language("en")


def phrase(out: str, lang: str, en: str, ko: str) -> None:
    """Assert that ``out`` (what a check printed) says ``en`` in English or ``ko`` in Korean; in Korean,
    also that it is Korean through and through (Hangul, no English template phrase)."""
    want = en if lang == "en" else ko
    assert want in out, out
    if lang == "ko":
        assert_korean(out)


# ------------------------------------------------------------------------------ templates in ganlib/checks
def _is_marker(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("t", "N_")


def check_templates() -> dict[str, list[str]]:
    """{section: English templates}: the literal first argument of every t(...) and N_(...) call."""
    found: dict[str, list[str]] = {}
    for path in sorted(CHECKS_DIR.glob("*.py")):
        calls = [n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if _is_marker(n)]
        literals = [n.args[0].value for n in sorted(calls, key=lambda n: (n.lineno, n.col_offset))
                    if isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)]
        found[_section(path)] = list(dict.fromkeys(literals))
    return found


def fields(template: str) -> Counter:
    """The replacement fields of a str.format template: (name, format spec, conversion), counted."""
    return Counter((name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template)
                   if name is not None)


def test_every_template_has_a_korean_entry_with_the_same_fields():
    table = _table()
    problems = []
    for section, templates in check_templates().items():
        entries = table.get(section, {})
        for en in templates:
            if en not in entries:
                problems.append(f"{section}: no Korean entry for {en!r}")
            elif set(fields(en)) != set(fields(entries[en])):
                problems.append(f"{section}: fields differ for {en!r}: {sorted(set(fields(en)))} vs "
                                f"{sorted(set(fields(entries[en])))} in {entries[en]!r}")
    assert not problems, "\n".join(problems)
    assert sum(map(len, check_templates().values())) >= 200


def test_every_t_call_passes_exactly_its_templates_fields():
    """A field the call does not pass would raise KeyError on that (maybe rare) path, in both languages."""
    problems = []
    for path in sorted(CHECKS_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if _is_marker(node) and isinstance(node.args[0], ast.Constant):
                want = {name for name, _, _ in fields(node.args[0].value)}
                given = {k.arg for k in node.keywords if k.arg is not None}
                splat = any(k.arg is None for k in node.keywords)   # t(..., **fields): checked by running
                if (not given <= want if splat else want != given) or len(node.args) != 1:
                    problems.append(f"{_section(path)}:{node.lineno}: template fields {sorted(want)}, "
                                    f"call passes {sorted(given)}")
    assert not problems, "\n".join(problems)


def test_no_stale_korean_entries():
    table = _table()
    templates = check_templates()
    notebooks = {_section(p) for p in NOTEBOOK_DIR.glob("0*.ipynb")}
    stale = [f"unknown section {s!r}" for s in table if s not in templates and s not in notebooks]
    for section, entries in table.items():
        if section in templates:
            stale += [f"{section}: {en!r} is no longer said there" for en in entries if en not in templates[section]]
    assert not stale, "\n".join(stale)


def test_one_english_message_has_one_korean():
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for section, entries in _table().items():
        for en, ko in entries.items():
            if en in seen and seen[en][1] != ko:
                clashes.append(f"{en!r}: {seen[en][0]} and {section} say it differently")
            seen.setdefault(en, (section, ko))
    assert not clashes, "\n".join(clashes)


def test_korean_entries_are_korean():
    """Each entry with English words in it reads as Korean (the labels and math stay as they are)."""
    for entries in _table().values():
        for en, ko in entries.items():
            if re.search(r"[A-Za-z]{3,} [a-z]{3,}", en) and not ko.startswith(("ring: ", "grid: ")):
                assert HANGUL.search(ko), (en, ko)
            string.Formatter().parse(ko)


def _docstrings(tree: ast.AST) -> set[int]:
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}


def test_no_learner_message_bypasses_the_table():
    """Any sentence (three or more words) in ganlib/checks is a t()/N_() template, a docstring, an
    exception for developers (raise) or a test on an error text (``"0 and 1" in err``)."""
    sentence = re.compile(r"[A-Za-z]{2,} [A-Za-z]{2,} [A-Za-z]{2,}")
    problems = []
    for path in sorted(CHECKS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exempt = _docstrings(tree)
        for node in ast.walk(tree):
            if _is_marker(node):
                exempt |= {id(n) for n in ast.walk(node.args[0])}
            elif isinstance(node, (ast.Raise, ast.Compare)):
                exempt |= {id(n) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in exempt \
                    and sentence.search(node.value):
                problems.append(f"{_section(path)}:{node.lineno}: {node.value!r} is not said through t()")
            if _is_marker(node) and not isinstance(node.args[0], (ast.Constant, ast.Name, ast.Subscript)):
                problems.append(f"{_section(path)}:{node.lineno}: t() takes a template, not "
                                f"{ast.unparse(node.args[0])}")
            if isinstance(node, ast.Name) and node.id in ("t", "N_") and isinstance(node.ctx, ast.Store):
                problems.append(f"{_section(path)}:{node.lineno}: the name {node.id} is rebound (it hides t())")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------ checks.expect in the notebooks
def _code(cell: dict) -> str:
    src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    # IPython magics (%matplotlib) and shell escapes (!pip) are not Python: blank them, keep line numbers.
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in src.splitlines())


def notebook_expect_strings(path: Path) -> tuple[list[str], list[str]]:
    """(literal names and hints, skipped arguments) of every ``checks.expect(...)`` in a notebook's code.

    The name is the first argument (or ``name=``), the hint the fifth (or ``hint=``). An f-string or a
    variable (``hint=H``) cannot be looked up in the table; it is returned in the second list.
    """
    nb = json.loads(path.read_text(encoding="utf-8"))
    literals: list[str] = []
    skipped: list[str] = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse(_code(cell))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "expect"):
                continue
            given = {"name": node.args[0] if node.args else None, "hint": node.args[4] if len(node.args) > 4 else None}
            given.update({k.arg: k.value for k in node.keywords if k.arg in given})
            for value in given.values():
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    literals.append(value.value)
                elif value is not None:
                    skipped.append(ast.unparse(value))
    return list(dict.fromkeys(literals)), skipped


ENGLISH_NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("0*.ipynb"))


@pytest.mark.parametrize("path", ENGLISH_NOTEBOOKS, ids=lambda p: p.name)
def test_every_expect_name_and_hint_in_a_notebook_has_a_korean_entry(path):
    section = _section(path)
    entries = _table().get(section, {})
    literals, _ = notebook_expect_strings(path)
    missing = [s for s in literals if s not in entries and s.strip()]
    assert not missing, (f"{path.name}: checks.expect names/hints without a Korean entry in section "
                         f"{section!r} of ganlib/checks/messages_ko.json:\n" + "\n".join(map(repr, missing)))
    stale = [s for s in entries if s not in literals]
    assert not stale, f"{path.name}: Korean entries no checks.expect of the notebook uses:\n" + "\n".join(map(repr, stale))


def test_the_notebooks_expectations_are_found():
    found = {p.name: notebook_expect_strings(p) for p in ENGLISH_NOTEBOOKS}
    assert sum(len(lits) for lits, _ in found.values()) >= 40
    # notebook 04 passes its hint through a short name for nb04.PRESET_HINT, which the table has
    assert "H" in found["04_mode_collapse_explorer.ipynb"][1]


# ------------------------------------------------------------------------------ what a Korean learner reads
def _english_phrases() -> set[str]:
    """Runs of three or more English words in the templates' text (not in any Korean entry)."""
    korean_text = "\n".join(ko for entries in _table().values() for ko in entries.values())
    words = re.compile(r"[A-Za-z][A-Za-z'-]+(?: [A-Za-z][A-Za-z'-]+){2,}")
    phrases = set()
    for templates in check_templates().values():
        for en in templates:
            for literal, *_ in string.Formatter().parse(en):
                phrases |= {m.group(0) for m in words.finditer(literal) if m.group(0) not in korean_text}
    return phrases | {"correct.", "not yet", "within the expected", "outside the expected"}


ENGLISH_PHRASES = _english_phrases()


def assert_korean(out: str) -> None:
    assert HANGUL.search(out), out
    leaked = sorted(p for p in ENGLISH_PHRASES if p in out)
    assert not leaked, f"English in the Korean output: {leaked}\n{out}"


def _placeholder(*args):
    raise NotImplementedError


SOL = {n: checks.load_solutions(n) for n in range(1, 7)}
CHECKS = [
    (nb01.check_discriminator_loss, SOL[1].discriminator_loss),
    (nb01.check_change_of_variables, SOL[1].density_by_change_of_variables),
    (nb01.check_d_step, SOL[1].my_d_step),
    (nb02.check_peak, SOL[2].peak_of_f), (nb02.check_d_star, SOL[2].d_star),
    (nb02.check_value, SOL[2].value_on_grid), (nb02.check_jsd, SOL[2].jsd_from_kl),
    (nb03.check_grad_saturating, SOL[3].grad_saturating), (nb03.check_grad_nonsaturating, SOL[3].grad_nonsaturating),
    (nb03.check_nonsaturating_loss, SOL[3].nonsaturating_loss),
    (nb04.check_count_modes, SOL[4].count_modes), (nb04.check_pack, SOL[4].pack),
    (nb04.check_kl_from_uniform, SOL[4].kl_from_uniform),
    (nb05.check_prepare_batch, SOL[5].prepare_batch), (nb05.check_discriminator_loss_step, SOL[5].discriminator_loss_step),
    (nb05.check_equilibrium_losses, SOL[5].equilibrium_losses),
    (nb06.check_slerp, SOL[6].slerp), (nb06.check_classifier_score, SOL[6].classifier_score),
    (nb06.check_frechet_1d, SOL[6].frechet_1d),
]


@pytest.mark.parametrize("check, solution", CHECKS, ids=lambda x: getattr(x, "__name__", ""))
def test_in_korean_a_check_speaks_korean(check, solution, korean, capsys):
    assert check(solution)
    out = capsys.readouterr().out
    assert_korean(out)
    assert CORRECT["ko"] in out
    assert not check(_placeholder)
    out = capsys.readouterr().out
    assert_korean(out)
    assert NOT_YET["ko"] in out and NOT_WRITTEN["ko"] in out


def test_in_korean_expect_speaks_korean_and_translates_the_notebooks_words(korean, capsys):
    assert checks.expect("mean D(x), last 100 steps", 0.5, 0.45, 0.55)
    out = capsys.readouterr().out
    assert out == "\u2705 D(x)의 평균, 마지막 100 스텝 = 0.500: 예상 범위(0.450 ~ 0.550) 안에 있습니다.\n"
    assert not checks.expect("mean D(G(z)) after pre-training D", 0.2, 0.0, 0.05,
                             "D should be confident before G starts; was the pre-training shortened?", fmt=".4f")
    out = capsys.readouterr().out
    assert_korean(out)
    assert "0.2000" in out and "사전 학습을 줄이지 않았습니까?" in out
    assert not checks.expect("ring: collapse, mean modes captured", 5.0, 0, 4, fmt=".1f", hint=nb04.PRESET_HINT)
    out = capsys.readouterr().out
    assert_korean(out)
    assert "예상 범위(0.0 ~ 4.0)를 벗어났습니다" in out and "torch 스레드" in out
    assert not checks.expect("x", float("nan"), 0, 1)
    out = capsys.readouterr().out
    assert checks.t(checks.DEFAULT_HINT) in out and checks.DEFAULT_HINT not in out
    # a name the table does not have is printed as given, inside the Korean frame
    assert checks.expect("an unknown quantity", 1.0, 0, 2)
    assert "an unknown quantity = 1.000: 예상 범위" in capsys.readouterr().out


def test_english_is_the_default_and_the_fixture_restored_it(capsys):
    assert config.language() == "en"
    assert checks.t("{exercise}: correct.", exercise="x") == "x: correct."
    assert checks.translated("mean D(x), last 100 steps") == "mean D(x), last 100 steps"
    nb01.check_discriminator_loss(_placeholder)
    out = capsys.readouterr().out
    assert "not yet" in out and not HANGUL.search(out)


def test_t_formats_the_same_fields_in_both_languages(korean):
    en = "for these logits the loss should be {want:.4f}, got {got:.4f}. Recall log D = -softplus(-a) " \
         "and log(1 - D) = -softplus(a)."
    ko = checks.t(en, want=0.123456, got=torch.tensor(2.0).item())
    assert "0.1235" in ko and "2.0000" in ko and HANGUL.search(ko)
    config.set_language("en")
    assert checks.t(en, want=0.123456, got=2.0).startswith("for these logits the loss should be 0.1235, got 2.0000.")


def cases(rows):
    """pytest params for (wrong answer, ..., English phrase, Korean phrase) rows, named by the English phrase."""
    return [pytest.param(*row, id=f"{i}-{row[-2]}") for i, row in enumerate(rows)]
