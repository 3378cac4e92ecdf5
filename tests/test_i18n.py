"""The Korean edition stays in step with the English one (tools/i18n.py), and speaks the glossary's Korean."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

import i18n  # tools/i18n.py

ENGLISH = i18n.english_notebooks()
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def markdown(path: Path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


# ------------------------------------------------------------------ the committed Korean edition
def test_every_english_notebook_has_a_korean_one():
    assert len(ENGLISH) == 7
    assert sorted(p.name for p in i18n.KOREAN.glob("[0-9][0-9]_*.ipynb")) == [p.name for p in ENGLISH]


@pytest.mark.parametrize("english", ENGLISH, ids=[p.name[:2] for p in ENGLISH])
def test_korean_notebook_is_in_step(english):
    found = i18n.problems(english, i18n.KOREAN / english.name)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("english", ENGLISH, ids=[p.name[:2] for p in ENGLISH])
def test_korean_notebook_is_korean(english):
    cells = [c for c in nbformat.read(i18n.KOREAN / english.name, as_version=4).cells if c.cell_type == "markdown"]
    prose = [c for c in cells if len(re.sub(r"\$[^$]*\$|`[^`]*`", "", c.source).split()) > 12]
    untranslated = [i for i, c in enumerate(prose) if not HANGUL.search(c.source)]
    assert prose and not untranslated, f"{english.name}: markdown cells without Korean: {untranslated}"
    first = next(c for c in nbformat.read(i18n.KOREAN / english.name, as_version=4).cells if c.cell_type == "code")
    assert i18n.LANGUAGE_LINE in first.source.split("\n")


# ------------------------------------------------------------------ the sync catches every drift
@pytest.fixture
def pair(tmp_path):
    """A copy of notebook 01 and its Korean edition, fully 'translated' (each cell prefixed 번역)."""
    en, ko = tmp_path / "01.ipynb", tmp_path / "ko" / "01.ipynb"
    shutil.copy(ENGLISH[1], en)
    i18n.sync_notebook(en, ko)
    untranslated = i18n.problems(en, ko)
    cells = nbformat.read(en, as_version=4).cells
    n_md = sum(c.cell_type == "markdown" for c in cells)
    assert len(untranslated) == n_md and all("not translated yet" in p for p in untranslated)
    i18n.translate(ko, en, {c.id: "번역: " + c.source for c in cells if c.cell_type == "markdown"})
    assert i18n.problems(en, ko) == []
    return en, ko


def edit(path: Path, change) -> None:
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def first(nb, kind: str, after: int = 0) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == kind and i >= after)


def test_one_changed_english_sentence_fails_naming_the_cell(pair):
    en, ko = pair
    nb = nbformat.read(en, as_version=4)
    i = first(nb, "markdown", after=5)
    edit(en, lambda nb: setattr(nb.cells[i], "source", nb.cells[i].source.replace(".", ";", 1)))
    found = i18n.problems(en, ko)
    assert len(found) == 1 and f"cell {i} (id {nb.cells[i].id})" in found[0] and "changed after" in found[0]
    i18n.sync_notebook(en, ko)                     # sync keeps the stale translation: still reported
    assert i18n.problems(en, ko) == found
    i18n.translate(ko, en, {nb.cells[i].id: "다시 번역했습니다."})
    assert i18n.problems(en, ko) == []


def test_added_and_removed_cells_are_named(pair):
    en, ko = pair
    new = nbformat.v4.new_markdown_cell("A new paragraph.")
    edit(en, lambda nb: nb.cells.insert(3, new))
    found = i18n.problems(en, ko)
    assert len(found) == 1 and f"English cell 3 (id {new.id}) has no Korean counterpart" in found[0]
    i18n.sync_notebook(en, ko)
    assert [p for p in i18n.problems(en, ko) if "cell 3 " in p and "not translated yet" in p]
    gone = nbformat.read(en, as_version=4).cells[8].id
    edit(en, lambda nb: nb.cells.pop(8))
    assert any(f"(id {gone}) has no English counterpart" in p for p in i18n.problems(en, ko))
    i18n.sync_notebook(en, ko)                     # sync deletes it in Korean too
    assert gone not in [c.id for c in nbformat.read(ko, as_version=4).cells]


def test_moved_cells_are_reported(pair):
    en, ko = pair
    edit(en, lambda nb: nb.cells.insert(2, nb.cells.pop(4)))
    assert any("different order" in p for p in i18n.problems(en, ko))


def test_code_and_outputs_must_be_identical(pair):
    en, ko = pair
    nb = nbformat.read(ko, as_version=4)
    i = first(nb, "code", after=first(nb, "code") + 1)          # a code cell after the first
    edit(ko, lambda nb: setattr(nb.cells[i], "source", nb.cells[i].source + "\nprint('changed by hand')"))
    assert [p for p in i18n.problems(en, ko) if f"cell {i} " in p and "code differs" in p]
    i18n.sync_notebook(en, ko)
    assert i18n.problems(en, ko) == []
    j = next(k for k, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs)
    edit(ko, lambda nb: nb.cells[j].outputs.pop())
    assert [p for p in i18n.problems(en, ko) if f"cell {j} " in p and "outputs differ" in p]


def test_the_language_line_is_the_only_code_difference(pair):
    en, ko = pair
    e, k = (nbformat.read(p, as_version=4) for p in (en, ko))
    i = first(e, "code")
    extra = [line for line in k.cells[i].source.split("\n") if line not in e.cells[i].source.split("\n")]
    assert extra == [i18n.LANGUAGE_LINE]
    assert all(a.source == b.source for a, b in zip(e.cells[i + 1:], k.cells[i + 1:]) if a.cell_type == "code")
    edit(ko, lambda nb: setattr(nb.cells[i], "source", e.cells[i].source))   # language line dropped
    assert any(f"cell {i} " in p and "code differs" in p for p in i18n.problems(en, ko))
    with pytest.raises(ValueError, match="must import config"):
        i18n.korean_code("import torch\nprint(1)")


def test_translate_rejects_unknown_cells(pair):
    en, ko = pair
    with pytest.raises(ValueError, match="not markdown cells"):
        i18n.translate(ko, en, {"no-such-id": "x"})


def test_cli_check_fails_when_out_of_step(pair, monkeypatch, capsys):
    en, ko = pair
    monkeypatch.setattr(i18n, "english_notebooks", lambda: [en])
    monkeypatch.setattr(i18n, "KOREAN", ko.parent)
    monkeypatch.setattr(i18n, "NOTEBOOKS", en.parent)
    ko.rename(ko.with_name(en.name))
    assert i18n.main(["check"]) == 0
    edit(en, lambda nb: setattr(nb.cells[0], "source", nb.cells[0].source + " More."))
    assert i18n.main(["check"]) == 1 and "cell 0" in capsys.readouterr().out


# ------------------------------------------------------------------ one glossary, used by both
def korean_forms(korean: str) -> list[str]:
    """The Korean term's forms: parentheses dropped, split at "/" and ",", trailing symbols (k, z) dropped."""
    plain = re.sub(r"\([^)]*\)", " ", korean)
    forms = [re.sub(r"(\s+[A-Za-z*]{1,2})+$", "", f.strip()) for f in re.split(r"[/,]", plain)]
    return [f for f in forms if f]


def prose(text: str) -> str:
    """Markdown without code blocks, inline code, math and quotations (paper titles stay English)."""
    return re.sub(r'```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|"[^"]{0,300}"|“[^”]{0,300}”', " ", text, flags=re.S)


KOREAN_TEXTS = {p.name: prose(markdown(i18n.KOREAN / p.name)) for p in ENGLISH if (i18n.KOREAN / p.name).exists()}


@pytest.mark.parametrize("english", ENGLISH, ids=[p.name[:2] for p in ENGLISH])
def test_korean_notebooks_use_the_glossary_terms(english):
    """Each glossary term the English prose uses appears in the Korean prose as the glossary's Korean
    term; a term the English uses only by its abbreviation (GAN, KL, FID) may keep it."""
    from test_glossary import appears, search_forms  # the English side's matching rules

    en_text, ko_text = prose(markdown(english)), KOREAN_TEXTS.get(english.name, "")
    missing = []
    for r in i18n.glossary():
        used = [f for f in search_forms(r["english"]) if appears([f], en_text)]
        if not used:
            continue
        abbreviations = set(re.findall(r"\(([^)\s]+)\)", r["english"]))
        accepted = korean_forms(r["korean"]) + ([f for f in used if f in abbreviations]
                                                 if set(used) <= abbreviations else [])
        if not any(form in ko_text for form in accepted):
            missing.append(f"{r['english']} -> {r['korean']}")
    assert not missing, f"{english.name}: the English prose uses these terms, the Korean not the glossary's: {missing}"


VARIANTS = {"감별자": "판별자", "구분자": "판별자", "식별자": "판별자", "발전기": "생성자", "에포크": "에폭"}


def korean_files() -> dict[str, str]:
    files = {p.name: markdown(p) for p in i18n.KOREAN.glob("*.ipynb")}
    for path in (i18n.GUIDES["ko"], i18n.REPO_DIR / "README.ko.md", i18n.GLOSSARY):
        files[i18n.display_path(path)] = path.read_text(encoding="utf-8")
    for path in sorted((i18n.REPO_DIR / "ganlib" / "checks").glob("*.json")):
        files[i18n.display_path(path)] = json.dumps(json.loads(path.read_text(encoding="utf-8")), ensure_ascii=False)
    return files


def test_no_known_variant_of_a_glossary_term():
    found = [f"{name}: {bad} (write {good})" for name, text in korean_files().items()
             for bad, good in VARIANTS.items() if bad in text]
    assert not found, found
