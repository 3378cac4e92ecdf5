"""ganlib.plot: animations are animated PNGs (no JavaScript), figures read at notebook width."""
from __future__ import annotations

import base64
import io

import matplotlib
import numpy as np
import pytest
from PIL import Image

matplotlib.use("Agg")

from ganlib import plot  # noqa: E402


def _draw(fig, k):
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(np.arange(10), np.arange(10) * k, color="tab:green")
    ax.set_title(f"frame {k}")


def test_animate_writes_an_animated_png_that_needs_no_javascript():
    out = plot.animate([1, 2, 3], _draw, figsize=(4, 3), dpi=50, interval=100, hold_last=5)
    im = Image.open(io.BytesIO(out.data))
    assert im.format == "PNG" and im.is_animated and im.n_frames == 3 and im.size == (200, 150)
    png = out._repr_png_()           # shown as a plain image/png output (base64 in recent IPython)
    assert (base64.b64decode(png) if isinstance(png, str) else png) == out.data
    im.seek(2)
    assert im.info["duration"] == 500             # the last frame is held longer
    first = np.asarray(Image.open(io.BytesIO(out.data)).convert("RGB"))
    assert (np.abs(first.astype(int) - [44, 160, 44]).sum(-1) < 40).any()  # the green line survives the palette


def test_animate_interactive_is_the_javascript_player_and_empty_input_is_refused():
    html = plot.animate([1, 2], _draw, figsize=(2, 2), dpi=30, interactive=True)
    assert "<script" in html.data
    with pytest.raises(ValueError, match="frames"):
        plot.animate([], _draw)
