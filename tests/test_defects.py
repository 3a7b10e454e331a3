"""Issue 13: defects found in use. Each test here failed before its fix.

Oracles: hand arithmetic written in the test (channel counts of a ShuffleNetV2 unit from the
paper's Fig. 3), edit distances counted by hand, and the names torch and Keras use.
"""

from __future__ import annotations

import pytest

from archcost import layers as L
from archcost.errors import SpecError, closest, did_you_mean, edit_distance, field_hint
from archcost.spec import build


def _spec(tmp_path, text, name="t.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _error(tmp_path, text) -> str:
    with pytest.raises(SpecError) as info:
        build(_spec(tmp_path, text))
    return str(info.value)


# ---------------------------------------------------------------- 1. types and suggestions


def test_edit_distance_by_hand():
    assert edit_distance("conv", "comv", 3) == 1  # one substitution
    assert edit_distance("relu", "reul", 3) == 1  # two neighbours swapped
    assert edit_distance("matmul", "mul", 5) == 3  # three deletions
    assert edit_distance("layernorm", "norm", 3) == 4  # over the limit: limit + 1


@pytest.mark.parametrize("typed, registry_name", [
    ("layernorm", "norm"), ("layer_norm", "batch_norm"), ("attention", "flatten"),
    ("matmul", "mul"), ("gelu_tanh", "tanh"), ("conv3d", "conv2d"), ("conv1d", "conv2d"),
])  # fmt: skip
def test_no_suggestion_of_a_different_layer(typed, registry_name):
    # before: difflib offered each right-hand name, a layer that computes something else
    assert did_you_mean(typed, [registry_name, "lrn", "bn"], digits=True) == ""


@pytest.mark.parametrize("typed, meant", [
    ("comv", "conv"), ("reul", "relu"), ("Max_Pool", "max_pool"), ("batchnrom", "batchnorm"),
    ("global-avgpool", "global_avgpool"),
])  # fmt: skip
def test_typos_are_still_suggested(typed, meant):
    types = sorted({*L.PRIMITIVES, *L.ALIASES})
    assert closest(typed, types, digits=True) == meant


def test_norm_is_not_an_alias_of_lrn(tmp_path):
    # before: `type: norm` was silently an LRN with 0 params
    assert "norm" not in L.ALIASES
    message = _error(tmp_path, "input: [3, 8, 8]\nlayers:\n  - x: {type: norm}\n")
    assert "unknown layer type or block 'norm'" in message
    assert "did you mean" not in message


@pytest.mark.parametrize("word", ["norm", "pool", "global_pool"])
def test_family_words_are_not_aliases(word):
    # 'norm' was LRN (LayerNorm? BatchNorm?), 'pool' max pooling (or average?), 'global_pool'
    # global average pooling (or max?): a word that names a family names no layer
    assert L.get(word) is None


def test_act_value_is_not_offered_a_different_function(tmp_path):
    message = _error(tmp_path, "input: [3, 8, 8]\nlayers:\n"
                               "  - c: {type: conv, out: 4, k: 3, act: gelu_tanh}\n")  # fmt: skip
    assert "unknown value 'gelu_tanh'" in message and "tanh'?" not in message


@pytest.mark.parametrize("torch_name, ours", [
    ("stride", "s"), ("kernel_size", "k"), ("padding", "p"), ("groups", "g"),
    ("out_channels", "out"), ("filters", "out"), ("use_bias", "bias"), ("dilation", "d"),
])  # fmt: skip
def test_torch_and_keras_field_names(tmp_path, torch_name, ours):
    message = _error(tmp_path, "input: [3, 8, 8]\nlayers:\n"
                               f"  - c: {{type: conv, out: 4, k: 3, {torch_name}: 1}}\n")  # fmt: skip
    assert f"unknown field '{torch_name}' for conv; archcost calls it '{ours}'" in message
    assert "(fields: out, k, s, p, d, g, bias, bn, act," in message


@pytest.mark.parametrize("name", ["in_channels", "in_features"])
def test_input_sizes_are_never_written(tmp_path, name):
    message = _error(tmp_path, "input: [3, 8, 8]\nlayers:\n"
                               f"  - fc: {{type: linear, out: 4, {name}: 192}}\n")  # fmt: skip
    assert "they flow from the row above" in message


def test_units_on_linear():
    assert field_hint("units", {"out", "bias", "type"}, ["out", "bias"]).startswith(
        "; archcost calls it 'out'")


def test_label_with_a_type_as_its_value(tmp_path):
    # before: "'relu1': 1 values given, relu takes at most 0 (none)"
    message = _error(tmp_path, "input: [3, 8, 8]\nlayers:\n  - relu1: relu\n")
    assert "write it as `relu1: {type: relu}`" in message


def test_label_that_is_not_a_type_says_how_to_give_one(tmp_path):
    message = _error(tmp_path, "input: [3, 8, 8]\nlayers:\n  - stem: {out: 8, k: 3}\n")
    assert "`stem: {type: conv, ...}`" in message and "archcost layers" in message


# ---------------------------------------------------------------- 2. skipped `when:` rows

# A ShuffleNetV2 unit (Ma et al. 2018, Fig. 3 c/d) as written naturally: on stride 2 both
# branches see the whole input; on stride 1 the input is split and branch1 is the identity half.
SHUFFLE = """\
input: [24, 56, 56]
blocks:
  unit:
    args: [out]
    defaults: {s: 1}
    layers:
      - branch1: {type: conv, out: out // 2, k: 1, s: s, in: input, when: s == 2{else1}}
      - half:    {type: slice, start: 0, end: in_c // 2, in: input, when: s == 1}
      - branch2: {type: conv, out: out // 2, k: 1, s: s, in: input}
      - cat:     {type: concat, in: [{first}, branch2]}
layers:
  - stage2: {type: unit, out: 116, s: 2}
  - stage2b: {type: unit, out: 116}
"""


def test_naming_a_skipped_row_is_an_error_with_both_lines(tmp_path):
    # before: the stride-1 unit's concat took branch1's *input* (116 channels) silently:
    # 116 + 58 = 174 channels instead of 116
    text = SHUFFLE.replace("{else1}", "").replace("{first}", "branch1")
    path = _spec(tmp_path, text)
    with pytest.raises(SpecError) as info:
        build(path)
    err = info.value
    assert err.line == 10  # the concat's `in:`
    assert f"which is skipped here (when: s == 2 at {path}:7)" in err.message
    assert "else: identity" in err.message


def test_else_names_what_stands_in_place(tmp_path):
    # stride 2: 58 + 58 = 116 channels; stride 1: the 'half' (58) + branch2 (58) = 116
    text = SHUFFLE.replace("{else1}", ", else: half").replace("{first}", "branch1")
    lines = text.splitlines(keepends=True)
    lines[6], lines[7] = lines[7], lines[6]  # 'else' may only name rows above it
    text = "".join(lines)
    # 'half' is itself skipped on stride 2, but nothing names it there except branch1's else,
    # which is only read when branch1 is skipped (stride 1)
    net = build(_spec(tmp_path, text))
    assert [r.output.shape[0] for r in net.rows] == [116, 116]
    assert net.rows[1].output.shape == (116, 28, 28)


def test_else_identity_keeps_the_pass_through(tmp_path):
    text = ("input: [8, 4, 4]\nlayers:\n"
            "  - proj: {type: conv, out: 8, k: 1, when: false, else: identity}\n"
            "  - c: {type: conv, out: 8, k: 1, in: input}\n"
            "  - add: {in: [c, proj]}\n")  # fmt: skip
    net = build(_spec(tmp_path, text))
    # by hand: one 1x1 conv 8 -> 8 with bias on 4x4: 64 + 8 params, 64 * 16 MACs
    assert net.total("params") == 72 and net.total("macs") == 1024


def test_block_output_naming_a_skipped_row(tmp_path):
    text = ("input: [8, 4, 4]\nblocks:\n  b:\n    args: []\n    output: x\n    layers:\n"
            "      - x: {type: conv, out: 8, k: 1, when: false}\n"
            "      - y: {type: conv, out: 4, k: 1}\n"
            "layers:\n  - b\n")  # fmt: skip
    assert "which is skipped here (when: False at" in _error(tmp_path, text)


# ---------------------------------------------------------------- 4. formula --continuous


def _mobilenet_macs_by_hand(alpha_32ths: int, r: int) -> int:
    """MobileNet v1 (Howard et al. 2017, Table 1) MACs by hand, for r a multiple of 32 and
    alpha = alpha_32ths / 32: channels c = 32a, 64a, ..., 1024a; feature map sides r/2 ... r/32.
    Each 3x3 conv k*k*C_in*C_out*side^2, each depthwise 9*C*side^2, each pointwise
    C_in*C_out*side^2, the classifier 1024a * 1000."""
    a = alpha_32ths  # channels are a, 2a, 4a, ... times 32/32: 32*alpha = a
    c = [a, 2 * a, 4 * a, 4 * a, 8 * a, 8 * a, 16 * a, *[16 * a] * 5, 32 * a, 32 * a]
    side = [r // 2, r // 2, r // 4, r // 4, r // 8, r // 8, r // 16, *[r // 16] * 5, r // 32,
            r // 32]  # fmt: skip
    stride_dw = [1, 2, 1, 2, 1, 2, *[1] * 5, 2, 1]
    macs = 27 * c[0] * side[0] ** 2  # conv 3x3/2, 3 -> 32a
    for i in range(13):
        dw_side = side[i + 1] if stride_dw[i] == 2 else side[i]
        macs += 9 * c[i] * dw_side**2  # depthwise on C = c[i], output side after its stride
        macs += c[i] * c[i + 1] * side[i + 1] ** 2  # pointwise c[i] -> c[i+1]
    return macs + 32 * a * 1000


def test_continuous_piecewise_is_exact_on_the_papers_grid():
    # before: --continuous gave 639,198,354.5 at the default point (engine 568,740,352)
    import sympy

    from archcost.formula import network_formula, value_at
    from archcost.spec import load

    doc, name = load("mobilenet")
    f = network_formula(doc, name, ["alpha", "resolution"], continuous="piecewise")
    a, r = f.symbols
    assert _mobilenet_macs_by_hand(32, 224) == 568_740_352
    for alpha_32ths, res in ((32, 224), (24, 192), (16, 160), (8, 128)):
        point = {a: sympy.Rational(alpha_32ths, 32), r: sympy.Integer(res)}
        assert value_at(f.macs, point) == _mobilenet_macs_by_hand(alpha_32ths, res)
    relaxed = network_formula(doc, name, ["alpha", "resolution"], continuous="relaxed")
    off = value_at(relaxed.macs, relaxed.point) / 568_740_352 - 1
    assert 0.12 < off < 0.13  # the relaxation's error at the defaults, now stated


def test_continuous_text_states_the_form_and_prints_integers(tmp_path):
    from .conftest import invoke_ok

    text = invoke_ok("formula", "mobilenet", "--in", "alpha,resolution", "--continuous")
    assert "continuous, piecewise" in text
    assert "at alpha=1, resolution=224: 568,740,352 (engine: 568,740,352; equal" in text
    assert "e+08" not in text
    relaxed = invoke_ok("formula", "mobilenet", "--in", "alpha,resolution", "--continuous",
                        "relaxed")  # fmt: skip
    assert "NOT exact" in relaxed and "+12.39% off here" in relaxed and "e+08" not in relaxed


# ---------------------------------------------------------------- 3. one option vocabulary

FORMATS = ("text", "json", "csv", "md", "latex")
SMALL = "tests/specs/residual.yaml"
# every command that prints a table, with arguments that make it quick
PRINTING = {
    "table": ["table", SMALL],
    "check": ["check", "googlenet-table1"],
    "list": ["list"],
    "compare": ["compare", SMALL, "mobilenet"],
    "diff": ["diff", "googlenet", "googlenet:torchvision"],
    "formula": ["formula", SMALL],
    "formula --in": ["formula", SMALL, "--in", "width"],
    "solve": ["solve", "mobilenet", "--budget", "macs=300M", "--for", "alpha"],
    "sweep": ["sweep", SMALL, "--set", "width=8,16"],
    "memory": ["memory", SMALL],
    "predict": ["predict", SMALL],
    "layers": ["layers"],
    "layers NAME": ["layers", "conv"],
}
TORCH = {
    "verify": ["verify", SMALL, "--all"],
    "bench": ["bench", SMALL, "--batch", "1", "--warmup", "0", "--repeat", "1"],
}


def _run_format(args, fmt, tmp_path):
    from click.testing import CliRunner

    from archcost.cli import cli

    out = tmp_path / f"out.{fmt}"
    result = CliRunner().invoke(cli, [*args, "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, (args, fmt, result.output, result.exception)
    assert result.stdout == "", (args, fmt)  # all of it went to the file
    text = out.read_text()
    assert text.strip(), (args, fmt)
    if fmt == "json":
        import json

        json.loads(text)
    elif fmt == "latex":
        assert "\\begin{" in text, (args, text[:200])
    elif fmt == "md":
        assert "|" in text or "**" in text
    elif fmt == "csv":
        import csv
        import io

        rows = list(csv.reader(io.StringIO(text)))
        assert len(rows) >= 2 and len({len(r) for r in rows}) == 1, (args, text[:300])
    return text


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(PRINTING))
def test_every_printing_command_takes_every_format_and_o(name, fmt, tmp_path, in_root):
    # before: check/list/memory/predict/solve had no latex, formula no csv
    _run_format(PRINTING[name], fmt, tmp_path)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_torch_commands_take_every_format_and_o(name, tmp_path, in_root):
    pytest.importorskip("torch")
    # before: verify and bench took text|json only and had no -o
    for fmt in FORMATS:
        _run_format(TORCH[name], fmt, tmp_path)


def test_dtype_names_are_the_same_everywhere(in_root):
    import json

    from .conftest import invoke_ok

    # fp16 is float16 (2 bytes), on every command that takes --dtype
    for cmd in (["table", SMALL], ["memory", SMALL], ["compare", SMALL]):
        short = json.loads(invoke_ok(*cmd, "--dtype", "fp16", "--format", "json"))
        long = json.loads(invoke_ok(*cmd, "--dtype", "float16", "--format", "json"))
        assert short == long, cmd
    data = json.loads(invoke_ok("predict", SMALL, "--dtype", "bf16", "--format", "json"))
    assert data["dtype"] == "bfloat16"  # before: 'bf16' reached the profile and failed


def test_device_defaults_to_cpu_everywhere():
    import click

    from archcost.cli import COMMANDS, cli

    ctx = click.Context(cli)
    defaults = {}
    for name in COMMANDS:
        for p in cli.get_command(ctx, name).params:
            if p.name == "device":
                defaults[name] = p.default
    # before: memory defaulted to cuda, verify/bench/calibrate to cpu
    assert defaults and set(defaults.values()) == {"cpu"}, defaults
    assert {"memory", "verify", "bench", "calibrate"} <= set(defaults)


def test_resolution_fold_bn_and_exact_where_they_apply(in_root):
    import json

    from archcost.fold import fold_bn
    from archcost.spec import build

    from .conftest import invoke_ok

    at = build("mobilenet", params={"resolution": "128"})
    for cmd in ("table", "memory", "predict"):
        data = json.loads(invoke_ok(cmd, "mobilenet", "--resolution", "128", "--format", "json"))
        assert data["input"] == [3, 128, 128] if "input" in data else True
    table = json.loads(invoke_ok("table", "mobilenet", "--resolution", "128", "--format", "json"))
    assert table["total"]["macs"] == at.total("macs")
    memory = json.loads(invoke_ok("memory", "mobilenet", "--fold-bn", "--format", "json"))
    assert memory["weights_bytes"] == 4 * fold_bn(build("mobilenet")).total("params")
    assert invoke_ok("table", SMALL, "--exact") == invoke_ok("table", SMALL)


def test_compare_labels_a_file_by_its_name(tmp_path):
    import json

    from .conftest import invoke_ok

    path = tmp_path / "net.yaml"
    path.write_text("name: tiny\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, k: 3}\n"
                    "variants:\n  v: {}\n")  # fmt: skip
    data = json.loads(invoke_ok("compare", str(path), f"{path}:v", "--format", "json"))
    assert [n["network"] for n in data["networks"]] == ["tiny", "tiny:v"]


def test_compare_exact_ratios_have_four_digits(in_root):
    from .conftest import invoke_ok

    text = invoke_ok("compare", "mobilenet", "resnet50", "--exact", "--columns",
                     "network,params,rel_params")  # fmt: skip
    # by hand: 25,557,032 / 4,231,976 = 6.0390...
    assert "6.039x" in text and "6.03903" not in text


def test_check_groups_digits_in_both_columns(in_root):
    from .conftest import invoke_ok

    text = invoke_ok("check", "alexnet-paper", "--no-reasons")
    # AlexNet's conv1 writes 55 x 55 x 96 = 290,400 values (the paper prints 253,440)
    assert "253,440" in text and "290,400" in text and "290400" not in text


# ---------------------------------------------------------------- 5. stated but not done


def test_csv_cells_cannot_start_a_formula(tmp_path):
    from .conftest import invoke_ok

    path = tmp_path / "evil.yaml"
    path.write_text('input: [3, 8, 8]\nlayers:\n  - "=HYPERLINK(1)": {type: conv, out: 4, k: 3}\n'
                    '  - "@SUM(1)": {type: relu}\n  - "-2+3": {type: flatten}\n'
                    '  - "+cmd": {type: linear, out: 2}\n')  # fmt: skip
    text = invoke_ok("table", str(path), "--format", "csv")
    import csv
    import io

    labels = [row[0] for row in list(csv.reader(io.StringIO(text)))[1:-1]]
    assert labels == ["'=HYPERLINK(1)", "'@SUM(1)", "'-2+3", "'+cmd"]
    from archcost.report import csv_safe

    assert csv_safe("-5") == "-5" and csv_safe("-1.5e3") == "-1.5e3"  # numbers stay numbers


# ---------------------------------------------------------------- 4b. call styles by layer


@pytest.mark.parametrize("preset, real_tool", [("ptflops", 5_747_660_552),
                                               ("thop", 5_749_219_168)])  # fmt: skip
def test_inception_v3_matches_the_real_tools(preset, real_tool):
    # the real ptflops 0.7.5 and thop 0.1.1 on torchvision's inception_v3 at 299 (issue 13);
    # before: 5,759,205,192 and 5,751,221,568, because F.relu / F.avg_pool2d / F.max_pool2d were
    # counted as modules (the per-network table knew only googlenet and mobilenet_v2)
    from archcost import conventions

    assert conventions.totals(build("inception_v3:torchvision"), preset)["count"] == real_tool


def test_call_style_is_a_property_of_the_layer(tmp_path):
    from archcost import conventions

    assert not hasattr(conventions, "TORCHVISION_CALLS")
    text = ("input: [4, 8, 8]\ndefaults:\n  relu: {call: functional}\nlayers:\n"
            "  - a: {type: conv, out: 4, k: 1, act: relu}\n"
            "  - b: {type: relu, call: module}\n"
            "  - p: {type: maxpool, k: 2, call: functional}\n")  # fmt: skip
    net = build(_spec(tmp_path, text))
    assert [(n.op, n.call) for n in net.nodes] == [
        ("conv", "module"), ("relu", "functional"), ("relu", "module"), ("maxpool", "functional")]
    # ptflops by hand: conv 4*4*64 MACs + 256 bias adds; F.relu 256 (once); nn.ReLU 2 * 256
    # (hook + patched F.relu); F.max_pool2d 256 (once, on its input)
    assert conventions.totals(net, "ptflops")["count"] == 1024 + 256 + 256 + 512 + 256
    bad = text.replace("call: module", "call: lambda")
    assert "'call' is module or functional, got 'lambda'" in _error(tmp_path, bad)


@pytest.mark.parametrize("name", ["googlenet", "vgg11:lrn", "alexnet", "squeezenet1_0"])
def test_one_peak_for_one_network(name):
    # before: table/memory and compare disagreed by up to 2x (googlenet 10,235,904 vs
    # 5,419,008 bytes): compare left out what a layer allocates while it runs
    import json

    from .conftest import invoke_ok

    table = json.loads(invoke_ok("table", name, "--format", "json"))
    memory = json.loads(invoke_ok("memory", name, "--format", "json"))
    compare = json.loads(invoke_ok("compare", name, "--format", "json"))["networks"][0]
    assert (table["total"]["peak_activation_bytes"] == memory["peak_activation_bytes"]
            == compare["peak_activation_bytes"])  # fmt: skip
    assert compare["peak_at"] == memory["peak_layer"]


def test_else_without_when_is_an_error(tmp_path):
    message = _error(tmp_path, "input: [8, 4, 4]\nlayers:\n"
                               "  - c: {type: conv, out: 8, k: 1, else: identity}\n")  # fmt: skip
    assert "'else' says what stands in for the row when its 'when' is false" in message


def test_calibrate_warns_when_its_timings_vary():
    from archcost import latency

    assert latency.spread_warning([0.02, 0.10]) is None
    warning = latency.spread_warning([0.05, 0.60])
    assert warning.startswith("warning: the timed runs of one measurement varied by 60%")
    # the spread is measured on the timed runs themselves: alternate fast and slow runs
    import time

    calls = iter(range(100))

    def uneven():
        time.sleep(0.002 if next(calls) % 2 else 0.02)

    latency._SPREADS.clear()
    dev = type("Dev", (), {"type": "cpu"})()
    latency._median_time(None, uneven, dev, repeat=4, warmup=0)
    assert latency._SPREADS[-1] > 2  # about 0.02 / 0.002 - 1 = 9
    assert latency.spread_warning(latency._SPREADS) is not None
