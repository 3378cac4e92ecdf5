"""The glossary (docs/glossary.tsv): every term appears in every notebook its "where" column lists.

A term is looked up in the notebook's markdown and code (not its outputs), case-insensitively, as a
whole word or phrase. Its search forms come from the English column: the text outside parentheses,
split at "," and "/" (e.g. "generator, G" -> "generator"; "real / fake" -> "real", "fake"); forms of
one or two characters (symbols such as G, z, k) are dropped, and the term counts as present when any
form is. Run this file as a script to print where each term actually appears.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import i18n  # tools/i18n.py

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[0-9]_*.ipynb"))


def search_forms(english: str) -> list[str]:
    """The phrases a notebook may use for a glossary term (see the module docstring)."""
    plain = re.sub(r"\([^)]*\)", " ", english)
    forms = [a for a in re.findall(r"\(([^)\s]+)\)", english) if len(a) > 1]   # "(KL)", "(GAN)"
    for part in re.split(r"[,/]", plain):
        words = part.split()
        while words and len(words[-1]) <= 2:       # trailing symbols: "value function V", "sigmoid σ"
            words.pop()
        if len(" ".join(words)) > 2:
            forms.append(" ".join(words))
    return forms


def notebook_text(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells)


def pattern(form: str) -> str:
    """A regex for one form: dashes and spaces interchangeable, -ise/-ize, an optional plural."""
    words = [re.escape(w).replace("isation", "i[sz]ation") for w in re.split(r"[\s\-–]+", form)]
    return r"(?<![\w-])" + r"[\s\-–]*".join(words) + r"(?:s|es)?(?![\w-])"


def appears(forms: list[str], text: str) -> bool:
    return any(re.search(pattern(f), text, re.I) for f in forms)


def notebooks_using(forms: list[str], texts: dict[str, str]) -> list[str]:
    return [nb for nb, text in texts.items() if appears(forms, text)]


TEXTS = {p.name[:2]: notebook_text(p) for p in NOTEBOOKS}
ROWS = i18n.glossary()


def test_the_glossary_is_found_and_rendered():
    assert len(ROWS) >= 40 and len(TEXTS) == 7
    assert all(r["english"] and r["korean"] and r["meaning"] for r in ROWS)
    assert len({r["english"] for r in ROWS}) == len(ROWS) and len({r["korean"] for r in ROWS}) == len(ROWS)
    for lang, guide in i18n.GUIDES.items():       # the guides show the file, as rendered now
        assert i18n.glossary_table(lang) in guide.read_text(encoding="utf-8"), (
            f"{guide.name} ({lang}): its glossary is not docs/glossary.tsv; run python tools/i18n.py glossary")
    assert all(search_forms(r["english"]) for r in ROWS), [r["english"] for r in ROWS if not search_forms(r["english"])]


@pytest.mark.parametrize("row", ROWS, ids=[r["english"] for r in ROWS])
def test_every_term_appears_in_every_notebook_it_lists(row):
    listed = [w.strip() for w in row["where"].split(",")]
    assert listed and all(w in TEXTS for w in listed), f"{row['english']}: where = {row['where']!r}"
    forms = search_forms(row["english"])
    missing = [w for w in listed if not appears(forms, TEXTS[w])]
    assert not missing, (f"glossary term {row['english']!r} (searched as {forms}) is listed for notebook(s) "
                         f"{missing} but does not appear there; it appears in {notebooks_using(forms, TEXTS)}")


def test_search_rules():
    assert search_forms("generator, G") == ["generator"]
    assert search_forms("real / fake") == ["real", "fake"]
    assert search_forms("value function V(D, G)") == ["value function"]
    assert search_forms("Kullback–Leibler divergence (KL)") == ["KL", "Kullback–Leibler divergence"]
    assert appears(["batch normalisation"], "Batch normalization") and appears(["Leaky ReLU"], "LeakyReLU")
    assert appears(["generative model"], "generative models") and not appears(["model"], "remodel")
    assert appears(["mode collapse"], "a case of mode\ncollapse") and not appears(["mode"], "a modest gain")
    assert not appears(["Nash equilibrium"], "an equilibrium of Nash")


if __name__ == "__main__":
    for r in ROWS:
        found = notebooks_using(search_forms(r["english"]), TEXTS)
        flag = "" if set(r["where"].replace(" ", "").split(",")) <= set(found) else "   <-- listed but missing"
        print(f"{r['english'][:45]:45s} listed {r['where']:14s} found {', '.join(found)}{flag}")
