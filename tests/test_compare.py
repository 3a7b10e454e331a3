"""archcost compare / diff and the liveness-based peak activation memory.

Hand-computed oracles use tests/specs/tiny_plain.yaml (3x32x32 input):
  conv1 3->16, 3x3 p1: params 3*3*3*16 + 16 = 448, MACs 432 * 32*32 = 442,368
  pool1 2x2: 16x16x16;  conv2 16->32, 3x3 p1: params 9*16*32 + 32 = 4,640,
  MACs 4,608 * 16*16 = 1,179,648;  pool2: 8x8x32;  fc 2,048 -> 10: params 20,490, MACs 20,480
  totals: params 25,578, MACs 1,642,496, activations 16,384 + 4,096 + 8,192 + 2,048 + 10 = 30,730
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from archcost.cli import main
from archcost.memory import peak_elements
from archcost.spec import build

from .conftest import ROOT
from .conftest import invoke_ok as invoke

SPECS = os.path.join("tests", "specs")
PLAIN = os.path.join(SPECS, "tiny_plain.yaml")
MOBILE = os.path.join(SPECS, "tiny_mobilenet.yaml")


pytestmark = pytest.mark.usefixtures("in_root")


def run_main(capsys, *args):
    """archcost's own entry point (error handling and exit codes included)."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def subprocess_run(*args):
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "archcost", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


# ---------------------------------------------------------------- peak activations


def test_peak_activations_plain_by_hand():
    net = build(PLAIN)
    # at pool1 conv1's output (16x32x32 = 16,384; the in-place relu adds nothing) and pool1's
    # output (16x16x16 = 4,096) are alive, and so is the input the caller holds (3x32x32 =
    # 3,072): 23,552; later steps hold less (conv2: 4,096 + 8,192 + 3,072 = 15,360)
    assert peak_elements(net) == (23552, "pool1")


def test_peak_inception_branches_live_together():
    net = build("googlenet")
    peak, at = peak_elements(net)
    # 'convolution 3x3/1': the 3x3 conv's output (192x56x56 = 602,112) and the LRN's output
    # (the same size) coexist while the LRN runs, with the input (3x224x224 = 150,528)
    assert (peak, at) == (602_112 * 2 + 150_528, "convolution 3x3/1/lrn")
    assert peak <= net.total("activations") + 150_528


# ---------------------------------------------------------------- compare


def compare_json(*args):
    return json.loads(invoke("compare", *args, "--format", "json"))["networks"]


def table_total(*args):
    return json.loads(invoke("table", *args, "--format", "json"))["total"]


def test_compare_equals_table_totals():
    nets = compare_json("googlenet", MOBILE, "--set", "alpha=0.5", "--set", "resolution=96",
                        PLAIN)  # fmt: skip
    totals = [table_total("googlenet"),
              table_total(MOBILE, "--set", "alpha=0.5", "--set", "resolution=96"),
              table_total(PLAIN)]  # fmt: skip
    for rec, total in zip(nets, totals, strict=True):
        for key in ("params", "macs", "activations", "buffers", "ops", "weights"):
            assert rec[key] == total[key]
        assert rec["flops"] == 2 * rec["macs"]
        assert rec["activation_bytes"] == total["activations"] * 4
    assert nets[2]["params"] == 25578 and nets[2]["macs"] == 1642496
    assert nets[2]["activations"] == 30730 and nets[2]["weight_layers"] == 3
    assert nets[2]["peak_activations"] == 23552


def test_compare_set_binds_to_the_network_before_it():
    nets = compare_json(MOBILE, "--set", "alpha=0.5", MOBILE, "--set=alpha=0.25",
                        "--set", "resolution=32", MOBILE)  # fmt: skip
    # a spec file is labelled by its `name:` (issue 13), not its path
    assert [n["network"] for n in nets] == [
        "tiny_mobilenet[alpha=0.5]", "tiny_mobilenet[alpha=0.25,resolution=32]", "tiny_mobilenet"]
    assert [n["set"] for n in nets] == [{"alpha": "0.5"}, {"alpha": "0.25", "resolution": "32"},
                                        {}]  # fmt: skip
    assert nets[0]["params_values"] == {"alpha": 0.5, "resolution": 64}
    assert nets[1]["params_values"] == {"alpha": 0.25, "resolution": 32}
    for rec in nets:
        sets = rec["set"] or None
        assert rec["macs"] == build(MOBILE, params=sets).total("macs")
    # alpha = 0.5 halves every channel count: conv1 max(int(16), 8) = 16 -> 3*3*3*16 = 432
    # weights + 32 BN; the three networks differ
    assert len({n["macs"] for n in nets}) == 3


def test_compare_same_network_twice_gets_unique_labels():
    nets = compare_json(PLAIN, PLAIN)
    assert [n["network"] for n in nets] == ["tiny_plain", "tiny_plain #2"]


def test_compare_baseline_and_relative_size():
    nets = compare_json(PLAIN, PLAIN + ":wide", "--baseline", PLAIN + ":wide")
    plain, wide = nets
    # wide: conv2 has 64 outputs: params 9*16*64 + 64 = 9,280; fc 4,096*10 + 10 = 40,970
    assert wide["params"] == 448 + 9280 + 40970
    assert wide["baseline"] and not plain["baseline"]
    assert wide["rel_params"] == 1.0
    assert plain["rel_params"] == pytest.approx(25578 / 50698)
    assert plain["macs_per_param"] == pytest.approx(1642496 / 25578)


def test_compare_sort_and_columns():
    out = invoke("compare", "googlenet", PLAIN, MOBILE, "--sort", "-macs", "--columns",
                 "params,macs,peak", "--format", "csv", "--exact")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["network", "params", "MACs", "peak act. memory"]
    macs = [int(r["MACs"]) for r in rows]
    assert macs == sorted(macs, reverse=True)
    assert rows[0]["network"] == "googlenet"
    assert int(rows[0]["MACs"]) == 1582671872
    out = invoke("compare", "googlenet", PLAIN, "--sort", "params", "--format", "csv")
    assert [r["network"] for r in csv.DictReader(io.StringIO(out))] == ["tiny_plain", "googlenet"]


def test_compare_every_format_parses_back():
    args = ("compare", "googlenet", PLAIN, MOBILE, "--set", "alpha=0.5")
    data = json.loads(invoke(*args, "--format", "json"))
    assert {"network", "params", "macs", "activations"} <= set(data["networks"][0])
    rows = list(csv.DictReader(io.StringIO(invoke(*args, "--format", "csv"))))
    assert len(rows) == 3 and rows[1]["params"] == "25578"
    latex = invoke(*args, "--format", "latex")
    assert "\\begin{tabular}" in latex and "\\toprule" in latex and "\\bottomrule" in latex
    assert "tiny\\_mobilenet[alpha=0.5]" in latex
    md = invoke(*args, "--format", "md")
    assert md.count("\n| ") >= 4 and "googlenet (base)" in md
    text = invoke(*args)
    # human units by default: GoogLeNet 6,998,552 params -> 7M, 1,582,671,872 MACs -> 1.58G
    assert "1.58G" in text and "7M" in text and "tiny_mobilenet[alpha=0.5]" in text
    exact = invoke(*args, "--exact")
    assert "1,582,671,872" in exact


def test_compare_train_includes_training_branches():
    nets = compare_json(PLAIN, "--train")
    # the training-only aux head: linear 2,048 -> 10 = 20,490 params
    assert nets[0]["params"] == 25578 + 20490


def test_compare_errors(capsys):
    code, _, err = run_main(capsys, "compare", "--set", "alpha=0.5", PLAIN)
    assert code == 2 and "comes before any network" in err
    code, _, err = run_main(capsys, "compare", "googlenet", "--set", "alpha=0.5")
    assert code == 2 and "no such parameter" in err
    code, _, err = run_main(capsys, "compare", "googlenet", "--columns", "nope")
    assert code == 2 and "unknown column" in err
    code, _, err = run_main(capsys, "compare", "googlenet", "--bogus")
    assert code == 2 and "no such option" in err
    code, _, err = run_main(capsys, "compare", MOBILE, "--set", "alpha=0.5", MOBILE, "--set",
                            "alpha=0.25", "--baseline", MOBILE)  # fmt: skip
    assert code == 2 and "matches 2 networks" in err
    code, _, err = run_main(capsys, "compare", PLAIN, "--baseline", "resnet")
    assert code == 2 and "none of the networks" in err


def test_compare_subprocess():
    proc = subprocess_run("compare", "googlenet", PLAIN, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    nets = json.loads(proc.stdout)["networks"]
    assert [n["params"] for n in nets] == [6998552, 25578]
    proc = subprocess_run("compare", "googlenet", "--set", "x=1")
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")


def test_compare_does_not_import_torch_or_sympy():
    code = ("import sys; from archcost.cli import main\n"
            "try:\n    main(['compare', 'googlenet', '--format', 'json'])\n"
            "except SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
            "assert 'torch' not in sys.modules and 'sympy' not in sys.modules, 'imported'\n")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------- diff


def diff_json(*args):
    return json.loads(invoke("diff", *args, "--format", "json"))


def changed(data):
    return {r["row"]: r["status"] for r in data["rows"] if r["status"] != "same"}


def test_diff_variant_lists_exactly_the_changed_rows():
    data = diff_json(MOBILE, MOBILE + ":wide3")
    # sep 3 widened to 192 (and loses its residual); sep 4 then reads 192 channels
    assert changed(data) == {"sep 3": "changed", "sep 4": "changed"}
    rows = {r["row"]: r for r in data["rows"]}
    # sep 3: dw 9*128 + BN 2*128 = 1,408; pw 128*128 + BN 256 = 16,640 -> 18,048
    #   wide: 1,408 + 128*192 + BN 384 = 26,368 (+8,320)
    # sep 4: dw 9*128 + 256 = 1,408 and pw 128*256 + 512 = 33,280 -> 34,688;
    #   wide: 9*192 + 384 = 2,112 and 192*256 + 512 = 49,664 -> 51,776 (+17,088)
    assert (rows["sep 3"]["a"]["params"], rows["sep 3"]["b"]["params"]) == (18048, 26368)
    assert rows["sep 3"]["delta"]["params"] == 8320
    assert rows["sep 4"]["delta"]["params"] == 17088
    assert rows["sep 3"]["a"]["output"] == [128, 16, 16]
    assert rows["sep 3"]["b"]["output"] == [192, 16, 16]
    assert "output" in rows["sep 3"]["changes"] and "output" not in rows["sep 4"]["changes"]
    assert data["total"]["delta"]["params"] == 8320 + 17088
    assert data["total"]["delta"]["macs"] == (data["total"]["b"]["macs"]
                                              - data["total"]["a"]["macs"])  # fmt: skip


def test_diff_removed_inserted_and_alias():
    data = diff_json(MOBILE, MOBILE + ":no_sep3")
    # sep 3 keeps its input's shape, so removing it changes no other row
    assert changed(data) == {"sep 3": "only in A"}
    assert data["total"]["delta"]["params"] == -18048
    data = diff_json(MOBILE, MOBILE + ":dropout")
    assert changed(data) == {"dropout": "only in B"}
    order = [r["row"] for r in data["rows"]]
    assert order.index("dropout") == order.index("pool") + 1
    data = diff_json(MOBILE, MOBILE + ":paper")
    assert changed(data) == {} and data["total"]["delta"]["params"] == 0


def test_diff_with_set_and_formats():
    data = diff_json(MOBILE, MOBILE, "--set", "resolution=32")
    # resolution changes MACs and shapes everywhere but no params
    assert all(r["delta"]["params"] == 0 for r in data["rows"])
    assert data["b"] == f"{MOBILE}[resolution=32]"
    rows = list(csv.DictReader(io.StringIO(invoke("diff", PLAIN, PLAIN + ":wide", "--format",
                                                   "csv"))))  # fmt: skip
    # conv2 (4,640 -> 9,280), pool2 (output 8x8x32 -> 8x8x64) and fc (20,490 -> 40,970)
    assert [r["row"] for r in rows] == ["conv2", "pool2", "fc", "total"]
    assert rows[0]["params B-A"] == "4640" and rows[-1]["params B-A"] == str(25120)
    latex = invoke("diff", PLAIN, PLAIN + ":wide", "--format", "latex")
    assert "\\begin{tabular}" in latex and "\\toprule" in latex
    text = invoke("diff", PLAIN, PLAIN + ":wide", "--all")
    assert "conv1" in text and "same" in text


def test_diff_needs_two(capsys):
    code, _, err = run_main(capsys, "diff", PLAIN)
    assert code == 2 and "at least 2" in err
    code, _, err = run_main(capsys, "diff", PLAIN, PLAIN, PLAIN)
    assert code == 2 and "at most 2" in err


def test_diff_subprocess():
    proc = subprocess_run("diff", MOBILE, MOBILE + ":no_sep3", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert changed(json.loads(proc.stdout)) == {"sep 3": "only in A"}


def test_compare_convention_counts_as_each_peer_measured():
    # the peers' own totals on torchvision's models, measured by benchmarks/peers.py
    measured = {
        "ptflops": [4_132_436_968, 1_513_907_448, 15_523_225_576, 320_300_008],
        "fvcore": [4_111_512_576, 1_504_878_688, 15_470_289_408, 314_193_216],
        "thop": [4_133_742_592, 1_511_332_032, 15_470_314_496, 327_486_720],
        "torch": [8_178_368_512, 2_996_752_384, 30_940_528_640, 601_548_544],
    }
    nets = ["resnet50:torchvision", "googlenet:torchvision", "vgg16:torchvision",
            "mobilenet_v2:torchvision"]
    for name, counts in measured.items():
        records = compare_json(*nets, "--convention", name)
        assert [r["count"] for r in records] == counts, name
        assert [r["macs"] for r in records] == [c // 2 for c in measured["torch"]]
    text = invoke("compare", *nets, "--convention", "ptflops", "--exact")
    assert "ptflops MACs" in text and "4,132,436,968" in text


@pytest.mark.parametrize("name", ["googlenet", "vgg11:lrn", "alexnet", "squeezenet1_0"])
def test_one_peak_in_table_compare_and_memory(name):
    """Issue 13: compare showed 5,419,008 bytes for googlenet where table and memory showed
    10,235,904. All three must print the number memory.inference computes, at any batch."""
    def peak(command, *extra):
        data = json.loads(invoke(command, name, "--batch", "3", "--format", "json", *extra))
        if command == "compare":
            data = data["networks"][0]
        return data["peak_activation_bytes"]

    table, compare, memory = peak("table"), peak("compare"), peak("memory")
    assert table == compare == memory
    # the liveness walk itself is checked by hand above; here: batch 3 scales the tensors
    assert table > peak("table", "--batch", "1")
