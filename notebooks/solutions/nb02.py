"""Reference solutions for notebook 02's exercises (look here only after trying).

Each function is what ``ganlib.checks.nb02`` compares your answer with.
"""
from __future__ import annotations

import numpy as np
from scipy import integrate, special

from ganlib import theory


def peak_of_f(a: float, b: float) -> float:
    """Exercise 1: f(y) = a log y + b log(1 - y); f'(y) = a/y - b/(1 - y) = 0 gives a(1 - y) = b y."""
    return a / (a + b)


def d_star(x: np.ndarray, p_data, p_g) -> np.ndarray:
    """Exercise 2: D*(x) = p_data(x) / (p_data(x) + p_g(x)), the pointwise peak with a = p_data(x), b = p_g(x).

    Where both densities underflow to 0 every value is optimal; return 1/2 there instead of 0/0.
    """
    a, b = p_data(x), p_g(x)
    total = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, a / total, 0.5)


def value_on_grid(x: np.ndarray, p_data_x: np.ndarray, p_g_x: np.ndarray, d_x: np.ndarray) -> float:
    """Exercise 3: V(G, D) = int p_data log D + p_g log(1 - D) dx by the trapezoid rule (0 log 0 = 0)."""
    integrand = special.xlogy(p_data_x, d_x) + special.xlog1py(p_g_x, -d_x)
    return float(integrate.trapezoid(integrand, x))


def jsd_from_kl(x: np.ndarray, p_x: np.ndarray, q_x: np.ndarray) -> float:
    """Exercise 4: JSD(P || Q) = KL(P || M)/2 + KL(Q || M)/2 with the midpoint M = (P + Q)/2."""
    m_x = (p_x + q_x) / 2
    return 0.5 * theory.grid_kl(p_x, m_x, x) + 0.5 * theory.grid_kl(q_x, m_x, x)
