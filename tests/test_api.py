"""The Python API (archcost.api): rows and totals as exact ints, and its views.

Oracles: hand arithmetic on a spec written here, torchvision's documented parameter count
(GoogLeNet 6,624,904; ResNet-50 25,557,032), and torch's numel for an imported module.
"""

import json
import subprocess
import sys

import pytest

import archcost

from .conftest import ROOT, require_torch

TINY = """
title: tiny
input: [3, 10, 10]
layers:
  - conv: {out: 8, k: 3, p: 1}
  - relu
  - fc: {type: linear, out: 10}
"""


def test_totals_and_rows_by_hand():
    net = archcost.from_text(TINY)
    conv = 3 * 3 * 3 * 8
    assert net.totals["params"] == conv + 8 + 800 * 10 + 10
    assert net.totals["macs"] == conv * 100 + 800 * 10
    assert net.totals["flops"] == 2 * net.totals["macs"]
    assert [r["id"] for r in net.rows] == ["conv", "relu", "fc"]
    assert net.rows[0]["shape"] == [8, 10, 10] and net.rows[0]["activations"] == 800
    assert all(type(r["macs"]) is int for r in net.rows)
    assert sum(r["params"] for r in net.rows) == net.totals["params"]


def test_load_builtin_and_variant_matches_torchvision_documented_params():
    assert archcost.load("googlenet:torchvision").totals["params"] == 6_624_904
    assert archcost.load("resnet50:torchvision").totals["params"] == 25_557_032


def test_spec_parameters_against_the_paper():
    # MobileNet v1 (Howard et al. 2017) Table 6: 0.50 MobileNet-224 has 149 million
    # mult-adds and 1.3 million parameters
    half = archcost.load("mobilenet", alpha=0.5)
    assert round(half.totals["macs"] / 1e6) == 149
    assert round(half.totals["params"] / 1e5) == 13
    assert half.to_dict()["params"]["alpha"] == "1/2"


def test_views():
    net = archcost.from_text(TINY)
    md = net.to_markdown()
    assert "| conv | conv | 8x10x10 | 224 | 21,600 |" in md and "| **total** |" in md
    data = json.loads(json.dumps(net.to_dict()))
    assert data["totals"]["params"] == 8234 and len(data["rows"]) == 3
    mem = net.memory(batch=2)
    assert mem["weights_bytes"] == 4 * 8234  # float32
    formulas = net.formulas()
    assert formulas[0]["macs"] == 21_600 and "C_out" in formulas[0]["macs_formula"]
    assert "params 8,234" in repr(net)


def test_import_of_a_module():
    torch = require_torch()
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 6 * 6, 2))  # fmt: skip
    net = archcost.import_torch(model, input=(3, 8, 8))
    assert net.totals["params"] == sum(p.numel() for p in model.parameters())
    assert net.totals["macs"] == 3 * 9 * 4 * 36 + 144 * 2
    assert "input: [3, 8, 8]" in net.spec_text


def test_import_archcost_is_light():
    code = ("import sys, archcost; archcost.load('googlenet'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sympy', 'onnx')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin"}, timeout=120)  # fmt: skip
    assert out.stdout.strip() == "[]", out.stderr


def test_unknown_attribute():
    with pytest.raises(AttributeError):
        archcost.nothing_here  # noqa: B018
