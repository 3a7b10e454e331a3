"""`verify SPEC --against MODEL`: a spec checked against a model archcost did not build.

The model here is a small ShuffleNet V2-style network written below in plain torch, from the
paper's unit (Ma et al. 2018, Fig. 3c/d: channel split, 1x1 - 3x3 depthwise - 1x1 on one
half, concat, channel shuffle; the downsampling unit has two branches and no split). A spec
that forgets the channel split in the basic units is the mis-wiring issue 15 reports: the
self-check (`verify SPEC`, torch modules built from the spec) agrees with it, and only the
comparison with the independent model finds it.
"""

import pytest

from .conftest import require_torch  # noqa: E402

torch = require_torch()  # in CI a failing import fails, never skips
from torch import nn  # noqa: E402

from archcost.against import Layer, against, match  # noqa: E402
from archcost.spec import build  # noqa: E402

from .conftest import run_cli  # noqa: E402


def conv_bn(cin, cout, k, s=1, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, *([nn.ReLU(inplace=True)] if relu else []))


def shuffle(x, groups=2):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class Unit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        half = cout // 2
        self.stride = stride
        if stride == 2:
            self.branch1 = nn.Sequential(conv_bn(cin, cin, 3, 2, groups=cin, relu=False),
                                         conv_bn(cin, half, 1))  # fmt: skip
            src = cin
        else:
            src = half
        self.branch2 = nn.Sequential(conv_bn(src, half, 1),
                                     conv_bn(half, half, 3, stride, groups=half, relu=False),
                                     conv_bn(half, half, 1))  # fmt: skip

    def forward(self, x):
        if self.stride == 1:
            left, right = x.chunk(2, dim=1)
            out = torch.cat((left, self.branch2(right)), 1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), 1)
        return shuffle(out)


class SmallShuffleNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = conv_bn(3, 24, 3, 2)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.stage2 = nn.Sequential(Unit(24, 116, 2), Unit(116, 116, 1), Unit(116, 116, 1))
        self.stage3 = nn.Sequential(Unit(116, 232, 2), Unit(232, 232, 1), Unit(232, 232, 1))
        self.conv5 = conv_bn(232, 256, 1)
        self.fc = nn.Linear(256, classes)

    def forward(self, x):
        x = self.conv5(self.stage3(self.stage2(self.maxpool(self.conv1(x)))))
        return self.fc(x.mean((2, 3)))


def small_shufflenet(classes=10):
    return SmallShuffleNet(classes).eval()


TARGET = "tests.test_against:small_shufflenet"

SPEC = """
title: small ShuffleNet V2 ({which})
input: [3, 64, 64]
defaults:
  conv: {{bias: false, bn: true}}
blocks:
  down:
    args: [out]
    layers:
      - b1 dw:  {{type: conv, out: in_c, k: 3, s: 2, p: 1, g: in_c}}
      - b1 pw:  {{type: conv, out: out // 2, k: 1, act: relu}}
      - b2 pw1: {{type: conv, out: out // 2, k: 1, act: relu, in: input}}
      - b2 dw:  {{type: conv, out: out // 2, k: 3, s: 2, p: 1, g: out // 2}}
      - b2 pw2: {{type: conv, out: out // 2, k: 1, act: relu}}
      - concat: {{in: [b1 pw, b2 pw2]}}
  basic:
    args: []
    layers:
      - left:   {{type: slice, start: 0, end: in_c // 2}}
      - right:  {{type: slice, start: in_c // 2, end: in_c, in: input}}
      - pw1:    {{type: conv, out: in_c // 2, k: 1, act: relu, in: {pw1_input}}}
      - dw:     {{type: conv, out: in_c // 2, k: 3, p: 1, g: in_c // 2}}
      - pw2:    {{type: conv, out: in_c // 2, k: 1, act: relu}}
      - concat: {{in: [left, pw2]}}
layers:
  - conv1:    {{type: conv, out: 24, k: 3, s: 2, p: 1, act: relu}}
  - maxpool:  {{k: 3, s: 2, p: 1}}
  - stage2.0: {{type: down, out: 116}}
  - stage2.1: {{type: basic, repeat: 2}}
  - stage3.0: {{type: down, out: 232}}
  - stage3.1: {{type: basic, repeat: 2}}
  - conv5:    {{type: conv, out: 256, k: 1, act: relu}}
  - pool:     {{type: global_avgpool}}
  - fc:       {{type: linear, out: 10}}
"""


@pytest.fixture
def specs(tmp_path):
    good = tmp_path / "shufflenet_good.yaml"
    good.write_text(SPEC.format(which="correct", pw1_input="right"))
    bad = tmp_path / "shufflenet_miswired.yaml"  # the branch reads the whole input, no split
    bad.write_text(SPEC.format(which="mis-wired", pw1_input="input"))
    return str(good), str(bad)


def test_correct_spec_agrees_with_the_independent_model(specs):
    out = against(build(specs[0]), TARGET)
    assert out["ok"], out
    model = small_shufflenet()
    assert out["totals"]["params"]["model"] == sum(p.numel() for p in model.parameters())
    # conv1, 2 x (5 + 2 x 3) in the stages, conv5, fc
    assert out["weight_layers"] == {"spec": 25, "model": 25, "matched": 25}


def test_miswired_spec_is_caught_at_its_first_wrong_layer(specs):
    out = against(build(specs[1]), TARGET)
    assert not out["ok"]
    assert not out["totals"]["params"]["ok"]
    assert out["divergence"] == ("row 'stage2.1' (node 'stage2.1.1/pw1') conv: 1x1 conv "
                                 "116->58 in spec; model has 1x1 conv 58->58 at "
                                 "stage2.1.branch2.0.0")  # fmt: skip


def test_cli_miswired_spec_passes_the_self_check_and_fails_against(specs):
    self_check = run_cli("verify", specs[1])
    assert self_check.returncode == 0, self_check.stdout + self_check.stderr  # proves formulas only
    result = run_cli("verify", specs[1], "--against", TARGET, "--kwargs", '{"classes": 10}')
    assert result.returncode == 1
    assert "first divergence: row 'stage2.1'" in result.stdout
    assert "FAILED" in result.stdout
    good = run_cli("verify", specs[0], "--against", TARGET)
    assert good.returncode == 0 and "OK" in good.stdout


def test_branches_may_run_in_another_order():
    a = Layer("conv", (1, 1), 8, 8, 1, (1, 1), False, "a")
    b = Layer("conv", (3, 3), 8, 8, 1, (1, 1), False, "b")
    assert match([a, b], [b, a])["ok"]
    assert not match([a, b], [a, a])["ok"]
    assert "no more weight layers" in match([a, b], [a])["divergence"]
    assert "model has 1 more" in match([a], [a, b])["divergence"]
