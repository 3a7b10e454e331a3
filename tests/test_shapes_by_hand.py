"""Output sizes written by hand: 'same' padding, the pool ceil rule and dilation.

Every expected size below is worked out in the comment next to it, from the rule's definition
(TensorFlow's 'same': output = ceil(n / s); floor rule: (n + p_lo + p_hi - d*(k-1) - 1) // s + 1;
ceil rule: the same with ceil, minus the last window when it would start at or after n + p_lo),
never computed by archcost. Each size is checked three ways: archcost's static shape, torch's
shape for the module ``verify`` builds (from the spec's fields; torch does the arithmetic), and
``verify`` itself. A mutant of archcost's shape code (same floored, ceil correction removed,
dilation dropped) is killed by the static checks here and reported by ``verify``.
"""

from __future__ import annotations

import json
import os
import textwrap

import pytest
from click.testing import CliRunner

from archcost import layers as L
from archcost.spec import build

IN_CI = os.environ.get("CI") == "true"

# (op, input size n (square), fields, expected output size): hand arithmetic in the comment
CASES = [
    # 'same', TensorFlow's rule: out = ceil(n / s), whatever the kernel and dilation
    ("conv", 7, {"k": 3, "s": 1, "p": "same"}, 7),  # ceil(7/1) = 7
    ("conv", 8, {"k": 4, "s": 1, "p": "same"}, 8),  # even kernel: total pad 3 -> (1, 2)
    ("conv", 7, {"k": 3, "s": 2, "p": "same"}, 4),  # ceil(7/2) = 4 (floor would give 3)
    ("conv", 8, {"k": 3, "s": 2, "p": "same"}, 4),  # ceil(8/2) = 4; pad 1 -> (0, 1)
    ("conv", 9, {"k": 3, "s": 2, "p": "same"}, 5),  # ceil(9/2) = 5 (floor: 4)
    ("conv", 7, {"k": 3, "s": 3, "p": "same"}, 3),  # ceil(7/3) = 3 (floor: 2)
    ("conv", 10, {"k": 3, "s": 3, "p": "same"}, 4),  # ceil(10/3) = 4 (floor: 3)
    ("conv", 9, {"k": 3, "s": 3, "p": "same"}, 3),  # 9/3 = 3 exactly
    ("conv", 11, {"k": 5, "s": 3, "p": "same"}, 4),  # ceil(11/3) = 4; pad 5 - 2 = 3 -> (1, 2)
    ("conv", 7, {"k": 3, "s": 1, "d": 2, "p": "same"}, 7),  # dilated 'same' keeps 7
    ("conv", 7, {"k": 3, "s": 2, "d": 2, "p": "same"}, 4),  # ceil(7/2) = 4; pad 5 - 1 = 4
    ("maxpool", 7, {"k": 3, "s": 2, "p": "same"}, 4),  # ceil(7/2) = 4
    ("maxpool", 10, {"k": 2, "s": 3, "p": "same"}, 4),  # ceil(10/3) = 4 (floor: 3)
    # dilation: effective kernel d*(k-1) + 1
    ("conv", 9, {"k": 3, "d": 2}, 5),  # effective 5: (9 - 5) // 1 + 1 = 5 (no dilation: 7)
    ("conv", 9, {"k": 3, "s": 2, "d": 2}, 3),  # (9 - 5) // 2 + 1 = 3 (no dilation: 4)
    ("conv", 8, {"k": 3, "d": 3, "p": 3}, 8),  # effective 7: 8 + 6 - 7 + 1 = 8 (no dil.: 12)
    ("conv", 10, {"k": 2, "s": 3, "d": 4}, 2),  # effective 5: (10 - 5) // 3 + 1 = 2 (d 1: 3)
    # explicit padding, floor rule
    ("conv", 7, {"k": 3, "s": 2, "p": 1}, 4),  # (7 + 2 - 3) // 2 + 1 = 4
    ("conv", 8, {"k": 3, "s": 2, "p": 1}, 4),  # (8 + 2 - 3) // 2 + 1 = 3 + 1 = 4
    ("maxpool", 7, {"k": 3, "s": 2}, 3),  # (7 - 3) // 2 + 1 = 3
    # ceil rule: ceil((n + 2p - k) / s) + 1, minus one when (out - 1) * s >= n + p
    ("maxpool", 7, {"k": 2, "s": 2, "ceil": True}, 4),  # ceil(5/2) + 1 = 4; 6 < 7 kept
    ("maxpool", 112, {"k": 3, "s": 2, "ceil": True}, 56),  # ceil(109/2) + 1 = 56 (floor: 55)
    ("maxpool", 5, {"k": 3, "s": 3, "p": 1, "ceil": True}, 2),  # ceil(4/3)+1 = 3; 6 >= 6 -> 2
    ("maxpool", 8, {"k": 3, "s": 3, "p": 1, "ceil": True}, 3),  # ceil(8/3)+1 = 4; 9 >= 9 -> 3
    ("avgpool", 5, {"k": 3, "s": 3, "p": 1, "ceil": True}, 2),  # as the max pool above
    ("avgpool", 6, {"k": 3, "s": 2, "p": 2, "ceil": True}, 4),  # ceil(7/2)+1 = 5; 8 >= 8 -> 4
    ("maxpool", 4, {"k": 3, "s": 2, "p": 2, "ceil": True}, 3),  # ceil(5/2)+1 = 4; 6 >= 6 -> 3
    ("maxpool", 6, {"k": 3, "s": 2, "p": 1, "ceil": True}, 4),  # ceil(5/2)+1 = 4; 6 < 7 kept
]


def _spec(tmp_path, op, n, fields, extra=""):
    body = ", ".join(f"{k}: {v if not isinstance(v, bool) else str(v).lower()}"
                     for k, v in fields.items())  # fmt: skip
    out = "out: 2, " if op == "conv" else ""
    path = tmp_path / "one.yaml"
    path.write_text(textwrap.dedent(f"""
        name: one
        input: [2, {n}, {n}]
        layers:
          - x: {{type: {op}, {out}{body}}}
        {extra}"""))  # fmt: skip
    return str(path)


def _ids(case):
    op, n, fields, out = case
    return f"{op}-{n}-" + "-".join(f"{k}{v}" for k, v in fields.items())


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_static_output_size_by_hand(tmp_path, case):
    op, n, fields, expected = case
    net = build(_spec(tmp_path, op, n, fields))
    assert net.nodes[0].shape[1:] == (expected, expected)


def test_same_padding_split_by_hand():
    # (top, bottom, left, right). 8 / 2 -> 4: total (4-1)*2 + 3 - 8 = 1 -> (0, 1)
    assert L.resolve_padding("same", 8, 8, (3, 3), (2, 2), (1, 1)) == (0, 1, 0, 1)
    # 7 / 2 -> 4: total 3*2 + 3 - 7 = 2 -> (1, 1)
    assert L.resolve_padding("same", 7, 7, (3, 3), (2, 2), (1, 1)) == (1, 1, 1, 1)
    # 11 / 3 -> 4: total 3*3 + 5 - 11 = 3 -> (1, 2); on 9 / 3 -> 3: total 2*3 + 5 - 9 = 2
    assert L.resolve_padding("same", 11, 9, (5, 5), (3, 3), (1, 1)) == (1, 2, 1, 1)
    # dilation 2, kernel 3 (effective 5), stride 1 on 7: total 4 -> (2, 2)
    assert L.resolve_padding("same", 7, 7, (3, 3), (1, 1), (2, 2)) == (2, 2, 2, 2)
    # even kernel 4, stride 1 on 8: total 3 -> (1, 2): the odd pixel at the end
    assert L.resolve_padding("same", 8, 8, (4, 4), (1, 1), (1, 1)) == (1, 2, 1, 2)


# ---------------------------------------------------------------- torch computes them too


@pytest.fixture
def torch():
    if IN_CI:
        import torch  # in CI torch is installed: a failing import must fail the test

        return torch
    return pytest.importorskip("torch")


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_torch_output_size_by_hand(tmp_path, torch, case):
    """The module verify builds gets the written fields, and torch computes the size."""
    from archcost.torch_backend import build_module

    op, n, fields, expected = case
    model = build_module(build(_spec(tmp_path, op, n, fields))).eval()
    with torch.no_grad():
        y = model(torch.randn(1, 2, n, n))
    assert tuple(y.shape[2:]) == (expected, expected)


def _floored_same(p, h, w, k, s, d):
    """The 'same floored' mutant: output floor(n / s) instead of ceil(n / s)."""
    if p != "same":
        return REAL_RESOLVE(p, h, w, k, s, d)
    pads = []
    for size, kk, ss, dd in ((h, k[0], s[0], d[0]), (w, k[1], s[1], d[1])):
        total = max(0, (size // ss - 1) * ss + dd * (kk - 1) + 1 - size)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


REAL_RESOLVE = L.resolve_padding


def _no_ceil_correction(size, k, s, pad_lo, pad_hi, d=1, ceil=False):
    """The 'ceil correction removed' mutant of window_output."""
    span = size + pad_lo + pad_hi - d * (k - 1) - 1
    return span // s + 1 if not ceil else -((-span) // s) + 1


def _no_dilation(size, k, s, pad_lo, pad_hi, d=1, ceil=False):
    return REAL_WINDOW(size, k, s, pad_lo, pad_hi, 1, ceil)


REAL_WINDOW = L.window_output


@pytest.mark.parametrize(
    "target, mutant, case",
    [
        ("resolve_padding", _floored_same, ("conv", 7, {"k": 3, "s": 2, "p": "same"}, 4)),
        ("window_output", _no_ceil_correction,
         ("maxpool", 5, {"k": 3, "s": 3, "p": 1, "ceil": True}, 2)),
        ("window_output", _no_dilation, ("conv", 9, {"k": 3, "d": 2}, 5)),
    ],
    ids=["same-floored", "ceil-correction-removed", "dilation-dropped"],
)
def test_verify_reports_a_wrong_static_shape(tmp_path, torch, monkeypatch, target, mutant,
                                            case):  # fmt: skip
    """With archcost's shape code broken, verify's torch module still has the right shape
    (it never calls that code), so verify reports the difference with exit 1."""
    from archcost.commands.verify import command

    op, n, fields, expected = case
    spec = _spec(tmp_path, op, n, fields)
    monkeypatch.setattr(L, target, mutant)
    wrong = build(spec).nodes[0].shape
    assert wrong[1:] != (expected, expected)  # the mutant is live
    result = CliRunner().invoke(command, [spec, "--format", "json"])
    assert result.exit_code == 1, result.output
    (row,) = json.loads(result.stdout)["rows"]
    assert row["node"] == "x" and "shape" in row["differs"]
    assert row["torch"]["shape"] == [2, expected, expected]


def test_a_shape_torch_cannot_run_is_a_difference_not_a_crash(tmp_path, torch, monkeypatch):
    """Under the floored-'same' mutant both branches are 3x3 to archcost, so the concat
    builds; torch computes 4x4 and 3x3 and cannot concatenate them. verify must say so
    (exit 1, the failing node named), not crash (exit 3)."""
    from archcost.commands.verify import command

    path = tmp_path / "two.yaml"
    path.write_text(textwrap.dedent("""
        name: two
        input: [2, 7, 7]
        layers:
          - a:   {type: conv, out: 2, k: 3, s: 2, p: same}   # ceil(7/2) = 4
          - b:   {type: maxpool, k: 3, s: 2, in: input}       # (7-3)//2 + 1 = 3
          - cat: {type: concat, in: [a, b]}
    """))  # fmt: skip
    monkeypatch.setattr(L, "resolve_padding", _floored_same)
    assert build(str(path)).nodes[-1].shape == (4, 3, 3)  # the mutant's view
    result = CliRunner().invoke(command, [str(path), "--format", "json"])
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    rows = {r["node"]: r for r in out["rows"]}
    assert rows["a"]["differs"] == ["shape", "numel"] and rows["a"]["torch"]["shape"] == [2, 4, 4]
    assert "b" not in rows  # 3x3 both ways: agrees
    assert rows["cat"]["differs"] == ["torch error"] and "cat" in out["error"]
    text = CliRunner().invoke(command, [str(path)])
    assert text.exit_code == 1 and "FAILED" in text.stdout and "torch could not run" in text.stdout
