"""Rows of type ``unknown``: an op archcost has no formula for is unknown, never 0.

The rule (archcost/unknown.py, README "Conventions"): every sum that includes an unknown is
unknown; text, Markdown, LaTeX and HTML show ``?``, CSV an empty cell, JSON ``null``. The
oracles are hand arithmetic written here (a 3x3 conv 3 -> 16 on 32x32 with padding 1 has
3*3*3*16 + 16 = 448 params and 3*3*3*16 * 32*32 = 442,368 MACs) and, for the imports, torch's
own ``sum(p.numel())`` of modules written in this file.
"""

import csv
import io
import json
import os
import textwrap

import pytest

from archcost import layers as L
from archcost.errors import SpecError
from archcost.spec import build

from .conftest import require_torch, run_cli
from .test_layers import run

FORMATS = ("text", "json", "csv", "md", "latex")

SPEC = """\
name: unk
title: a net with unknown ops
input: [3, 32, 32]
layers:
  - conv1: {type: conv, out: 16, k: 3, p: 1}
  - relu
  - cum: {type: unknown, op: torch.cumsum, shape: [16, 32, 32]}
  - odd: {type: unknown, op: MyLayer, shape: [16, 32, 32], params: 160, buffers: 0}
  - gap: {type: global_avgpool}
  - fc: {type: linear, out: 10}
"""
# by hand: conv1 448 params, 442,368 MACs, 16,384 bias adds; relu 16,384 ops; gap 16*32*32 =
# 16,384 adds; fc 16*10 + 10 = 170 params, 160 MACs, 10 bias adds
CONV_PARAMS, CONV_MACS = 3 * 3 * 3 * 16 + 16, 3 * 3 * 3 * 16 * 32 * 32
FC_PARAMS, FC_MACS = 16 * 10 + 10, 16 * 10
# activations: conv1 16*32*32, relu in place 0, cum and odd 16*32*32 each, gap 16, fc 10
ACTIVATIONS = 3 * 16 * 32 * 32 + 16 + 10


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "unknown.yaml"
    path.write_text(SPEC)
    return str(path)


def cli(*args):
    """(exit code, stdout, stderr) of archcost run in-process."""
    from click.testing import CliRunner

    from archcost.cli import cli as main

    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------- the primitive


def test_unknown_primitive():
    c = run("unknown", (4, 8, 8), op="torch.cumsum", shape=[4, 8, 8])
    assert c.shape == (4, 8, 8)
    assert (c.params, c.bias, c.buffers, c.macs, c.ops) == (None, None, None, None, None)
    c = run("unknown", (4, 8, 8), op="nn.Odd", shape=[2, 3], params=12, buffers=0)
    assert (c.params, c.buffers, c.macs, c.ops) == (12, 0, None, None)
    assert c.bias is None  # which of the 12 are biases is not known
    assert run("unknown", (4,), op="x", shape=[4], params=0).bias == 0
    assert L.layout_of(run("unknown", op="x", shape=[5, 6], layout="tokens").shape) == "LC"
    with pytest.raises(SpecError, match="does not fit"):
        run("unknown", op="x", shape=[5, 6], layout="CHW")
    with pytest.raises(SpecError, match="at least 1"):
        run("unknown", op="x", shape=[0, 6])


ORACLES = {"unknown": test_unknown_primitive}


def test_totals_are_unknown_and_the_rest_exact(spec):
    net = build(spec)
    t = net.totals()
    assert t["params"] is None and t["macs"] is None and t["ops"] is None
    assert t["buffers"] is None and t["weights"] is None
    assert t["activations"] == ACTIVATIONS  # known from the shapes
    rows = {r.id: r.sums() for r in net.rows}
    assert rows["conv1"]["params"] == CONV_PARAMS and rows["conv1"]["macs"] == CONV_MACS
    assert rows["fc"]["params"] == FC_PARAMS and rows["fc"]["macs"] == FC_MACS
    assert rows["cum"]["macs"] is None and rows["cum"]["params"] is None
    assert rows["odd"]["params"] == 160 and rows["odd"]["macs"] is None
    assert net.row("odd").params == 160 and net.row("cum").macs is None


def test_hand_written_row_errors(tmp_path):
    bad = {"op: torch.cumsum, shape: [16, 32, 32], macs: 5": "unknown field 'macs'",
           "shape: [16, 32, 32]": "needs 'op'|op",
           "op: x, shape: [16, 32, 32], params: -1": "at least 0"}  # fmt: skip
    for fields, message in bad.items():
        path = tmp_path / "bad.yaml"
        path.write_text(f"input: [3, 8, 8]\nlayers:\n  - u: {{type: unknown, {fields}}}\n")
        with pytest.raises(SpecError, match=message) as err:
            build(str(path))
        assert err.value.line == 3


def test_known_networks_keep_integers():
    t = build("googlenet").totals()
    assert all(type(t[q]) is int for q in ("params", "macs", "ops", "buffers", "weights"))


# ---------------------------------------------------------------- every format


def _cells(fmt, out, label):
    """The cells of the row whose first cell is ``label``, in text, CSV, Markdown, LaTeX."""
    for line in out.splitlines():
        if fmt == "csv":
            cells = next(csv.reader(io.StringIO(line)), [])
        elif fmt == "md":
            cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        elif fmt == "latex":
            cells = [c.strip() for c in line.rstrip("\\ ").split("&")]
        else:
            cells = line.split()
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r} in:\n{out}")


def _unknown_cell(fmt) -> str:
    return "" if fmt == "csv" else "?"


@pytest.mark.parametrize("fmt", FORMATS)
def test_table_every_format_shows_unknown_not_zero(spec, fmt):
    code, out, _ = cli("table", spec, "--format", fmt)
    assert code == 0
    if fmt == "json":
        data = json.loads(out)
        rows = {r["name"]: r for r in data["layers"]}
        assert rows["cum"]["macs"] is None and rows["cum"]["params"] is None
        assert rows["odd"]["params"] == 160 and rows["odd"]["macs"] is None
        assert rows["conv1"]["macs"] == CONV_MACS
        total = data["total"]
        assert total["macs"] is None and total["flops"] is None and total["params"] is None
        assert total["activations"] == ACTIVATIONS
        return
    # columns: layer, patch, output, depth, params, MACs, other ops, activations
    cum, total = _cells(fmt, out, "cum"), _cells(fmt, out, "total")
    u = _unknown_cell(fmt)
    if fmt == "text":  # split on spaces: the empty patch cell is not there
        assert cum[-4:] == ["?", "?", "?", "16,384"]
        assert total[-4:] == ["?", "?", "?", f"{ACTIVATIONS:,}"]
        assert "MACs ? = ? FLOPs" in out and "the known rows hold 442,528" in out
    else:
        assert cum[4:8] == [u, u, u, "16384" if fmt == "csv" else "16,384"]
        assert total[4:7] == [u, u, u]
    odd = _cells(fmt, out, "odd")
    assert "160" in odd and (odd.count(u) >= 2)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("view", [["--expand"], ["--depth", "1"], ["--by", "type"]])
def test_table_views_show_unknown(spec, fmt, view):
    code, out, _ = cli("table", spec, "--format", fmt, *view)
    assert code == 0
    if fmt == "json":
        data = json.loads(out)
        assert data["total"]["macs"] is None and data["total"]["flops"] is None
        records = data.get("layers") or data.get("types")
        unknown = [r for r in records if r.get("type") == "unknown"]
        assert unknown and all(r["macs"] is None for r in unknown)
        return
    label = "unknown" if view[0] == "--by" else "cum"
    cells = _cells(fmt, out, label)
    assert _unknown_cell(fmt) in cells[1:]
    total = _cells(fmt, out, "total")
    assert total.count(_unknown_cell(fmt)) >= 3 if fmt != "text" else total.count("?") >= 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_compare_every_format_shows_unknown_not_zero(spec, fmt):
    code, out, _ = cli("compare", spec, "googlenet", "--format", fmt, "--exact")
    assert code == 0
    if fmt == "json":
        nets = json.loads(out)["networks"]
        assert nets[0]["params"] is None and nets[0]["macs"] is None
        assert nets[0]["flops"] is None and nets[0]["activations"] == ACTIVATIONS
        assert nets[0]["unknown_rows"] == ["cum", "odd"]
        assert nets[1]["macs"] == 1_582_671_872  # googlenet stays known (README, Table 1)
        assert nets[1]["rel_macs"] is None  # a ratio to an unknown base is unknown
        return
    row = _cells(fmt, out, {"csv": "unk", "text": "unk"}.get(fmt, "unk (base)"))
    u = _unknown_cell(fmt)
    # network, params, MACs, FLOPs, activations, ...: text splits "unk (base)" in two
    cells = row[2:6] if fmt == "text" else row[1:5]
    assert cells == [u, u, u, f"{ACTIVATIONS:,}" if fmt != "csv" else str(ACTIVATIONS)]


def test_memory_predict_diff_formula_show_unknown(spec, tmp_path):
    code, out, _ = cli("memory", spec, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["params"] is None and data["weights_bytes"] is None
    assert data["backward_macs"] is None and data["inference_bytes"] is None
    assert data["peak_activation_bytes"] > 0  # activations are known
    code, out, _ = cli("memory", spec, "--train")
    assert code == 0 and "training (adam): unknown" in out
    code, out, _ = cli("predict", spec, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["total_ms"] is None and data["macs"] is None
    assert data["unknown_rows"] == ["cum", "odd"]
    assert {r["name"]: r["bound"] for r in data["layers"]}["cum"] == "unknown"
    code, out, _ = cli("predict", spec)
    assert code == 0 and "total time unknown (?)" in out
    known = tmp_path / "known.yaml"
    known.write_text("\n".join(line for line in SPEC.splitlines()
                               if "unknown" not in line) + "\n")  # fmt: skip
    code, out, _ = cli("diff", spec, known, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["total"]["delta"]["macs"] is None
    assert data["total"]["b"]["macs"] == CONV_MACS + FC_MACS
    code, out, _ = cli("diff", spec, known, "--format", "csv")
    assert _cells("csv", out, "cum")[8:12] == ["", "", "", ""]
    code, out, _ = cli("formula", spec)
    assert code == 0 and "unknown: no formula for torch.cumsum" in out
    other = tmp_path / "other.yaml"
    other.write_text(SPEC.replace("op: MyLayer", "op: OtherLayer"))
    code, out, _ = cli("diff", spec, other, "--format", "json")
    rows = {r["row"]: r for r in json.loads(out)["rows"]}
    assert rows["odd"]["status"] == "changed" and rows["odd"]["changes"] == ["op"]
    assert rows["cum"]["status"] == "same"


def test_formula_in_parameters_keeps_an_unknown_symbol(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent("""\
        params: {w: 16}
        input: [3, 32, 32]
        layers:
          - conv1: {type: conv, out: w, k: 3, p: 1}
          - cum: {type: unknown, op: torch.cumsum, shape: [w, 32, 32]}
        """))
    code, out, _ = cli("formula", path, "--in", "w", "--format", "json")
    data = json.loads(out)
    # by hand: conv params 27*w + w = 28*w, MACs 27*w*32*32 = 27648*w
    assert data["macs"]["expr"] == "macs_u1 + 27648*w" and data["macs"]["value"] is None
    assert data["params"]["expr"] == "params_u1 + 28*w"
    assert data["unknowns"][0]["row"] == "cum"


def test_graph_and_report_show_unknown(spec, tmp_path):
    code, out, _ = cli("graph", spec)
    assert code == 0 and '? MACs' in out and "(unknown)" in out
    html = tmp_path / "r.html"
    code, _, _ = cli("report", spec, "-o", html)
    text = html.read_text()
    assert code == 0 and 'data-v="unknown"><span>?</span>' in text and "None" not in text


def test_verify_bench_and_check_refuse(spec, tmp_path):
    for args in (("verify", spec), ("bench", spec)):
        result = run_cli(*args)
        if "torch is not installed" in result.stderr:
            continue
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "2 unknown rows" in result.stderr
    table = tmp_path / "t.yaml"
    table.write_text(textwrap.dedent(f"""\
        id: t
        title: t
        source: t
        network: {os.path.basename(spec)}
        conventions: none
        columns:
          params: {{quantity: params, unit: 1, rounding: nearest}}
        rows:
          - {{label: conv1, network: {os.path.basename(spec)}, row: conv1, params: 448}}
        errata: []
        """))
    code, _, err = cli("check", table)
    assert code == 2 and "cannot be checked" in err


def test_sweep_shows_unknown_and_solve_refuses(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("params: {w: 16}\ninput: [3, 8, 8]\nlayers:\n  - c: {type: conv, out: w, "
                    "k: 1}\n  - u: {type: unknown, op: x, shape: [w, 8, 8], params: 0}\n")
    code, out, _ = cli("sweep", path, "--set", "w=8,16", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["params"] for r in rows] == ["32", "64"]  # 3*w + w: known
    assert [r["MACs"] for r in rows] == ["", ""]
    code, _, err = cli("solve", path, "--budget", "macs=1M", "--for", "w")
    assert code == 2 and "unknown" in err
    code, out, _ = cli("solve", path, "--budget", "params=40", "--for", "w")
    assert code == 0 and "w = 10" in out  # 4*w <= 40


# ---------------------------------------------------------------- import --allow-unknown

MODULE = '''\
import torch
from torch import nn


class Cum(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.bn(self.conv(x))
        x = torch.cumsum(x, dim=1)
        return self.fc(x.mean((2, 3)))


class Norm(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.norm = nn.LayerNorm(6)

    def forward(self, x):
        return self.norm(self.conv(x))
'''
CUMSUM_LINE = 14  # the line of torch.cumsum in MODULE
# by hand: conv 3*3*3*8 + 8 = 224, bn 2*8 = 16, fc 8*10 + 10 = 90; BN running stats 2*8
CUM_PARAMS, CUM_STATS = 224 + 16 + 90, 16


@pytest.fixture
def module_file(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(MODULE)
    return str(path)


def test_import_without_the_option_is_an_error(module_file):
    require_torch()
    result = run_cli("import", "torch", f"{module_file}:Cum", "--input", "3,8,8")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "cumsum" in result.stderr and f"models.py:{CUMSUM_LINE}" in result.stderr


def test_import_torch_allow_unknown(module_file, tmp_path):
    require_torch()
    out = tmp_path / "cum.yaml"
    result = run_cli("import", "torch", f"{module_file}:Cum", "--input", "3,8,8",
                     "--allow-unknown", "-o", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1 unknown row(s)" in result.stderr and "DIFF" not in result.stderr
    assert "MACs              spec          unknown" in result.stderr
    text = out.read_text()
    assert "type: unknown, op: torch.cumsum, shape: [8, 8, 8], params: 0, buffers: 0" in text
    assert f"models.py:{CUMSUM_LINE}" in text
    import importlib.util

    spec_ = importlib.util.spec_from_file_location("models_u", module_file)
    mod = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(mod)
    model = mod.Cum()
    assert sum(p.numel() for p in model.parameters()) == CUM_PARAMS  # torch agrees by hand
    t = build(str(out)).totals()
    assert t["params"] == CUM_PARAMS and t["buffers"] == CUM_STATS and t["macs"] is None
    for fmt in FORMATS:
        code, shown, _ = cli("table", out, "--format", fmt)
        assert code == 0
        if fmt == "json":
            total = json.loads(shown)["total"]
            assert total["macs"] is None and total["params"] == CUM_PARAMS
            continue
        cells = _cells(fmt, shown, "total")
        assert _unknown_cell(fmt) in cells or fmt == "text" and "?" in cells
        assert f"{CUM_PARAMS}" in "".join(cells).replace(",", "")


def test_import_module_with_params_allow_unknown(module_file):
    require_torch()
    import importlib.util

    import archcost

    spec_ = importlib.util.spec_from_file_location("models_n", module_file)
    mod = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(mod)
    with pytest.raises(SpecError, match="LayerNorm"):
        archcost.import_torch(mod.Norm(), input=(3, 5, 6))
    result = archcost.import_torch(mod.Norm(), input=(3, 5, 6), allow_unknown=True)
    # LayerNorm(6) on the last axis of a (4, 5, 6) map: 2*6 params, by hand; conv 3*4 + 4
    assert result.totals["params"] == 12 + 16 and result.totals["macs"] is None
    assert result.unknown_rows == ["norm"]
    assert "op: nn.LayerNorm, shape: [4, 5, 6], params: 12" in result.spec_text


def test_import_onnx_allow_unknown(tmp_path):
    torch = require_torch()
    pytest.importorskip("onnx")
    from torch import nn

    class Cumulative(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.fc = nn.Linear(4, 5)

        def forward(self, x):
            return self.fc(torch.cumsum(self.conv(x), dim=1).mean((2, 3)))

    model = Cumulative().eval()
    path = tmp_path / "cum.onnx"
    torch.onnx.export(model, (torch.zeros(1, 3, 8, 8),), str(path), dynamo=False)
    result = run_cli("import", "onnx", str(path))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "ONNX op CumSum" in result.stderr
    out = tmp_path / "cum.yaml"
    result = run_cli("import", "onnx", str(path), "--allow-unknown", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "1 unknown row(s)" in result.stderr
    # by hand: conv 3*3*3*4 + 4 = 112, fc 4*5 + 5 = 25
    assert sum(p.numel() for p in model.parameters()) == 137
    t = build(str(out)).totals()
    assert t["params"] == 137 and t["macs"] is None
    assert "type: unknown, op: ONNX CumSum, shape: [4, 8, 8]" in out.read_text()
    for fmt in FORMATS:
        code, shown, _ = cli("compare", out, "--format", fmt)
        assert code == 0
        if fmt == "json":
            assert json.loads(shown)["networks"][0]["macs"] is None
        else:
            assert ("?" if fmt != "csv" else ",,") in shown


def test_import_hook_trace_and_blocks_allow_unknown():
    torch = require_torch()
    from torch import nn

    import archcost

    class Unit(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            if x.sum() > -1e9:  # control flow on a value: torch.fx cannot trace it (hooks do)
                x = torch.cumsum(self.conv(x), dim=2)
            return x

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.units = nn.Sequential(Unit(), Unit(), Unit())

        def forward(self, x):
            return self.units(x)

    model = Net()
    result = archcost.import_torch(model, input=(4, 5, 5), allow_unknown=True)
    assert any("torch.fx could not trace" in n for n in result.notes)
    # by hand: 3 units of a 1x1 conv 4 -> 4: 3 * (4*4 + 4) = 60 = numel
    assert result.totals["params"] == 60 == sum(p.numel() for p in model.parameters())
    assert result.totals["macs"] is None and len(result.unknown_rows) == 3
    text = result.spec_text
    assert "blocks:" in text and "repeat: 3" in text  # the unknown row is inside the block
    assert "type: unknown, op: torch.cumsum" in text and "test_unknown_rows.py:" in text


def test_report_sorts_unknown_after_the_numbers_in_a_browser(spec, tmp_path):
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    html = tmp_path / "r.html"
    assert cli("report", spec, "-o", html)[0] == 0
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.as_uri())
        button = page.locator('th[data-sort="macs"] button').first
        orders = []
        for _ in range(2):  # descending, then ascending
            button.click()
            orders.append(page.locator("table.layers tbody tr td.name").all_inner_texts())
        browser.close()
    assert not errors
    # MACs by hand: conv1 442,368 > fc 160 > relu = gap = 0 (layer order); unknown last
    assert orders[0] == ["conv1", "fc", "relu", "gap", "cum", "odd"]
    assert orders[1] == ["relu", "gap", "fc", "conv1", "cum", "odd"]
