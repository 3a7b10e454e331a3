import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UPDATE_GOLDEN = os.environ.get("ARCHCOST_UPDATE_GOLDEN") == "1"


def run_cli(*args, cwd=ROOT, timeout=120):
    """Run `python -m archcost ARGS` as a subprocess, as a user would."""
    env = dict(os.environ, PYTHONPATH=ROOT, COLUMNS="200")
    env.pop("ARCHCOST_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "archcost", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


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
