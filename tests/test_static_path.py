"""The static path never imports torch, and imports sympy only when formulas are asked for."""

import json
import subprocess
import sys

import pytest

from .conftest import ROOT

DRIVER = """
import json, sys
from archcost.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
mods = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sympy', 'numpy', 'matplotlib'))
sys.stderr.write('\\nMODULES=' + json.dumps(mods) + '\\n')
sys.stderr.write('EXIT=' + json.dumps(code) + '\\n')
"""

STATIC = [
    ("table", "googlenet", "--format", "json"),
    ("table", "specs/googlenet.yaml"),
    ("table", "googlenet", "--format", "csv", "--train", "--expand"),
    ("check",),
    ("check", "--format", "json"),
    ("list", "--format", "json"),
    ("compare", "vgg16", "googlenet", "mobilenet", "--format", "json"),
    ("compare", "vgg16", "googlenet", "mobilenet"),
    ("diff", "googlenet", "googlenet:torchvision"),
    ("memory", "resnet50", "--train", "--optimizer", "adam"),
    ("predict", "resnet50", "--profile", "h100", "--batch", "256", "--dtype", "bfloat16"),
    ("sweep", "mobilenet", "--set", "alpha=0.25:1.0:0.25"),
    ("table", "resnet50", "--fold-bn", "--format", "json"),
    ("layers",),
    ("layers", "conv", "--format", "json"),
    ("table", "mobilenet", "--resolution", "160", "--exact", "--format", "latex"),
]


def heavy_modules(*args):
    result = subprocess.run([sys.executable, "-c", DRIVER, *args], cwd=ROOT, capture_output=True,
                            text=True, env={"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin"}, timeout=120)
    line = [x for x in result.stderr.splitlines() if x.startswith("MODULES=")][-1]
    code = [x for x in result.stderr.splitlines() if x.startswith("EXIT=")][-1]
    # a command that fails early imports little: it must have run to the end (exit 0)
    assert json.loads(code[len("EXIT="):]) in (0, None), result.stderr[-800:]
    return json.loads(line[len("MODULES="):])


@pytest.mark.parametrize("args", STATIC, ids=[" ".join(a) for a in STATIC])
def test_static_commands_import_neither_torch_nor_sympy(args):
    assert heavy_modules(*args) == []


def test_symbolic_output_imports_sympy_but_not_torch():
    mods = heavy_modules("table", "googlenet", "--symbolic", "--format", "json")
    assert "sympy" in mods and not any(m.startswith("torch") for m in mods)


NO_RICH = """
import sys
sys.modules["rich"] = None  # as on a machine where only click and PyYAML are installed
from archcost.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("args", [
    ("table", "specs/googlenet.yaml"), ("check",), ("compare", "vgg16", "googlenet", "mobilenet"),
    ("table", "vit_b_16"), ("layers",), ("memory", "resnet50"), ("list",),
])
def test_the_static_commands_print_without_rich(args):
    """`python -m archcost` from a checkout that was never installed (no rich) exited 3 with
    "internal error: ModuleNotFoundError: No module named 'rich'": the text tables fall back to
    plain columns."""
    result = subprocess.run([sys.executable, "-c", NO_RICH, *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr
    assert "params" in result.stdout or "name" in result.stdout


def test_a_command_that_needs_rich_says_how_to_install_it():
    # --bars draws with rich: without it, one error line naming the package, exit 2
    result = subprocess.run([sys.executable, "-c", NO_RICH, "table", "googlenet", "--bars"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: this command needs the rich package")
    assert result.stderr.count("\n") == 1
