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
