"""Notebook 04's exercise checks: pass on the reference solutions, fail with the intended message on
typical wrong answers (asserted on what the learner would read)."""
from __future__ import annotations

import math

import pytest
import torch

from ganlib.checks import load_solutions, nb04
from conftest import run_check as run

SOL = load_solutions(4)


@pytest.mark.parametrize("check,name", [(nb04.check_count_modes, "count_modes"), (nb04.check_pack, "pack"),
                                        (nb04.check_kl_from_uniform, "kl_from_uniform")])
def test_reference_solutions_pass(check, name, capsys):
    ok, out = run(check, getattr(SOL, name), capsys)
    assert ok, out
    assert "correct" in out and "not yet" not in out


def _placeholder(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check", [nb04.check_count_modes, nb04.check_pack, nb04.check_kl_from_uniform])
def test_placeholders_fail_gently(check, capsys):
    ok, out = run(check, _placeholder, capsys)
    assert not ok and "not written yet" in out


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


@pytest.mark.parametrize("wrong,message", [
    (_count_with_radius(lambda s: s), "the radius is 3 sigma, not sigma"),
    (_count_with_radius(lambda s: (3 * s) ** 2), "compared with (3 sigma)^2"),
    (_count_samples_not_modes, "the number of high-quality *samples*"),
    (_hq_as_count, "is a count; divide by the number of samples"),
    (_hq_as_percent, "looks like a percentage"),
])
def test_count_modes_names_the_mistake(wrong, message, capsys):
    ok, out = run(nb04.check_count_modes, wrong, capsys)
    assert not ok and "not yet" in out
    assert message in out, out


# ------------------------------------------------------------------------------ exercise 2: pack
def _pack_interleaved(x, k):
    m = x.shape[0]
    return x.reshape(k, m // k, x.shape[1]).transpose(0, 1).reshape(m // k, k * x.shape[1])


def _pack_swapped(x, k):
    return x.reshape(k, -1)


def _pack_drops_remainder(x, k):
    m = (x.shape[0] // k) * k
    return x[:m].reshape(m // k, -1)


@pytest.mark.parametrize("wrong,message", [
    (_pack_interleaved, "mix samples from different parts of the batch"),
    (_pack_swapped, "rows and columns are swapped"),
    (_pack_drops_remainder, "cannot be split into pairs, but it returned a result"),
])
def test_pack_names_the_mistake(wrong, message, capsys):
    ok, out = run(nb04.check_pack, wrong, capsys)
    assert not ok and "not yet" in out
    assert message in out, out


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


@pytest.mark.parametrize("wrong,message", [
    (_kl_nan, "returns NaN when a mode has no samples"),
    (_kl_reversed, "the other direction"),
    (_kl_bits, "in bits"),
    (_kl_unnormalised, "did you normalise counts"),
])
def test_kl_names_the_mistake(wrong, message, capsys):
    ok, out = run(nb04.check_kl_from_uniform, wrong, capsys)
    assert not ok and "not yet" in out
    assert message in out, out


# ------------------------------------------------------------------------------ the notebook's expectations
def test_preset_hint_says_what_can_differ_not_that_a_setting_changed(capsys):
    from ganlib import checks

    assert not checks.expect("ring: collapse, mean modes captured", 5.0, 0, 4, fmt=".1f", hint=nb04.PRESET_HINT)
    out = capsys.readouterr().out
    assert "outside the expected 0.0 to 4.0" in out
    for word in ("CPU", "threads", "seed", "one torch thread", "seeds 0-9"):
        assert word in out, out
    assert "Did you change a setting" not in out and "Rerun the notebook" not in out


def test_default_hint_never_blames_the_learner(capsys):
    from ganlib import checks

    assert checks.expect("x", 0.5, 0, 1) and "\u2705" in capsys.readouterr().out
    assert not checks.expect("x", float("nan"), 0, 1)   # nan is never inside
    out = capsys.readouterr().out
    assert checks.DEFAULT_HINT in out and "CPU" in out and "thread" in out and "seed" in out
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
