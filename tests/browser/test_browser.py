"""Real-browser test of notebook 04's explorer: JupyterLab in headless Chromium, driven by Playwright.

Starts ``jupyter lab`` on a free local port with a random token, opens
``notebooks/04_mode_collapse_explorer.ipynb``, runs the explorer cell (it is self-contained:
its own imports), clicks **Train** and checks that the figure (an ``ipywidgets.Image``) changes
and the status line reports training; a screenshot goes to ``test-artifacts/``. Set-up
(Debian's chromium, the ``playwright`` client) is ``tests/browser/setup.sh``; run both with
``make test-browser``. It is skipped when playwright or chromium is missing, and under
``make test`` (GANLIB_QUICK=1, unless GANLIB_BROWSER=1), which keeps the unit-test run short.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

# `make test` (GANLIB_QUICK=1) leaves this ~40 s test to `make test-browser`; GANLIB_BROWSER=1 forces it.
if os.environ.get("GANLIB_QUICK") == "1" and os.environ.get("GANLIB_BROWSER") != "1":
    pytest.skip("real-browser test: run it with `make test-browser` (or set GANLIB_BROWSER=1)",
                allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "04_mode_collapse_explorer.ipynb"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} not installed (run tests/browser/setup.sh)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_settings(root: Path) -> Path:
    """User settings: render every cell (no windowing, so the explorer cell is in the DOM), no news."""
    settings = root / "user-settings"
    for ext, name, value in [("@jupyterlab/notebook-extension", "tracker", {"windowingMode": "none"}),
                             ("@jupyterlab/apputils-extension", "notification",
                              {"fetchNews": "false", "checkForUpdates": False})]:
        d = settings / ext
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{name}.jupyterlab-settings").write_text(json.dumps(value))
    return settings


@pytest.fixture(scope="module")
def lab():
    """A JupyterLab server on a free port serving notebooks/; yields (base_url, token)."""
    port, token = free_port(), secrets.token_hex(16)
    tmp = Path(tempfile.mkdtemp(prefix="ganlib-lab-"))
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(_lab_settings(tmp)),
           "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "MPLBACKEND": "Agg"}
    log = open(tmp / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.token={token}", "--allow-root", f"--notebook-dir={REPO / 'notebooks'}",
         "--ServerApp.port_retries=0", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
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
                    pytest.fail("JupyterLab did not start:\n" + (tmp / "lab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_explorer_trains_in_jupyterlab(lab):
    base, token = lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}", wait_until="domcontentloaded")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
            # Wait for the kernel to be idle before running anything.
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)

            # The explorer cell: the code cell that builds widgets.Explorer.
            cell = page.locator(".jp-CodeCell").filter(has_text="widgets.Explorer(").first
            cell.scroll_into_view_if_needed()
            cell.locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")

            explorer = page.locator(".ganlib-explorer").first
            explorer.wait_for(timeout=120_000)
            image = explorer.locator("img").first
            page.wait_for_function(
                "el => el.getAttribute('src') && el.naturalWidth > 0", arg=image.element_handle(), timeout=60_000)
            before = image.get_attribute("src")
            explorer.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "nb04_explorer_before.png"))

            explorer.get_by_role("button", name="Train").click()
            page.wait_for_function("([el, old]) => el.getAttribute('src') !== old && el.naturalWidth > 0",
                                   arg=[image.element_handle(), before], timeout=120_000)
            status = explorer.locator(".widget-html").filter(has_text="step").first
            status.wait_for(timeout=60_000)
            text = status.inner_text()
            assert "Training" in text or "Done" in text, text
            assert "modes" in text, text
            page.screenshot(path=str(ARTIFACTS / "nb04_explorer_training.png"))
            assert image.get_attribute("src") != before

            explorer.get_by_role("button", name="Stop").click()
            page.wait_for_function(
                "el => /Stopped at|Done:|Nothing is training/.test(el.innerText)",
                arg=status.element_handle(), timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "nb04_explorer_stopped.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "nb04_explorer_failure.png"))
            raise
        finally:
            browser.close()
    assert (ARTIFACTS / "nb04_explorer_training.png").stat().st_size > 10_000
