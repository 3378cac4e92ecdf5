"""Shared fixtures for the unit tests; tools/ (the maintainers' scripts) is importable from them."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))


@pytest.fixture
def one_thread():
    """Tiny models: one torch thread is as fast on a quiet machine and far faster on a shared one
    (two threads spin-wait for each other when other processes hold the cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run_check(check, fn, capsys) -> tuple[bool, str]:
    """Run an exercise check on ``fn``; return (passed, what it printed). Used by tests/test_checks_*."""
    ok = check(fn)
    return ok, capsys.readouterr().out
