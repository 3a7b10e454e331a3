"""`table --depth N`, `table --by type` and `table --columns` (archcost.nesting, archcost.views).

Oracles: hand arithmetic on a small spec written here, the MobileNet paper's layer list
(Howard et al. 2017, Table 1) for the depthwise sums, and the invariant that the listed costs
add up to the sum over every primitive at any depth (no parent counted with its children).
"""

import json
import textwrap

import pytest

from archcost import nesting
from archcost.spec import build

from .conftest import run_cli

# input 2x8x8; a block "pair" = conv 3x3 (p 1, no bias) + bn + relu, then conv 1x1 (bias);
# the row "stage" repeats it twice; then a global average pool and a linear layer
TINY = textwrap.dedent("""\
    name: tiny_nest
    title: Tiny nested
    input: [2, 8, 8]
    blocks:
      pair:
        args: [c]
        layers:
          - a: {type: conv, out: c, k: 3, p: 1, bias: false, bn: true, act: relu}
          - b: {type: conv, out: c, k: 1}
    layers:
      - stem: {type: conv, out: 4, k: 1, bias: false}
      - stage: {type: pair, c: 4, repeat: 2}
      - pool: {type: global_avgpool}
      - fc: {type: linear, out: 3}
""")


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny_nest.yaml"
    path.write_text(TINY)
    return str(path)


# hand arithmetic, 8x8 maps throughout
STEM = 1 * 1 * 2 * 4  # params 8, MACs 8 * 64
A = 3 * 3 * 4 * 4  # 144 weights, MACs 144 * 64; bn: 2 * 4 params
B = 1 * 1 * 4 * 4 + 4  # 20 params, MACs 16 * 64
FC = 4 * 3 + 3  # 15 params, MACs 12


def test_depth_zero_is_the_spec_rows(tiny):
    recs = nesting.at_depth(build(tiny), 0)
    assert [r["label"] for r in recs] == ["stem", "stage", "pool", "fc"]
    stage = recs[1]
    assert stage["params"] == 2 * (A + 8 + B)
    assert stage["macs"] == 2 * (A + 16) * 64
    assert stage["output"] == [4, 8, 8]


def test_depth_one_opens_the_repeated_row_into_its_repetitions(tiny):
    recs = nesting.at_depth(build(tiny), 1)
    shown = [("  " * r["level"] + r["label"], r["open"]) for r in recs]
    assert shown == [("stem", False), ("stage", True), ("  stage.1", False),
                     ("  stage.2", False), ("pool", False), ("fc", False)]
    stage = recs[1]
    assert stage["params"] == stage["macs"] == 0  # opened: the children carry the numbers
    assert stage["subtotal"]["params"] == 2 * (A + 8 + B)
    assert recs[2]["params"] == A + 8 + B and recs[2]["macs"] == (A + 16) * 64


def test_depth_three_reaches_the_primitives_of_a_sugared_row(tiny):
    recs = nesting.at_depth(build(tiny), 3)
    labels = ["  " * r["level"] + r["label"] for r in recs]
    assert labels[:9] == ["stem", "stage", "  stage.1", "    a", "      conv", "      bn",
                          "      relu", "    b", "  stage.2"]
    conv = recs[4]
    assert (conv["params"], conv["macs"], conv["activations"]) == (A, A * 64, 4 * 64)
    assert recs[5]["params"] == 8 and recs[5]["buffers"] == 8


@pytest.mark.parametrize("spec", ["googlenet", "resnet50", "mobilenet_v2", "inception_v3",
                                  "squeezenet1_0", "se_resnet50"])
def test_listed_costs_add_up_at_every_depth(spec):
    net = build(spec)
    whole = {k: sum(getattr(n, k) for n in net.nodes) for k in ("params", "macs", "ops")}
    whole["activations"] = sum(n.activations for n in net.nodes)
    for depth in range(6):
        recs = nesting.at_depth(net, depth)
        for key, value in whole.items():
            assert sum(r[key] for r in recs) == value, (spec, depth, key)
        # every primitive is listed in exactly one record that carries numbers
        leaves = [n for r in recs if not r["open"] for n in r["nodes"]]
        assert sorted(leaves) == sorted(n.id for n in net.nodes)


def test_depth_follows_a_bn_folded_network():
    from archcost.fold import fold_bn

    net = fold_bn(build("resnet50"))
    recs = nesting.at_depth(net, 2)
    assert sum(r["params"] for r in recs) == sum(n.params for n in net.nodes)
    assert not any(r["type"] == "bn" for r in recs)


def test_by_type_splits_depthwise_convolutions():
    # MobileNet (Howard et al. 2017, Table 1): 13 depthwise 3x3 layers on
    # 32, 64, 128, 128, 256, 256, 512 (x6) and 1024 channels, no bias (BN follows)
    rows = {r["type"]: r for r in nesting.by_type(build("mobilenet"))}
    dw = rows["conv (depthwise)"]
    channels = [32, 64, 128, 128, 256, 256] + [512] * 6 + [1024]
    sizes = [112, 112, 56, 56, 28, 28] + [14] * 6 + [7]
    assert dw["count"] == 13
    assert dw["params"] == 9 * sum(channels)
    # output sizes: a stride-2 depthwise layer writes the halved map
    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
    out = [s // st for s, st in zip(sizes, strides)]
    assert dw["macs"] == sum(9 * c * o * o for c, o in zip(channels, out))
    assert rows["conv"]["count"] == 14  # the first full conv and 13 pointwise ones


def test_by_type_cli_json_shares(tiny):
    result = run_cli("table", tiny, "--by", "type", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    types = {r["type"]: r for r in data["types"]}
    assert types["conv"]["count"] == 5
    assert types["conv"]["params"] == STEM + 2 * (A + B)
    total_params = STEM + 2 * (A + 8 + B) + FC
    assert types["bn"]["params_share"] == round(100 * 16 / total_params, 2)
    assert types["linear"]["macs"] == 12


def test_depth_cli_text_is_indented_and_totals(tiny):
    result = run_cli("table", tiny, "--depth", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.strip().startswith("stage.1") and line.startswith("    stage.1")
               for line in lines), result.stdout
    total = [line for line in lines if line.strip().startswith("total")][0]
    params = STEM + 2 * (A + 8 + B) + FC
    assert f"{params:,}" in total


def test_columns_choose_and_order(tiny):
    result = run_cli("table", tiny, "--columns", "name,flops,params", "--format", "csv")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "layer,FLOPs,params"
    assert lines[1] == f"stem,{2 * STEM * 64},{STEM}"


def test_columns_with_depth_and_unknown_column(tiny):
    ok = run_cli("table", tiny, "--depth", "1", "--columns", "layer,macs", "--format", "csv")
    assert ok.returncode == 0 and ok.stdout.splitlines()[0] == "layer,MACs"
    bad = run_cli("table", tiny, "--columns", "layer,nonsense")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: unknown column 'nonsense'")
    assert "Traceback" not in bad.stderr


def test_depth_and_expand_are_exclusive(tiny):
    result = run_cli("table", tiny, "--depth", "1", "--expand")
    assert result.returncode == 2 and "error:" in result.stderr


def test_views_import_neither_torch_nor_sympy():
    from .test_static_path import heavy_modules

    assert heavy_modules("table", "googlenet", "--depth", "2") == []
    assert heavy_modules("table", "mobilenet", "--by", "type", "--format", "json") == []
