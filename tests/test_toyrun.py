"""Notebook 01's numbers: the Figure-1 run ends at p_g ~ p_data and D ~ 1/2, reproducibly."""
import numpy as np
import pytest

from ganlib import toy, toyrun


@pytest.fixture(scope="module")
def run():
    return toyrun.run_figure1(seed=0)


def test_end_of_training_numbers(run):
    assert run.jsd < 0.01, f"JSD(p_data || p_g) = {run.jsd:.4f} nats"
    assert run.max_abs_d_minus_half < 0.05, f"max |D - 1/2| = {run.max_abs_d_minus_half:.3f}"


def test_four_panels_with_exact_density(run):
    assert [p["label"] for p in run.panels] == ["(a)", "(b)", "(c)", "(d)"]
    final = run.panels[-1]
    assert final["exact"]
    # the exact p_g integrates to ~1 on the panel grid
    assert abs(np.trapezoid(final["p_g"], final["x"]) - 1) < 0.01
    # panel (b): D trained alone moved closer to D* than panel (a)'s D, where the data lives
    a, b = run.panels[0], run.panels[1]
    lo, hi = run.target.central_interval(0.95)
    mask = (a["x"] > lo) & (a["x"] < hi)
    d_star = a["p_data"] / (a["p_data"] + a["p_g"] + 1e-300)
    assert np.abs(b["d"] - d_star)[mask].mean() < np.abs(a["d"] - d_star)[mask].mean()


def test_same_seed_same_numbers(run):
    again = toyrun.run_figure1(seed=0, steps=600)
    twice = toyrun.run_figure1(seed=0, steps=600)
    assert again.history.d_loss == twice.history.d_loss
    assert again.jsd == twice.jsd


def test_generator_density_matches_change_of_variables():
    import torch
    G = torch.nn.Linear(1, 1)
    with torch.no_grad():
        G.weight.fill_(-0.5)
        G.bias.fill_(2.0)
    x = np.linspace(-1, 5, 601)
    pg, exact = toyrun.generator_density(G, x)
    assert exact
    np.testing.assert_allclose(pg, toy.gaussian(2.0, 0.5).pdf(x), atol=1e-4)
    assert toyrun.jsd_on_grid(pg, pg, x) == pytest.approx(0.0, abs=1e-12)
