"""Real-browser tests: JupyterLab in headless Chromium, driven by Playwright. Run: ``make test-browser``.

One JupyterLab server (free local port, random token) serves a temporary copy of ``notebooks/``
(the working tree is never written) with a fresh Jupyter data folder, so every notebook opens
**untrusted and unrun, as in a fresh clone**. Then:

* ``test_notebook_renders_untrusted[<notebook>]``: every committed notebook (``notebooks/*.ipynb``
  and sub-folders such as ``notebooks/ko/``; another folder via ``GANLIB_BROWSER_NOTEBOOKS``) is
  opened and scrolled through; every stored image output (PNG, animated GIF/WebP) must be loaded
  with a non-zero natural size, and no output may show a widget's text repr (``VBox(children=``),
  ``Loading widget...``/``Error displaying widget``, an error/traceback, or tqdm's text fallback.
  Failures name the notebook and the cell; a first-screen screenshot per notebook goes to
  ``test-artifacts/nb<name>.png`` (and one per offending cell).
* ``test_checker_flags_bad_and_passes_good``: the same checks on two notebooks written here, one
  with a PNG and an animated GIF (must pass), one with each known problem (each must be flagged
  at its cell), so the checks above can fail.
* ``test_explorer_train_stop_refuse``: notebook 04's explorer: run its cell, Train (the picture
  changes), Stop (the status says "Stopped at" within 1 s of the click), then an invalid setting
  ("lr of D" = 5) is refused in the status line (it names lr_d) and nothing trains.
* ``test_no_news_prompt``: the JupyterLab settings that ``make setup`` installs
  (``.jupyter/lab-overrides.json`` -> ``$(VENV)/share/jupyter/lab/settings/overrides.json``) are
  served, and no "official Jupyter news" prompt appears.

Set-up (Debian's chromium, the ``playwright`` client) is ``tests/browser/setup.sh``. Under
``make test`` (GANLIB_QUICK=1) this module is skipped unless GANLIB_BROWSER=1 (``make test-browser``
sets it). Without playwright or chromium it is skipped, except under CI=true, where it fails.
"""
from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GANLIB_CHROMIUM") or "/usr/bin/chromium"  # setup.sh installs Debian's
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")

# `make test` (GANLIB_QUICK=1) leaves this to `make test-browser` (GANLIB_BROWSER=1).
if os.environ.get("GANLIB_QUICK") == "1" and os.environ.get("GANLIB_BROWSER") != "1":
    pytest.skip("real-browser test: run it with `make test-browser` (or set GANLIB_BROWSER=1)",
                allow_module_level=True)


def _missing(why: str) -> None:
    msg = f"{why} (run `bash tests/browser/setup.sh`, or `make test-browser`)"
    if IN_CI:
        pytest.fail(f"CI=true: the real-browser test cannot run: {msg}", pytrace=False)
    pytest.skip(msg, allow_module_level=True)


try:
    from playwright import sync_api
except ImportError:
    _missing("the playwright client is not installed")
if not Path(CHROMIUM).exists():
    _missing(f"{CHROMIUM} is not installed")

NOTEBOOK_DIR = Path(os.environ.get("GANLIB_BROWSER_NOTEBOOKS") or REPO / "notebooks").resolve()
DEFAULT_DIR = NOTEBOOK_DIR == (REPO / "notebooks").resolve()
ARTIFACTS = REPO / "test-artifacts"
EXPLORER_NOTEBOOK = "04_mode_collapse_explorer.ipynb"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LAB_OVERRIDES = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"

# The widget-repr pattern is the one tests/test_committed_notebooks.py uses on the stored JSON.
_spec = importlib.util.spec_from_file_location("_committed", REPO / "tests" / "test_committed_notebooks.py")
_committed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_committed)
WIDGET_REPR_JS = rf"(^|\n)\s*({_committed.WIDGET_NAMES})\((\)|children=|value=|description=|layout=|max=|min=|options=)"
TQDM_JS = _committed.TQDM_TEXT.pattern


def committed_notebooks(root: Path = NOTEBOOK_DIR) -> list[Path]:
    return sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


NOTEBOOKS = committed_notebooks()


def artifact_name(rel: str) -> str:
    """'notebooks/01_toy_gan_1d.ipynb' -> 'nb01_toy_gan_1d'; 'notebooks/ko/01_x.ipynb' -> 'ko_nb01_x'."""
    parts = Path(rel).with_suffix("").parts
    if parts[0] == "notebooks":
        parts = parts[1:]
    return "_".join([*parts[:-1], "nb" + parts[-1] if parts[-1][:1].isdigit() else parts[-1]])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _user_settings(root: Path) -> Path:
    """Test-only user settings: every cell in the DOM (no windowing), no autosave, kernels shut down
    on close. The news/update settings are NOT set here: they must come from make's overrides."""
    settings = root / "user-settings"
    for ext, name, value in [("@jupyterlab/notebook-extension", "tracker",
                              {"windowingMode": "none", "kernelShutdown": True}),
                             ("@jupyterlab/docmanager-extension", "plugin", {"autosave": False})]:
        d = settings / ext
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{name}.jupyterlab-settings").write_text(json.dumps(value))
    return settings


# --- the self-check notebooks: one good, one with every problem the checks must flag -----------

def _png_and_gif() -> tuple[str, str]:
    from PIL import Image, ImageDraw
    png = io.BytesIO()
    Image.new("RGB", (64, 32), (30, 120, 200)).save(png, format="PNG")
    frames = []
    for k in range(4):
        im = Image.new("RGB", (48, 48), "white")
        ImageDraw.Draw(im).ellipse((4 + 8 * k, 16, 16 + 8 * k, 28), fill="black")
        frames.append(im)
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return base64.b64encode(png.getvalue()).decode(), base64.b64encode(gif.getvalue()).decode()


def _notebook(cells: list[dict]) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": _committed.KERNELSPEC},
            "cells": [{"id": f"c{i}", **c} for i, c in enumerate(cells)]}


def _code(outputs: list[dict]) -> dict:
    return {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "pass", "outputs": outputs}


def _selfcheck_notebooks() -> tuple[dict, dict, dict[int, str]]:
    png, gif = _png_and_gif()
    plain = {"text/plain": "<Figure size 640x320 with 1 Axes>"}
    good = _notebook([
        {"cell_type": "markdown", "metadata": {}, "source": "# A good notebook"},
        _code([{"output_type": "stream", "name": "stdout", "text": "trained 468 steps (28,472 images/s)\n"}]),
        _code([{"output_type": "display_data", "metadata": {}, "data": {"image/png": png, **plain}}]),
        _code([{"output_type": "display_data", "metadata": {}, "data": {"image/gif": gif, **plain}}]),
        _code([{"output_type": "display_data", "metadata": {},
                "data": {"application/vnd.jupyter.widget-view+json":
                         {"model_id": "0" * 32, "version_major": 2, "version_minor": 0},
                         "image/png": png, "text/plain": "VBox(children=(Button(description='Train'),))"}}]),
    ])
    jshtml = ('<div class="animation"><img id="_anim_img0"><div class="anim-controls">'
              '<button onclick="anim0.play_animation()">play</button></div></div>'
              '<script language="javascript">var anim0 = new Animation([], "_anim_img0");</script>')
    bad_cells = {
        1: "image output",        # an <img> without src: a to_jshtml player, untrusted
        2: "widget text repr",    # a widget view without image/png: its text/plain shows
        3: "tqdm text",
        4: "error output",
        5: "image output",        # a PNG whose data is not an image
    }
    bad = _notebook([
        {"cell_type": "markdown", "metadata": {}, "source": "# A bad notebook"},
        _code([{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                "data": {"text/html": jshtml, "text/plain": "<IPython.core.display.HTML object>"}}]),
        _code([{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                "data": {"application/vnd.jupyter.widget-view+json":
                         {"model_id": "1" * 32, "version_major": 2, "version_minor": 0},
                         "text/plain": "VBox(children=(HBox(children=(Button(description='Train'),)),))"}}]),
        _code([{"output_type": "display_data", "metadata": {},
                "data": {"application/vnd.jupyter.widget-view+json":
                         {"model_id": "2" * 32, "version_major": 2, "version_minor": 0},
                         "image/png": png,
                         "text/plain": "mlp GAN on mnist:   0%|          | 0/2340 [00:00<?, ?step/s]"}},
               {"output_type": "stream", "name": "stderr",
                "text": "mlp GAN on mnist:  45%|####5     | 1053/2340 [00:21<00:26, 49.1step/s]\n"}]),
        _code([{"output_type": "error", "ename": "ValueError", "evalue": "boom",
                "traceback": ["Traceback (most recent call last)", "ValueError: boom"]}]),
        _code([{"output_type": "display_data", "metadata": {},
                "data": {"image/png": base64.b64encode(b"not a png at all").decode(), **plain}}]),
    ])
    return good, bad, bad_cells


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab():
    """JupyterLab on a free port serving a temporary copy of the notebooks; yields (base, token, root)."""
    port, token = free_port(), secrets.token_hex(16)
    tmp = Path(tempfile.mkdtemp(prefix="ganlib-lab-"))
    root = tmp / "root"
    shutil.copytree(NOTEBOOK_DIR, root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    good, bad, _ = _selfcheck_notebooks()
    (root / "selfcheck").mkdir()
    (root / "selfcheck" / "good.ipynb").write_text(json.dumps(good))
    (root / "selfcheck" / "bad.ipynb").write_text(json.dumps(bad))
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(_user_settings(tmp)),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
           # A fresh data folder: no notebook signatures, so every notebook opens untrusted.
           "JUPYTER_DATA_DIR": str(tmp / "data"), "JUPYTER_CONFIG_DIR": str(tmp / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "MPLBACKEND": "Agg"}
    log_path = tmp / "lab.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.token={token}", "--allow-root", f"--notebook-dir={root}",
         "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.5)
        yield base, token, root
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def page(lab):
    """One headless Chromium page with JupyterLab loaded (its app object exposed as window.jupyterapp)."""
    base, token, _ = lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.goto(f"{base}/lab?token={token}", wait_until="domcontentloaded")
        pg.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=120_000)
        pg.evaluate("() => window.jupyterapp.restored")
        try:
            yield pg
        finally:
            browser.close()


# --- checking one notebook in the page ----------------------------------------------------------

OPEN_JS = """
async (path) => {
  const app = window.jupyterapp;
  await app.commands.execute('application:close-all');
  const w = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await w.context.ready;
  await w.revealed;
  const nb = w.content;
  const until = Date.now() + 60000;
  while (nb.widgets.length < nb.model.cells.length && Date.now() < until)
    await new Promise(r => setTimeout(r, 100));
  await Promise.all(nb.widgets.map(c => c.ready));
  window.__ganlibNotebook = w;
  nb.widgets.forEach((c, i) => c.node.setAttribute('data-ganlib-cell', String(i)));
  return nb.model.cells.length;
}
"""

CHECK_JS = """
async ({widgetRepr, tqdm}) => {
  const w = window.__ganlibNotebook;
  const cells = w.content.widgets;
  const problems = [];
  const trusted = [];
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  // Scroll through, so every output is laid out and every image starts loading.
  for (const c of cells) { c.node.scrollIntoView({block: 'start'}); await new Promise(r => requestAnimationFrame(r)); }
  await sleep(300);
  const imgs = [...w.content.node.querySelectorAll('.jp-OutputArea-output img, .jp-RenderedMarkdown img')];
  await Promise.all(imgs.map(img => (img.complete || !img.getAttribute('src')) ? null :
    new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); setTimeout(r, 15000); })));
  const reWidget = new RegExp(widgetRepr), reTqdm = new RegExp(tqdm);
  cells.forEach((cell, i) => {
    const add = what => problems.push([i, what]);
    if (cell.model.type === 'code') {
      const outs = cell.model.outputs;
      if (cell.model.trusted && outs.length) trusted.push(i);
      for (let k = 0; k < outs.length; k++) {
        const o = outs.get(k);
        if (o.type === 'error') add('error output ' + JSON.stringify(String((o.toJSON() || {}).ename || '')));
      }
    }
    for (const img of cell.node.querySelectorAll('.jp-OutputArea-output img, .jp-RenderedMarkdown img')) {
      const src = img.getAttribute('src') || '';
      if (/^https?:/.test(src)) continue;  // an external picture cannot load offline
      if (!src) add('image output without a picture (no src: a JavaScript player, blank when untrusted)');
      else if (!(img.complete && img.naturalWidth > 0 && img.naturalHeight > 0))
        add(`image output not loaded (naturalWidth ${img.naturalWidth}): ${src.slice(0, 40)}...`);
    }
    for (const out of cell.node.querySelectorAll('.jp-OutputArea-output')) {
      const text = out.innerText || '';
      const excerpt = JSON.stringify(text.trim().slice(0, 80));
      if (reWidget.test(text)) add('widget text repr ' + excerpt);
      if (/Loading widget\\.\\.\\.|Error displaying widget/.test(text)) add('widget not displayed ' + excerpt);
      if (reTqdm.test(text)) add('tqdm text ' + excerpt);
      const stderr = out.querySelector('[data-mime-type="application/vnd.jupyter.stderr"]');
      if (stderr && /Traceback|^\\w+Error: /m.test(stderr.innerText)) add('traceback in stderr ' + excerpt);
    }
  });
  w.content.node.closest('.jp-WindowedPanel-outer, .jp-Notebook')?.scrollTo?.(0, 0);
  cells[0]?.node.scrollIntoView({block: 'start'});
  return {problems, trusted, images: imgs.length};
}
"""

CLOSE_JS = """
async () => {
  const w = window.__ganlibNotebook;
  if (!w || w.isDisposed) return;
  try {
    await Promise.race([w.sessionContext.ready, new Promise(r => setTimeout(r, 20000))]);
    await w.sessionContext.shutdown();
  } catch (e) { /* no kernel to shut down */ }
  w.context.model.dirty = false;
  w.dispose();
  window.__ganlibNotebook = null;
}
"""


def check_notebook(page, rel: str) -> dict:
    """Open ``rel`` (a path under the served root) untrusted, scroll through, return what the checks
    found: problems as [cell index, what], the cells that were trusted, the number of images."""
    page.evaluate(OPEN_JS, rel)
    try:
        found = page.evaluate(CHECK_JS, {"widgetRepr": WIDGET_REPR_JS, "tqdm": TQDM_JS})
        name = artifact_name(rel)
        page.wait_for_timeout(200)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        for index in sorted({i for i, _ in found["problems"]})[:4]:
            try:
                page.locator(f'[data-ganlib-cell="{index}"]').screenshot(
                    path=str(ARTIFACTS / f"{name}_cell{index}.png"), timeout=5000)
            except Exception:  # noqa: BLE001 - a screenshot is a help, never the failure
                pass
    finally:
        page.evaluate(CLOSE_JS)
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(NOTEBOOK_DIR)) for p in NOTEBOOKS])
def test_notebook_renders_untrusted(page, path):
    rel = "notebooks/" + path.relative_to(NOTEBOOK_DIR).as_posix()
    found = check_notebook(page, rel)
    assert not found["trusted"], (f"{rel} opened trusted (cells {found['trusted']}); a fresh clone is "
                                  "untrusted, so this check would not see what a learner sees")
    if found["problems"]:
        lines = [f"cell {i}: {what}" for i, what in found["problems"]]
        pytest.fail(f"{rel} opened untrusted, as in a fresh clone, shows {len(lines)} problem(s) "
                    f"(screenshots in test-artifacts/{artifact_name(rel)}*.png):\n  " + "\n  ".join(lines),
                    pytrace=False)


def test_checker_flags_bad_and_passes_good(page):
    good = check_notebook(page, "selfcheck/good.ipynb")
    assert good["images"] == 3, good
    assert not good["problems"], f"the checks flag a good notebook: {good['problems']}"
    bad = check_notebook(page, "selfcheck/bad.ipynb")
    _, _, expected = _selfcheck_notebooks()
    for index, what in expected.items():
        assert any(i == index and what in p for i, p in bad["problems"]), \
            f"cell {index} ({what}) not flagged; flagged: {bad['problems']}"
    assert {i for i, _ in bad["problems"]} == set(expected), bad["problems"]


def test_no_news_prompt(lab, page):
    base, token, _ = lab
    assert LAB_OVERRIDES.exists(), f"{LAB_OVERRIDES} is missing: `make setup` installs it from .jupyter/lab-overrides.json"
    req = urllib.request.Request(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification",
                                 headers={"Authorization": f"token {token}"})
    setting = json.load(urllib.request.urlopen(req, timeout=10))
    # The server applies overrides.json to the schema's defaults.
    defaults = {k: v.get("default") for k, v in setting["schema"]["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults
    # The prompt (a toast) comes a moment after start-up: give it a few seconds to show.
    prompt = page.get_by_text(re.compile("official Jupyter news", re.I))
    try:
        prompt.first.wait_for(timeout=4000)
    except sync_api.TimeoutError:
        pass
    if prompt.count():
        page.screenshot(path=str(ARTIFACTS / "news_prompt.png"))
        pytest.fail(f"JupyterLab asks: {prompt.first.inner_text()!r} (is {LAB_OVERRIDES} installed?)")


# --- notebook 04's explorer, live ----------------------------------------------------------------

STOP_JS = """
async ([button, status]) => new Promise(resolve => {
  const t0 = performance.now();
  const done = ok => { obs.disconnect(); resolve([ok, (performance.now() - t0) / 1000, status.innerText]); };
  const obs = new MutationObserver(() => { if (/Stopped at/.test(status.innerText)) done(true); });
  obs.observe(status, {subtree: true, childList: true, characterData: true});
  button.click();
  setTimeout(() => done(false), 30000);
})
"""


def _set_control(explorer, label: str, value: str) -> None:
    box = explorer.locator(".widget-inline-hbox", has=explorer.page.locator("label", has_text=label)).first
    field = box.locator("input").first
    field.fill(value)
    field.press("Enter")
    field.press("Tab")


@pytest.mark.skipif(not (NOTEBOOK_DIR / EXPLORER_NOTEBOOK).exists() and not DEFAULT_DIR,
                    reason=f"{EXPLORER_NOTEBOOK} is not in GANLIB_BROWSER_NOTEBOOKS")
def test_explorer_train_stop_refuse(page):
    rel = f"notebooks/{EXPLORER_NOTEBOOK}"
    page.evaluate(OPEN_JS, rel)
    try:
        page.wait_for_function(
            "() => { const k = window.__ganlibNotebook.sessionContext.session?.kernel;"
            " return k && k.status === 'idle'; }", timeout=120_000)
        index = page.evaluate(
            "() => window.__ganlibNotebook.content.widgets.findIndex(c => c.model.type === 'code' &&"
            " c.model.sharedModel.getSource().includes('widgets.Explorer('))")
        assert index >= 0, f"no cell of {rel} builds widgets.Explorer("
        cell = page.locator(f'[data-ganlib-cell="{index}"]')
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")

        explorer = cell.locator(".ganlib-explorer").first
        explorer.wait_for(timeout=120_000)
        image = explorer.locator("img").first
        page.wait_for_function("el => el.getAttribute('src') && el.naturalWidth > 0",
                               arg=image.element_handle(), timeout=60_000)
        # The status line: the explorer's HTML widget that says what to do next.
        status = explorer.locator(".widget-html").filter(has_text=re.compile(r"Ready|Press Train|Train")).last
        status.wait_for(timeout=60_000)
        status_el = status.element_handle()
        explorer.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "nb04_explorer_before.png"))

        # Train long enough that Stop finds it running.
        _set_control(explorer, "steps per Train", "200000")
        before = image.get_attribute("src")
        explorer.get_by_role("button", name="Train").click()
        page.wait_for_function("([el, old]) => el.getAttribute('src') !== old && el.naturalWidth > 0",
                               arg=[image.element_handle(), before], timeout=120_000)
        page.wait_for_function("el => /Training \\d+ steps/.test(el.innerText)", arg=status_el, timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "nb04_explorer_training.png"))

        stop_button = explorer.get_by_role("button", name="Stop").element_handle()
        stopped, seconds, text = page.evaluate(STOP_JS, [stop_button, status_el])
        page.screenshot(path=str(ARTIFACTS / "nb04_explorer_stopped.png"))
        assert stopped, f"the status never said 'Stopped at' within 30 s of Stop; it says {text!r}"
        assert seconds < 1.0, f"Stop took {seconds:.2f} s to take effect (status {text!r}); it must be < 1 s"
        print(f"Stop took effect {seconds:.2f} s after the click")
        (ARTIFACTS / "nb04_explorer_stop_seconds.txt").write_text(f"{seconds:.3f}\n")
        # The thread draws its last picture after the message: wait until the picture stays still.
        src, still_since = image.get_attribute("src"), time.monotonic()
        while time.monotonic() - still_since < 1.5:
            page.wait_for_timeout(250)
            if image.get_attribute("src") != src:
                src, still_since = image.get_attribute("src"), time.monotonic()

        # An invalid setting is refused in the widget, and nothing trains.
        _set_control(explorer, "lr of D", "5")
        before = image.get_attribute("src")
        explorer.get_by_role("button", name="Train").click()
        page.wait_for_function("el => /lr_d/.test(el.innerText)", arg=status_el, timeout=30_000)
        page.wait_for_timeout(1500)
        text = status_el.inner_text()
        assert re.search(r"cannot|can't|refus", text, re.I) and "lr_d" in text, text
        assert "Training" not in text, text
        assert image.get_attribute("src") == before, "the picture changed: something trained"
        errors = page.evaluate(
            "i => { const o = window.__ganlibNotebook.content.widgets[i].model.outputs; const r = [];"
            " for (let k = 0; k < o.length; k++) if (o.get(k).type === 'error') r.push(k); return r; }", index)
        assert not errors, "the explorer cell shows a traceback"
        page.screenshot(path=str(ARTIFACTS / "nb04_explorer_refused.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "nb04_explorer_failure.png"))
        raise
    finally:
        page.evaluate(CLOSE_JS)
