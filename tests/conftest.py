import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UPDATE_GOLDEN = os.environ.get("ARCHCOST_UPDATE_GOLDEN") == "1"
IN_CI = os.environ.get("CI") == "true"


def require_torch():
    """torch, or a skip where it is not installed; in CI (CI=true), where the README's test
    command installs it, a failing import fails the test instead of skipping it silently."""
    if IN_CI:
        import torch

        return torch
    return pytest.importorskip("torch")


def run_cli(*args, cwd=ROOT, timeout=120):
    """Run `python -m archcost ARGS` as a subprocess, as a user would."""
    env = dict(os.environ, PYTHONPATH=ROOT, COLUMNS="200")
    env.pop("ARCHCOST_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "archcost", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def in_root(monkeypatch):
    """Run the test from the repository root (specs given as relative paths)."""
    monkeypatch.chdir(ROOT)


def invoke_ok(*args):
    """Run archcost in-process through click.testing; it must succeed; return its output."""
    from click.testing import CliRunner

    from archcost.cli import cli

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def golden(name, text):
    """Compare with tests/golden/NAME; ARCHCOST_UPDATE_GOLDEN=1 rewrites it."""
    path = os.path.join(ROOT, "tests", "golden", name)
    if UPDATE_GOLDEN or not os.path.exists(path):
        if not UPDATE_GOLDEN:
            pytest.fail(f"golden file {name} is missing; run with ARCHCOST_UPDATE_GOLDEN=1")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(path, encoding="utf-8") as handle:
        expected = handle.read()
    assert text == expected, f"output differs from tests/golden/{name} (ARCHCOST_UPDATE_GOLDEN=1 to accept)"
