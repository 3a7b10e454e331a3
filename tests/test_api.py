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
    # the row: 3x3/1 conv, H x W x C, depth 1, 3*3*3*8 + 8 params, 8*100*27 MACs, 800 bias adds
    assert "| conv | 3x3/1 | 10x10x8 | 1 | 224 | 21,600 | 800 | 800 |" in md
    assert "| **total** | - | - | - | **8,234** | **29,600** |" in md
    assert md.startswith("**tiny (spec)**")  # not the temporary file it was written to
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


# ---------------------------------------------------------------- the CLI is a thin layer


def _cli_json(*args):
    out = subprocess.run([sys.executable, "-m", "archcost", *args, "--format", "json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _as_json(value):
    from archcost.report import to_json

    return json.loads(to_json(value))


@pytest.mark.parametrize("spec", ["googlenet", "mobilenet_v2", "vit_b_16"])
def test_the_api_returns_what_the_cli_prints(spec):
    net = archcost.load(spec)
    assert _as_json(net.table()) == _cli_json("table", spec)
    assert _as_json(net.table(batch=4, expand=True)) == _cli_json("table", spec, "--batch", "4",
                                                                  "--expand")
    assert _as_json(net.memory(batch=2)) == _cli_json("memory", spec, "--batch", "2")
    assert _as_json(net.predict("h100", batch=8)) == _cli_json("predict", spec, "--profile",
                                                               "h100", "--batch", "8")
    assert net.render("md").splitlines()[-5:] == subprocess.run(
        [sys.executable, "-m", "archcost", "table", spec, "--format", "md"], cwd=ROOT,
        capture_output=True, text=True, env={"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin"},
        timeout=300).stdout.splitlines()[-5:]  # fmt: skip


def test_compare_returns_what_the_cli_prints():
    got = _as_json(archcost.compare("vgg16", "googlenet", "mobilenet", "--set", "alpha=0.5"))
    assert got == _cli_json("compare", "vgg16", "googlenet", "mobilenet", "--set", "alpha=0.5")
    # the three in order, the first the baseline; VGG-16 has torchvision's 138,357,544 params
    nets = got["networks"]
    assert [r["network"] for r in nets][0] == "vgg16" and nets[0]["baseline"]
    assert nets[0]["params"] == 138_357_544
    assert nets[1]["rel_params"] == pytest.approx(nets[1]["params"] / 138_357_544)
