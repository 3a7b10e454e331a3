"""Every published table in specs/tables/ reproduces: each cell matches or is a documented erratum.

This is the test that fails (and so CI fails) the moment a printed cell stops reproducing.
"""

import subprocess
import sys

import pytest

from archcost.tables import check_table, table_files

from .conftest import ROOT


@pytest.mark.parametrize("path", table_files(), ids=lambda p: p.rsplit("/", 1)[-1][:-5])
def test_published_table_reproduces(path):
    result = check_table(path)
    bad = [(c.row, c.column, c.published, c.computed, c.note) for c in result.cells
           if c.status == "mismatch"]
    assert not bad, f"{result.id}: cells that no longer reproduce: {bad}"
    assert result.cells, "a table with no printed cell"
    for cell in result.cells:
        if cell.status == "erratum":
            assert len(cell.reason) > 40, f"{result.id} {cell.row}/{cell.column}: explain the erratum"


def test_every_table_states_its_conventions_and_source():
    from archcost.yamlio import load_file

    for path in table_files():
        doc = load_file(path)
        assert str(doc.get("conventions", "")).strip(), path
        assert str(doc.get("source", "")).strip(), path


# ---------------------------------------------------------------- conventions as data

import csv  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import textwrap  # noqa: E402
from decimal import Decimal  # noqa: E402
from fractions import Fraction  # noqa: E402

from archcost.spec import build  # noqa: E402
from archcost.tables import COUNTS, quantum, regenerate, round_to  # noqa: E402

from .conftest import run_cli  # noqa: E402


def test_printed_significant_figures():
    # trailing zeros of a whole number are not significant; decimals always are
    assert quantum(Decimal("15300"), 0, "significant") == 100
    assert quantum(Decimal("60"), 0, "significant") == 10
    assert quantum(Decimal("568"), 0, "significant") == 1
    assert quantum(Decimal("1.32"), 2, "significant") == Fraction(1, 100)
    assert quantum(Decimal("540"), 0, "decimals") == 1
    # 15,346,630,656 MACs (VGG-16's convolutions) at 15300's precision, in millions
    assert round_to(Fraction(15_346_630_656, 10**6), Fraction(100), "nearest") == 15300
    assert round_to(Fraction(163_328, 1024), Fraction(1), "floor") == 159  # 159.5 truncated
    assert round_to(Fraction(163_328, 1024), Fraction(1), "nearest") == 160


def test_count_presets_by_hand():
    lenet = build("lenet5")
    # MACs 117,600 + 240,000 + 48,000 + 10,080 + 840, plus 4 reads per 2x2-pooled output
    window = COUNTS["pool-window"].value(lenet, lenet.nodes, "macs")
    assert window == 416_520 + 4 * 14 * 14 * 6 + 4 * 5 * 5 * 16 == 422_824
    vgg = build("vgg16")
    convs = [(224, 3, 64), (224, 64, 64), (112, 64, 128), (112, 128, 128), (56, 128, 256),
             (56, 256, 256), (56, 256, 256), (28, 256, 512), (28, 512, 512), (28, 512, 512),
             (14, 512, 512), (14, 512, 512), (14, 512, 512)]  # fmt: skip
    by_hand = sum(h * h * 9 * cin * cout for h, cin, cout in convs)
    assert COUNTS["conv-only"].value(vgg, vgg.nodes, "macs") == by_hand == 15_346_630_656
    mobilenet = build("mobilenet")
    total = mobilenet.total("macs")
    assert COUNTS["no-classifier"].value(mobilenet, mobilenet.nodes, "macs") == total - 1024 * 1000
    # the first convolution is the only full 3x3 one: 112*112 positions x 27 x 32
    assert COUNTS["full-conv"].value(mobilenet, mobilenet.nodes, "macs") == 112 * 112 * 27 * 32
    # kernels leave out the batch norms' 2 x C per layer
    assert COUNTS["kernels"].value(mobilenet, mobilenet.nodes, "weights") == 4_209_088
    alexnet = build("alexnet")
    neurons = COUNTS["weight-outputs"].value(alexnet, alexnet.nodes, "activations")
    assert neurons == 55 * 55 * 96 + 27 * 27 * 256 + 2 * 13 * 13 * 384 + 13 * 13 * 256 + 4096 * 2 + 1000


def _table(tmp_path, text):
    path = tmp_path / "t.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_ratio_share_and_node_cells(tmp_path):
    path = _table(tmp_path, """\
        id: t
        title: t
        source: hand
        conventions: hand
        network: lenet5
        columns:
          weights: {quantity: weights}
          share: {quantity: macs, count: conv-only, share: true, unit: 0.01}
          ratio: {quantity: ratio}
          patch: {quantity: patch}
        rows:
          - {label: fc1, row: fc1, weights: 48000}
          - {label: fc2, row: fc2, weights: 10080}
          - {label: convs, row: total, share: 85.85}
          - {label: fc1 over fc2, of: [fc1, weights], to: [fc2, weights], ratio: 4.8}
          - {label: pool node, row: pool1, patch: 2x2/2}
        """)  # fmt: skip
    result = check_table(path)
    assert result.ok and [c.status for c in result.cells] == ["match"] * 5
    # (117,600 + 240,000) / 416,520 = 85.854...%; 48,000 / 10,080 = 4.76
    assert math.floor(10000 * Fraction(357_600, 416_520) + Fraction(1, 2)) == 8585
    ratio = next(c for c in result.cells if c.column == "ratio")
    assert ratio.computed == "4.8" and ratio.exact == "100/21"  # 48,000 / 10,080 exactly


@pytest.mark.parametrize("cell, error", [
    ("{label: x, row: total, weights: 61.47K}", "counts in units of 1"),
    ("{label: x, row: total, wieghts: 61470}", "row key 'wieghts' is neither a column"),
    ("{label: x, row: 'conv9', weights: 1}", "network lenet5 has no row 'conv9'"),
    ("{label: x, of: [nothing, weights], to: [x, weights], weights: 1}", "no numeric cell"),
])  # fmt: skip
def test_table_mistakes_are_one_line_errors(tmp_path, cell, error):
    path = _table(tmp_path, f"""\
        id: t
        network: lenet5
        columns:
          weights: {{quantity: weights}}
        rows:
          - {cell}
        """)  # fmt: skip
    result = run_cli("check", path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and error in result.stderr, result.stderr


# ---------------------------------------------------------------- the table as printed

# GoogLeNet Table 1 as the paper prints it (seed 000): params (K) and ops (M) per row
TABLE1 = {"conv 7x7/2": ("2.7K", "34M"), "convolution 3x3/1": ("112K", "360M"),
          "inception (3a)": ("159K", "128M"), "inception (3b)": ("380K", "304M"),
          "inception (4a)": ("364K", "73M"), "inception (4b)": ("437K", "88M"),
          "inception (4c)": ("463K", "100M"), "inception (4d)": ("580K", "119M"),
          "inception (4e)": ("840K", "170M"), "inception (5a)": ("1072K", "54M"),
          "inception (5b)": ("1388K", "71M"), "linear": ("1000K", "1M")}  # fmt: skip


def test_check_table_id_prints_the_paper_layout():
    result = run_cli("check", "googlenet-table1", "--format", "json")
    assert result.returncode == 0, result.stderr
    layout = json.loads(result.stdout)["layout"]
    headers = [c["header"] for c in layout["columns"]]
    assert headers == ["type", "patch size/stride", "output size", "depth", "#1x1", "#3x3 reduce",
                       "#3x3", "#5x5 reduce", "#5x5", "pool proj", "params", "ops"]  # fmt: skip
    rows = {r["label"]: r for r in layout["rows"]}
    assert len(layout["rows"]) == 19
    cell = rows["inception (3a)"]["cells"]["params"]
    assert cell["status"] == "match" and cell["computed"] == "159K" and cell["published"] == "159K"
    assert cell["exact"] == 163_328 and cell["unit"] == "K = 1024" and cell["network"] == "googlenet"
    assert cell["rounding"] == "truncated at the printed decimals"
    bad = rows["conv 7x7/2"]["cells"]["params"]
    assert bad["status"] == "erratum" and bad["exact"] == 7 * 7 * 3 * 64
    note = layout["footnotes"][bad["footnote"] - 1]
    assert "K = 1024" in note["convention"] and "9,408" in note["text"]
    assert rows["inception (4e)"]["cells"]["c3r"]["computed"] == "160"
    text = run_cli("check", "googlenet-table1", "--format", "md").stdout
    assert "| conv 7x7/2 | googlenet | convolution ✓ | 7x7/2 ✓ | 112x112x64 ✓ |" in text
    assert "| 9.1K (printed 2.7K) †1 | 118M (printed 34M) †2 |" in text and "159K ✓" in text
    latex = run_cli("check", "googlenet-table1", "--format", "latex").stdout
    assert "\\begin{tabular}" in latex and "(printed 2.7K) [1]" in latex


def test_table_units_paper_reads_like_table1():
    result = run_cli("table", "googlenet", "--units", "paper", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    header = rows[0]
    p, o = header.index("params (weights, K = 1024)"), header.index("ops (MACs, M = 10^6)")
    got = {r[0]: (r[p], r[o]) for r in rows[1:] if r[0] in TABLE1}
    errata = {(c.row, c.column) for c in check_table(find_table_path("googlenet-table1")).cells
              if c.status == "erratum"}  # fmt: skip
    compared = 0
    for row, (params, ops) in TABLE1.items():
        if (row, "params") not in errata:
            assert got[row][0] == params, row
            compared += 1
        if (row, "ops") not in errata:
            assert got[row][1] == ops, row
            compared += 1
    assert compared == 24 - 12  # 12 printed cells are errata (9 params, 3 ops)
    # pooling rows have no weights and no MACs: blank, as the paper prints them
    pool = next(r for r in rows[1:] if r[0] == "max pool 3x3/2")
    assert pool[p] == "" and pool[o] == ""


def find_table_path(table_id):
    from archcost.tables import find_table

    return find_table(table_id)


def test_units_paper_needs_a_published_table():
    result = run_cli("table", "resnet50", "--units", "paper")
    assert result.returncode == 2 and "no published table" in result.stderr


def test_summary_all_heading_separators_and_networks():
    result = run_cli("check", "lenet5-lecture", "resnet-lecture", "--all", "--format", "md")
    assert result.returncode == 0
    out = result.stdout
    assert "every cell" in out and "cells that differ" not in out
    assert "| 433,800 | 422,824 |" in out  # thousands separators, printed and computed
    assert "resnet34:option\\_a" in out  # the network (variant) of each row, Markdown-escaped


def test_every_erratum_names_its_convention_and_counts():
    cells = [c for p in table_files() for c in check_table(p).cells]
    assert len(cells) >= 600
    errata = [c for c in cells if c.status == "erratum"]
    assert errata and all(c.convention and c.unit for c in errata)
    assert not [c for c in cells if c.status == "mismatch"]


def test_regenerate_returns_the_table_as_data():
    data = regenerate("lenet5-lecture")
    assert data["ok"] and data["counts"] == {"match": 17, "erratum": 2, "mismatch": 0}
    total = data["rows"][-1]["cells"]["flops"]
    assert total["computed"] == "422,824" and total["status"] == "erratum"
    assert "pooling window" in total["convention"]


@pytest.mark.parametrize("old, new", [
    ("macs: 15300, params: 138}", "macs: 15400, params: 138}"),  # a significant-figure cell
    ("ratio: 32}", "ratio: 33}"),  # a ratio cell
])  # fmt: skip
def test_check_fails_when_a_new_cell_breaks(tmp_path, old, new):
    src = open(find_table_path("mobilenet-lecture")).read()
    assert old in src
    path = tmp_path / "t.yaml"
    path.write_text(src.replace(old, new))
    result = run_cli("check", str(path))
    assert result.returncode == 1 and "FAILED" in result.stdout


def test_lenet_erratum_goes_stale_when_printed_as_its_method_gives(tmp_path):
    src = open(find_table_path("lenet5-lecture")).read()
    path = tmp_path / "t.yaml"
    text = src.replace("flops: 433800}", "flops: 422824}").replace("printed: 433800",
                                                                   "printed: 422824")
    path.write_text(text)
    result = run_cli("check", str(path), "--format", "json")
    assert result.returncode == 1
    cells = json.loads(result.stdout)["tables"][0]["cells"]
    assert [c["note"] for c in cells if "note" in c] == [
        "stale erratum: the printed value now reproduces"]


def test_coverage_references_exist():
    """docs/coverage.md names cells as `TABLE :: ROW LABEL`: each must be a row of that table."""
    import os
    import re

    from archcost.tables import find_table

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = open(os.path.join(root, "docs", "coverage.md"), encoding="utf-8").read()
    refs = re.findall(r"`([a-z0-9-]+) :: ([^`]+)`", text)
    assert len(refs) > 100
    labels = {}
    for table_id, label in refs:
        if table_id not in labels:
            labels[table_id] = {row for row, _net in check_table(find_table(table_id)).rows}
        assert label in labels[table_id], f"coverage.md: {table_id} has no row {label!r}"
    # every table file is cited
    assert set(labels) == {os.path.basename(p)[:-5] for p in table_files()}


def test_table_units_paper_json():
    result = run_cli("table", "googlenet", "--units", "paper", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    rec = {r["name"]: r for r in data["layers"]}
    # Table 1 prints 159K and 128M for inception (3a), 360M for the 3x3 convolution
    assert (rec["inception (3a)"]["params_paper"], rec["inception (3a)"]["macs_paper"]) == (
        "159K", "128M")
    assert rec["convolution 3x3/1"]["macs_paper"] == "360M"
    assert rec["inception (3a)"]["weights"] == 163_328  # the exact count stays beside it
    assert data["paper_units"]["params"]["table"] == "googlenet-table1"


@pytest.mark.parametrize("where", ["row", "column"])
def test_a_list_where_a_count_name_belongs_is_a_clean_error(tmp_path, where):
    """Found by the fuzzer: `count: [depthwise]` made `check` fail with a traceback
    (unhashable LineList) instead of exit 2 with the line."""
    table = tmp_path / "t.yaml"
    column_count = "[kernels]" if where == "column" else "kernels"
    row_count = "[depthwise]" if where == "row" else "depthwise"
    table.write_text("id: t\nnetwork: mobilenet\ncolumns:\n"
                     f"  p: {{quantity: weights, count: {column_count}}}\nrows:\n"
                     f"  - {{row: total, count: {row_count}, p: 1}}\n")  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "archcost", "check", str(table)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {table}:") and "Traceback" not in result.stderr
