"""Hand-computed oracles of the primitives issue 15's importer needed: a constant factor
(``mul_const``), a slice of any axis (``slice`` with ``axis``), a mean over axes (``mean``) and
adaptive pooling of every rank (``adaptive_avgpool1d/3d``, ``adaptive_maxpool``/1d/3d).

Convention (archcost/layers.py): elementwise work and reductions are other ops, never MACs;
a multiply by a constant is 1 op per element, a mean 1 per input element (the adds and the
divide, as the global average pool), an adaptive average pool one per element of each window
and an adaptive max pool (window - 1) comparisons per output element. The window arithmetic
below is written out from torch's rule (window i of n into o: [floor(i*n/o),
ceil((i+1)*n/o))), not from archcost's closed form.
"""

from fractions import Fraction

import pytest

from archcost.errors import SpecError
from archcost.layers import PRIMITIVES
from archcost.shapes import layout_of, shaped
from archcost.spec import build, build_text
from tests.conftest import saved_storages
from tests.test_layers import run


def tok(n, d):
    return shaped((n, d), "LC")


def windows(n, o):
    """The window lengths of torch's adaptive pooling of n into o, listed one by one."""
    return [-(-(i + 1) * n // o) - (i * n // o) for i in range(o)]


def test_window_lengths_by_hand():
    assert windows(12, 5) == [3, 3, 4, 3, 3]  # [0,3) [2,5) [4,8) [7,10) [9,12)
    assert windows(7, 3) == [3, 3, 3]  # [0,3) [2,5) [4,7)
    assert windows(6, 3) == [2, 2, 2]
    assert windows(5, 1) == [5]


def test_mul_const():
    c = run("mul_const", (8, 6, 6), by=Fraction(1, 8))
    assert (c.shape, c.params, c.macs, c.ops) == ((8, 6, 6), 0, 0, 288)  # 1 per element
    t = run("mul_const", tok(197, 64), by=Fraction(-1, 3))
    assert t.shape == (197, 64) and layout_of(t.shape) == "LC" and t.ops == 197 * 64
    assert not PRIMITIVES["mul_const"].inplace  # x * c writes a new tensor
    net = build_text("input: {tokens: [5, 8]}\nlayers:\n  - mul_const: 0.125\n"
                     "  - s: {type: mul_const, by: -2}\n")  # fmt: skip
    assert [n.fields["by"] for n in net.nodes] == [Fraction(1, 8), -2]
    with pytest.raises(SpecError, match="expected a number"):
        build_text("input: [4]\nlayers:\n  - mul_const: twice\n")
    with pytest.raises(SpecError, match="needs by|missing|'by'"):
        build_text("input: [4]\nlayers:\n  - mul_const\n")


def test_slice_of_any_axis():
    # GPT's last token of 1,024, ViT's 196 patch tokens without the class token
    last = run("slice", tok(1024, 768), start=1023, end=1024)
    assert last.shape == (1, 768) and layout_of(last.shape) == "LC" and last.ops == 0
    patches = run("slice", tok(197, 768), start=1, end=197)
    assert patches.shape == (196, 768)
    feats = run("slice", tok(6, 16), start=0, end=8, axis=1)
    assert feats.shape == (6, 8) and layout_of(feats.shape) == "LC"
    assert run("slice", tok(6, 16), start=8, end=16, axis=-1).shape == (6, 8)
    rows = run("slice", (8, 10, 12), start=2, end=5, axis=1)  # rows 2..4 of a map
    assert rows.shape == (8, 3, 12)
    assert run("slice", (8, 10, 12), start=2, end=5).shape == (3, 10, 12)  # default: channels
    with pytest.raises(SpecError, match=r"indices of axis 1 \[4, 20\) are not within"):
        run("slice", tok(6, 16), start=4, end=20, axis=1)
    with pytest.raises(SpecError, match="axis 3 is outside"):
        run("slice", (8, 10, 12), start=0, end=1, axis=3)
    with pytest.raises(SpecError, match=r"channels \[3, 3\)"):
        run("slice", (8, 10, 12), start=3, end=3)


def test_mean():
    m = run("mean", tok(197, 768), axis=[0])
    assert (m.shape, m.ops, m.macs) == ((768,), 197 * 768, 0)  # one per input element
    assert layout_of(m.shape) == "N"
    k = run("mean", tok(197, 768), axis=0, keepdim=True)
    assert k.shape == (1, 768) and layout_of(k.shape) == "LC" and k.ops == 197 * 768
    f = run("mean", tok(6, 16), axis=[-1])
    assert f.shape == (6,) and layout_of(f.shape) == "N"
    c = run("mean", (8, 10, 12), axis=[0], keepdim=True)  # CBAM: over the channels
    assert c.shape == (1, 10, 12) and c.ops == 960
    h = run("mean", (8, 10, 12), axis=[1])  # over H: a 1-D map (C, W)
    assert h.shape == (8, 12) and layout_of(h.shape) == "CL"
    d = run("mean", (4, 3, 10, 12), axis=[1])  # over D of a 3-D map: (C, H, W)
    assert d.shape == (4, 10, 12) and layout_of(d.shape) == "CHW"
    hw = run("mean", shaped((7, 7, 96), "HWC"), axis=[0])  # over H of channels-last: tokens
    assert hw.shape == (7, 96) and layout_of(hw.shape) == "LC"
    s = run("mean", (8, 10, 12), axis=[1, 2])  # over H and W: as global_avgpool, flat
    g = run("global_avgpool", (8, 10, 12))
    assert s.shape == (8,) and s.ops == g.ops == 8 * 10 * 12
    with pytest.raises(SpecError, match="axis 2 is outside"):
        run("mean", tok(6, 16), axis=[2])
    with pytest.raises(SpecError, match="given twice"):
        run("mean", tok(6, 16), axis=[0, -2])
    with pytest.raises(SpecError, match="leaves no axis"):
        run("mean", tok(6, 16), axis=[0, 1])
    assert run("mean", tok(6, 16), axis=[0, 1], keepdim=True).shape == (1, 1)


def test_adaptive_average_pooling_1d_and_3d():
    # 4 channels of 12 into 5: windows 3+3+4+3+3 = 16 elements per channel
    a = run("adaptive_avgpool1d", (4, 12), size=5)
    assert a.shape == (4, 5) and a.ops == 4 * sum(windows(12, 5)) == 64
    # 2 x (4, 7, 6) into (2, 3, 6): depth 2+2, height 3+3+3, width 1 x 6 (identity)
    b = run("adaptive_avgpool3d", (2, 4, 7, 6), size=(2, 3, 6))
    assert b.shape == (2, 2, 3, 6)
    assert b.ops == 2 * sum(windows(4, 2)) * sum(windows(7, 3)) * sum(windows(6, 6)) == 432
    # to 1 x 1 x 1 it counts as global_avgpool does: one per input element
    assert run("adaptive_avgpool3d", (2, 4, 7, 6), size=1).ops == \
        run("global_avgpool", (2, 4, 7, 6)).ops == 336  # fmt: skip
    with pytest.raises(SpecError, match=r"needs a \(C, L\) input"):
        run("adaptive_avgpool1d", (4, 12, 12), size=5)
    with pytest.raises(SpecError, match=r"needs a \(C, D, H, W\) input"):
        run("adaptive_avgpool3d", (4, 12, 12), size=2)


def test_adaptive_max_pooling():
    # 8 x 6 x 6 into 3 x 3: every window 2 x 2, 3 comparisons per output: 8 * 9 * 3
    m = run("adaptive_maxpool", (8, 6, 6), size=(3, 3))
    assert m.shape == (8, 3, 3) and m.ops == 216
    # 3 x 9 x 8 into 3 x 2 (torchvision-style odd split): heights 3+3+3, widths 4+4
    odd = run("adaptive_maxpool", (3, 9, 8), size=(3, 2))
    per_output = [h * w - 1 for h in windows(9, 3) for w in windows(8, 2)]
    assert odd.ops == 3 * sum(per_output) == 3 * 6 * 11
    g = run("adaptive_maxpool", (8, 7, 7), size=(1, 1))  # global max pooling: 48 each
    assert g.shape == (8, 1, 1) and g.ops == 8 * 48
    one = run("adaptive_maxpool1d", (4, 13), size=4)  # windows [0,4) [3,7) [6,10) [9,13)
    assert one.shape == (4, 4) and one.ops == 4 * sum(w - 1 for w in windows(13, 4)) == 48
    three = run("adaptive_maxpool3d", (2, 3, 5, 7), size=(1, 2, 3))
    per_output = [d * h * w - 1 for d in windows(3, 1) for h in windows(5, 2)
                  for w in windows(7, 3)]  # fmt: skip
    assert three.shape == (2, 1, 2, 3) and three.ops == 2 * sum(per_output)
    with pytest.raises(SpecError, match=r"needs a \(C, H, W\) input"):
        run("adaptive_maxpool", tok(6, 16), size=(2, 2))


def test_spec_rows_read_as_written():
    net = build_text("""
input: {tokens: [197, 768]}
layers:
  - patches: {type: slice, start: 1, end: 197}
  - pooled: {type: mean, axis: 0}
  - head: {type: linear, out: 10}
""")
    assert net.output_shape == (10,)
    assert net.total("macs") == 768 * 10 and net.total("ops") == 196 * 768 + 10
    net = build_text("input: [3, 20]\nlayers:\n  - adaptive_avgpool1d: 4\n"
                     "  - adaptive_max_pool1d: 2\n")  # an alias  # fmt: skip
    assert [n.op for n in net.nodes] == ["adaptive_avgpool1d", "adaptive_maxpool1d"]
    assert net.output_shape == (3, 2)


ORACLES = {
    "mul_const": test_mul_const,
    "mean": test_mean,
    "adaptive_avgpool1d": test_adaptive_average_pooling_1d_and_3d,
    "adaptive_avgpool3d": test_adaptive_average_pooling_1d_and_3d,
    "adaptive_maxpool": test_adaptive_max_pooling,
    "adaptive_maxpool1d": test_adaptive_max_pooling,
    "adaptive_maxpool3d": test_adaptive_max_pooling,
}


def test_saved_for_backward_equals_torch(tmp_path):
    """Training memory of the new ops: what autograd saves (saved_tensors_hooks, each storage
    once, parameters excluded) equals archcost.memory's saved bytes. A mean, a slice and a
    multiply by a constant save nothing; adaptive pools save their input, max pools also
    int64 indices of the output's size."""
    from tests.conftest import require_torch

    torch = require_torch()
    from torch import nn

    from archcost import memory as M

    class Written(nn.Module):
        """The spec below in torch, written here (not archcost's backend): the oracle."""

        def __init__(self):
            super().__init__()
            self.c, self.c2, self.fc = nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 1), nn.Linear(4, 2)
            self.a, self.p2 = nn.AdaptiveMaxPool2d((5, 4)), nn.AdaptiveMaxPool1d(4)
            self.p1 = nn.AdaptiveAvgPool1d(6)

        def forward(self, x):
            y = self.c2(self.a(self.c(x))) * 0.5
            y = self.p2(self.p1(y.reshape(y.shape[0], 4, 20)))
            return self.fc(y[:, :, 1:3].mean(2))

    path = tmp_path / "train.yaml"
    path.write_text("""
input: [3, 12, 10]
layers:
  - c: {type: conv, out: 4, k: 1}
  - a: {type: adaptive_maxpool, size: [5, 4]}
  - c2: {type: conv, out: 4, k: 1}
  - m: {type: mul_const, by: 0.5}
  - r: {type: reshape, shape: [4, 20]}
  - p1: {type: adaptive_avgpool1d, size: 6}
  - p2: {type: adaptive_maxpool1d, size: 4}
  - s: {type: slice, start: 1, end: 3, axis: 1}
  - mean: {type: mean, axis: 1}
  - fc: {type: linear, out: 2}
""")
    net = build(str(path), train=True)
    model = Written()
    model.train()
    saved = saved_storages(torch, model, torch.randn(2, *net.input.shape))
    assert sum(b for b, _ in saved.values()) == \
        M.training(net, 2, "float32", "cpu", "sgd").saved_bytes  # fmt: skip


VERIFY_SPECS = {
    # tokens: a scaled linear, the patch tokens, the last token, half the features, a mean
    "tokens": ("""
input: {tokens: [6, 16]}
layers:
  - fc: {type: linear, out: 16}
  - scaled: {type: mul_const, by: 0.125}
  - patches: {type: slice, start: 1, end: 6}
  - last: {type: slice, start: 4, end: 5, axis: 0}
  - half: {type: slice, start: 0, end: 8, axis: -1}
  - m: {type: mean, axis: 0}
  - head: {type: linear, out: 3}
""", (8,), 6 * 16 * 16 + 8 * 3),
    "1-D": ("""
input: [4, 12]
layers:
  - c: {type: conv1d, out: 6, k: 3}
  - a: {type: adaptive_avgpool1d, size: 4}
  - b: {type: adaptive_maxpool1d, size: 3}
  - m: {type: mean, axis: 1, keepdim: true}
  - f: {type: flatten}
  - head: {type: linear, out: 3}
""", (6, 1), 10 * 3 * 4 * 6 + 6 * 3),
    "3-D": ("""
input: [2, 5, 7, 9]
layers:
  - c: {type: conv3d, out: 4, k: 1}
  - a: {type: adaptive_avgpool3d, size: [2, 3, 4]}
  - b: {type: adaptive_maxpool3d, size: [1, 2, 3]}
  - m: {type: mean, axis: [1]}
  - c2: {type: conv, out: 3, k: 1}
  - mx: {type: adaptive_maxpool, size: [1, 2]}
  - m2: {type: mean, axis: 0}
""", (4, 2, 3), 5 * 7 * 9 * 2 * 4 + 2 * 3 * 4 * 3),
}


@pytest.mark.parametrize("name", sorted(VERIFY_SPECS))
def test_verify_against_torch(name, tmp_path):
    """`archcost verify`: torch modules built from the spec's fields (archcost/torch_modules.py)
    agree on every node's shape, params and MACs; the MACs are hand arithmetic too."""
    from tests.conftest import require_torch

    require_torch()
    from archcost.commands.verify import run_verify

    text, middle, macs = VERIFY_SPECS[name]
    path = tmp_path / "v.yaml"
    path.write_text(text)
    out = run_verify(build(str(path)))
    assert out["ok"], [r for r in out["rows"] if not r["ok"]]
    assert out["static"]["macs"] == out["torch"]["macs"] == macs
    rows = {r["node"]: tuple(r["torch"]["shape"]) for r in out["rows"]}
    assert rows["m"] == middle
