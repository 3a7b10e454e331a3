"""User-defined primitives: a spec states an op's output shape and costs as safe expressions
of its input shape and arguments (``primitives:``), with no Python. Oracles are hand
arithmetic of the formulas written in each spec."""

import subprocess
import sys

import pytest

from archcost import spec
from archcost.errors import SpecError
from archcost.shapes import layout_of
from tests.test_layers import run
from tests.test_layers_rank import write

DEFORM = """
params: {resolution: 32}
input: [3, resolution, resolution]
primitives:
  deform_conv:
    doc: deformable 3x3 convolution, offsets from a 3x3 conv (Dai et al. 2017)
    args: [out]
    defaults: {k: 3}
    shape: [out, in_h, in_w]
    params: k * k * in_c * out + k * k * in_c * 2 * k * k + 2 * k * k
    macs: (k * k * in_c * out + k * k * in_c * 2 * k * k) * in_h * in_w
    ops: 4 * k * k * in_c * in_h * in_w
layers:
  - conv1: {type: conv, out: 16, k: 3, p: 1}
  - dcn: {type: deform_conv, out: 32}
  - deform_conv: [8, 1]
"""


def test_user_primitive_costs(tmp_path):
    net = spec.build(write(tmp_path, DEFORM))
    dcn = net.row("dcn")
    assert dcn.shape == (32, 32, 32) and dcn.type == "deform_conv"
    assert dcn.params == 9 * 16 * 32 + 9 * 16 * 18 + 18
    assert dcn.macs == (9 * 16 * 32 + 9 * 16 * 18) * 32 * 32
    assert dcn.ops == 4 * 9 * 16 * 32 * 32
    second = net.row("deform_conv")  # positional [out, k] = [8, 1]
    assert second.shape == (8, 32, 32)
    assert second.params == 1 * 32 * 8 + 1 * 32 * 2 + 2
    assert net.nodes[1].op == "custom" and net.nodes[1].fields["name"] == "deform_conv"


def test_formula_sees_through_a_user_primitive(tmp_path):
    from archcost.formula import network_formula

    path = write(tmp_path, DEFORM)
    doc, name = spec.load(path)
    result = network_formula(doc, name, ["resolution"])
    # MACs per pixel: conv1 3*3*3*16; dcn 9*16*32 + 9*16*18; second 1*32*8 + 1*32*2
    per_pixel = 27 * 16 + 9 * 16 * 32 + 9 * 16 * 18 + 32 * 8 + 32 * 2
    (r,) = result.symbols
    for size in (32, 48, 224):
        assert result.macs.subs(r, size) == per_pixel * size * size


def test_user_primitive_with_two_inputs_and_a_source(tmp_path):
    net = spec.build(write(tmp_path, """
        input: {tokens: [10, 64]}
        primitives:
          bilinear_pool:
            inputs: 2
            shape: [in_l, in1_c * in_c]
            layout: tokens
            macs: in_l * in_c * in1_c
          rel_bias:
            inputs: 0
            args: [n]
            shape: [n, n]
            params: n * n
        layers:
          - a: {type: linear, out: 8}
          - b: {type: linear, out: 4, in: input}
          - pool: {type: bilinear_pool, in: [a, b]}
          - table: {type: rel_bias, n: 5}
        """))
    pool = net.row("pool")
    assert pool.shape == (10, 32) and layout_of(pool.shape) == "LC"
    assert pool.macs == 10 * 8 * 4
    table = net.row("table")
    assert table.params == 25 and table.nodes[0].inputs == ()


def test_primitive_in_a_block_file_entry_and_a_variant(tmp_path):
    # a block file's entry with shape: and no layers: is a primitive (same namespace)
    path = write(tmp_path, """
        input: [4, 8, 8]
        blocks:
          double:
            shape: [2 * in_c, in_h, in_w]
            ops: 2 * in_c * in_h * in_w
        variants:
          wide:
            primitives:
              double:
                shape: [4 * in_c, in_h, in_w]
        layers:
          - double
        """)
    assert spec.build(path).output_shape == (8, 8, 8)
    assert spec.build(path + ":wide").output_shape == (16, 8, 8)


@pytest.mark.parametrize("body,message,line", [
    ("  p:\n    shape: [in_c]\n    flops: 3\n", "unknown key 'flops'", 5),
    ("  p:\n    shape: in_c\n", "shape must be a list", 4),
    ("  p:\n    shape: [in_c]\n    params: __import__('os')\n", "params", 5),
    ("  p:\n    shape: [in_c]\n    macs: in_c.real\n", "macs", 5),
    ("  p:\n    shape: [in_c - 8]\n", "shape", 4),
    ("  p:\n    shape: [in_c]\n    params: in_c - 100\n", "must be at least 0", 5),
    ("  p:\n    shape: [in_c]\n    ops: nope\n", "unknown name 'nope'", 5),
    ("  p:\n    shape: [in_c]\n    inputs: 2\n", "p takes 2 inputs", 7),
])  # fmt: skip
def test_user_primitive_errors(tmp_path, body, message, line):
    text = "input: [4, 8, 8]\nprimitives:\n" + body + "layers:\n  - p\n"
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message) as err:
        spec.build(str(path))
    assert err.value.line == line, (err.value.line, text)
    proc = subprocess.run([sys.executable, "-m", "archcost", "table", str(path)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: {path}:{line}: ")
    assert "Traceback" not in proc.stderr


def test_block_and_primitive_of_one_name(tmp_path):
    path = write(tmp_path, """
        input: [4, 8, 8]
        blocks:
          p: {layers: [relu]}
        primitives:
          p: {shape: [in_c]}
        layers:
          - p
        """)
    with pytest.raises(SpecError, match="both as a block and as a primitive"):
        spec.build(path)


def test_custom():
    c = run("custom", (4, 8, 8), shape=[16, 4, 4], params=10, macs=100, ops=7, buffers=3)
    assert (c.shape, c.params, c.macs, c.ops, c.buffers) == ((16, 4, 4), 10, 100, 7, 3)
    c = run("custom", shape=[5, 6], layout="tokens")
    assert layout_of(c.shape) == "LC"
    with pytest.raises(SpecError, match="does not fit"):
        run("custom", shape=[5, 6], layout="CHW")


ORACLES = {"custom": test_custom}


def test_counts_beyond_a_dimension_limit(tmp_path):
    # a count may exceed MAX_DIM (16,777,216), which bounds dimensions, up to MAX_COUNT
    net = spec.build(write(tmp_path, """
        params: {resolution: 64}
        input: [3, resolution, resolution]
        primitives:
          big:
            shape: [in_c, in_h, in_w]
            macs: 10000 * in_c * in_h * in_w
        layers:
          - big
          - known: {type: custom, shape: [10], params: 3000000000, macs: 5000000000}
        """))
    assert net.total("macs") == 10000 * 3 * 64 * 64 + 5_000_000_000
    assert net.total("params") == 3_000_000_000
    with pytest.raises(SpecError, match="exceeds the limit 1,152,921,504,606,846,976"):
        spec.build(write(tmp_path, """
            input: [3, 8, 8]
            primitives:
              huge: {shape: [in_c], macs: "10 ** 30"}
            layers:
              - huge
            """, "huge.yaml"))
