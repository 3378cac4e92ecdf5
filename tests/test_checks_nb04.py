"""Notebook 04's exercise checks: pass on the reference solutions, fail with the intended message on
typical wrong answers (asserted on what the learner would read)."""
from __future__ import annotations

import math

import pytest
import torch

from ganlib.checks import load_solutions, nb04
from conftest import run_check as run
from test_checks_messages import CORRECT, NOT_WRITTEN, NOT_YET, cases, lang, phrase  # noqa: F401 (lang: a fixture)

SOL = load_solutions(4)


@pytest.mark.parametrize("check,name", [(nb04.check_count_modes, "count_modes"), (nb04.check_pack, "pack"),
                                        (nb04.check_kl_from_uniform, "kl_from_uniform")])
def test_reference_solutions_pass(check, name, lang, capsys):
    ok, out = run(check, getattr(SOL, name), capsys)
    assert ok, out
    assert NOT_YET[lang] not in out
    phrase(out, lang, CORRECT["en"], CORRECT["ko"])


def _placeholder(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check", [nb04.check_count_modes, nb04.check_pack, nb04.check_kl_from_uniform])
def test_placeholders_fail_gently(check, lang, capsys):
    ok, out = run(check, _placeholder, capsys)
    assert not ok
    phrase(out, lang, NOT_WRITTEN["en"], NOT_WRITTEN["ko"])


# ------------------------------------------------------------------------------ exercise 1: count modes
def _count_with_radius(radius_of_sigma):
    def fn(samples, means, sigma):
        d = torch.cdist(samples.double(), means.double())
        nearest, which = d.min(dim=1)
        good = nearest <= radius_of_sigma(sigma)
        return int(which[good].unique().numel()), float(good.double().mean())
    return fn


def _count_samples_not_modes(samples, means, sigma):
    d = torch.cdist(samples.double(), means.double())
    good = d.min(dim=1).values <= 3 * sigma
    return int(good.sum()), float(good.double().mean())


def _hq_as_count(samples, means, sigma):
    modes, hq = SOL.count_modes(samples, means, sigma)
    return modes, hq * len(samples)


def _hq_as_percent(samples, means, sigma):
    modes, hq = SOL.count_modes(samples, means, sigma)
    return modes, 100 * hq


@pytest.mark.parametrize("wrong,message,message_ko", cases([
    (_count_with_radius(lambda s: s), "the radius is 3 sigma, not sigma", "반지름은 sigma가 아니라 3 sigma"),
    (_count_with_radius(lambda s: (3 * s) ** 2), "compared with (3 sigma)^2", "거리를 (3 sigma)^2과 비교했습니다"),
    (_count_samples_not_modes, "the number of high-quality *samples*", "고품질 *샘플*의 개수"),
    (_hq_as_count, "is a count; divide by the number of samples", "개수입니다. 샘플 수("),
    (_hq_as_percent, "looks like a percentage", "백분율로 보입니다"),
]))
def test_count_modes_names_the_mistake(wrong, message, message_ko, lang, capsys):
    ok, out = run(nb04.check_count_modes, wrong, capsys)
    assert not ok and NOT_YET[lang] in out
    phrase(out, lang, message, message_ko)


# ------------------------------------------------------------------------------ exercise 2: pack
def _pack_interleaved(x, k):
    m = x.shape[0]
    return x.reshape(k, m // k, x.shape[1]).transpose(0, 1).reshape(m // k, k * x.shape[1])


def _pack_swapped(x, k):
    return x.reshape(k, -1)


def _pack_drops_remainder(x, k):
    m = (x.shape[0] // k) * k
    return x[:m].reshape(m // k, -1)


@pytest.mark.parametrize("wrong,message,message_ko", cases([
    (_pack_interleaved, "mix samples from different parts of the batch", "서로 다른 부분에서 온 샘플이 섞였습니다"),
    (_pack_swapped, "rows and columns are swapped", "행과 열이 뒤바뀌었습니다"),
    (_pack_drops_remainder, "cannot be split into pairs, but it returned a result",
     "쌍으로 나눌 수 없는데도 결과를 반환했습니다"),
]))
def test_pack_names_the_mistake(wrong, message, message_ko, lang, capsys):
    ok, out = run(nb04.check_pack, wrong, capsys)
    assert not ok and NOT_YET[lang] in out
    phrase(out, lang, message, message_ko)


# ------------------------------------------------------------------------------ exercise 3: KL
def _kl_nan(counts):
    q = counts.double() / counts.sum()
    return float((q * torch.log(len(q) * q)).sum())


def _kl_reversed(counts):
    q = counts.double() / counts.sum()
    u = torch.full_like(q, 1 / len(q))
    return float((u * torch.log(u / q)).sum())


def _kl_bits(counts):
    return SOL.kl_from_uniform(counts) / math.log(2)


def _kl_unnormalised(counts):
    c = counts.double()
    nz = c > 0
    return float((c[nz] * torch.log(len(c) * c[nz])).sum())


@pytest.mark.parametrize("wrong,message,message_ko", cases([
    (_kl_nan, "returns NaN when a mode has no samples", "샘플이 없는 모드가 있으면 NaN을 반환합니다"),
    (_kl_reversed, "the other direction", "반대 방향의 KL(uniform || q)"),
    (_kl_bits, "in bits", "비트 단위"),
    (_kl_unnormalised, "did you normalise counts", "정규화했습니까?"),
]))
def test_kl_names_the_mistake(wrong, message, message_ko, lang, capsys):
    ok, out = run(nb04.check_kl_from_uniform, wrong, capsys)
    assert not ok and NOT_YET[lang] in out
    phrase(out, lang, message, message_ko)


# ------------------------------------------------------------------------------ the notebook's expectations
def test_preset_hint_says_what_can_differ_not_that_a_setting_changed(lang, capsys):
    from ganlib import checks

    assert not checks.expect("ring: collapse, mean modes captured", 5.0, 0, 4, fmt=".1f", hint=nb04.PRESET_HINT)
    out = capsys.readouterr().out
    phrase(out, lang, "outside the expected 0.0 to 4.0", "예상 범위(0.0 ~ 4.0)를 벗어났습니다")
    words = {"en": ("CPU", "threads", "seed", "one torch thread", "seeds 0-9"),
             "ko": ("CPU", "스레드 수", "시드", "torch 스레드 하나", "시드 0-9")}[lang]
    for word in words:
        assert word in out, out
    assert "Did you change a setting" not in out and "Rerun the notebook" not in out


def test_default_hint_never_blames_the_learner(lang, capsys):
    from ganlib import checks

    assert checks.expect("x", 0.5, 0, 1) and "\u2705" in capsys.readouterr().out
    assert not checks.expect("x", float("nan"), 0, 1)   # nan is never inside
    out = capsys.readouterr().out
    assert checks.t(checks.DEFAULT_HINT) in out and "CPU" in out
    assert ("thread" in out and "seed" in out) if lang == "en" else ("스레드" in out and "시드" in out)
    assert "Did you change a setting" not in out


def test_notebook_04_gives_every_expectation_the_preset_hint():
    import ast
    import json

    from ganlib.config import REPO_DIR

    nb = json.loads((REPO_DIR / "notebooks" / "04_mode_collapse_explorer.ipynb").read_text(encoding="utf-8"))
    nodes = [node for c in nb["cells"] if c["cell_type"] == "code"
             for node in ast.walk(ast.parse("".join(c["source"])))]
    calls = [n for n in nodes
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "expect"]
    # The hint may be passed through a short name, e.g. H = nb04.PRESET_HINT.
    aliases = {t.id for n in nodes if isinstance(n, ast.Assign) and ast.unparse(n.value) == "nb04.PRESET_HINT"
               for t in n.targets if isinstance(t, ast.Name)}
    assert len(calls) >= 6
    for call in calls:
        hints = [ast.unparse(k.value) for k in call.keywords if k.arg == "hint"]
        assert len(hints) == 1 and hints[0] in {"nb04.PRESET_HINT", *aliases}, ast.unparse(call)
