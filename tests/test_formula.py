"""archcost formula: per-row formulas, and whole-network costs in the spec's parameters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction

import pytest
import sympy

from archcost.cli import main
from archcost.errors import SpecError
from archcost.expr import evaluate, make_divisible
from archcost.formula import (
    DecisionLog,
    SympyEvaluator,
    growth,
    network_formula,
    round_half_even,
    value_at,
)
from archcost.formula import make_divisible as md_symbolic
from archcost.limits import MAX_SYMBOLIC_NODES
from archcost.spec import build, build_doc, builtin_names, load

from .conftest import ROOT
from .conftest import invoke_ok as invoke

MOBILE = os.path.join("tests", "specs", "tiny_mobilenet.yaml")
V2 = os.path.join("tests", "specs", "tiny_v2.yaml")


pytestmark = pytest.mark.usefixtures("in_root")


def doc_of(arg):
    return load(arg)[0]


def specs_with_params():
    found = []
    for name in builtin_names():
        if doc_of(name).get("params"):
            found.append(name)
    return found + [MOBILE, V2, MOBILE + ":wide3"]


@pytest.mark.parametrize("spec", specs_with_params())
def test_symbolic_total_at_defaults_equals_numeric(spec):
    doc = doc_of(spec)
    names = list(doc["params"])
    net = build(spec)
    if len(net.nodes) > MAX_SYMBOLIC_NODES:  # efficientnet_v2_l: refused cleanly, not computed
        with pytest.raises(SpecError, match="MAX_SYMBOLIC_NODES"):
            network_formula(doc, spec, names)
        return
    f = network_formula(doc, spec, names)
    assert value_at(f.params, f.point) == net.total("params")
    assert value_at(f.macs, f.point) == net.total("macs")
    assert value_at(f.activations, f.point) == net.total("activations")
    assert f.numeric == {"params": net.total("params"), "macs": net.total("macs"),
                         "activations": net.total("activations")}  # fmt: skip
    # one parameter at a time as well (the others fixed at their defaults)
    for name in names:
        one = network_formula(doc, spec, [name])
        assert value_at(one.macs, one.point) == net.total("macs")


@pytest.mark.parametrize("alpha,resolution", [("1/2", 96), ("3/4", 100), ("13/10", 37),
                                              ("1/10", 64), ("7/20", 129)])  # fmt: skip
def test_exact_formula_holds_away_from_the_defaults(alpha, resolution):
    # the one structural decision (a residual add when in == out) adds no params or MACs,
    # so the exact params and MACs formulas hold at every alpha and resolution
    doc = doc_of(MOBILE)
    f = network_formula(doc, MOBILE, ["alpha", "resolution"])
    a, r = sympy.Symbol("alpha", positive=True), sympy.Symbol("resolution", positive=True)
    point = {a: sympy.Rational(alpha), r: sympy.Integer(resolution)}
    net = build(MOBILE, params={"alpha": alpha, "resolution": str(resolution)})
    assert value_at(f.params, point) == net.total("params")
    assert value_at(f.macs, point) == net.total("macs")


@pytest.mark.parametrize("width", ["1/2", "3/4", "13/10", "7/5"])
@pytest.mark.parametrize("resolution", [17, 40, 63])
def test_make_divisible_formula_holds_where_decisions_agree(width, resolution):
    # decisions at the defaults (resolution 32): 'resolution >= 64' false, so the formula
    # holds for resolution < 64; make_divisible and round are exact sympy functions
    doc = doc_of(V2)
    f = network_formula(doc, V2, ["width", "resolution"])
    w, r = sympy.Symbol("width", positive=True), sympy.Symbol("resolution", positive=True)
    point = {w: sympy.Rational(width), r: sympy.Integer(resolution)}
    net = build(V2, params={"width": width, "resolution": str(resolution)})
    assert value_at(f.params, point) == net.total("params")
    assert value_at(f.macs, point) == net.total("macs")


def test_continuous_mobilenet_grows_with_alpha_and_resolution_squared():
    f = network_formula(doc_of(MOBILE), MOBILE, ["alpha", "resolution"], continuous=True)
    a, r = f.symbols
    # channels 32a, 64a, 128a, 256a without rounding:
    #   a^2: pointwise 32*64 + 64*128 + 128*128 + 128*256 = 2,048 + 8,192 + 16,384 + 32,768
    #        = 59,392
    #   a:   conv1 27*32 + BN 64 = 928; dw+BN 352, 704, 1,408, 1,408; pw BN 128, 256, 256, 512;
    #        fc 256*10 = 2,560 -> 8,512
    #   1:   fc bias 10
    assert sympy.expand(f.params - (59392 * a**2 + 8512 * a + 10)) == 0
    assert growth(f.macs, f.symbols) == {"alpha": 2, "resolution": 2}
    # the a^2 r^2 term: pointwise MACs with maps of side ~ r/2, r/4, r/4, r/8:
    # 2,048/4 + 8,192/16 + 16,384/16 + 32,768/64 = 512 + 512 + 1,024 + 512 = 2,560
    assert sympy.Poly(f.macs, a, r).coeff_monomial(a**2 * r**2) == 2560
    # the continuous params polynomial is exact where no rounding happens (alpha = 1)
    assert value_at(f.params, f.point) == build(MOBILE).total("params")


def test_decisions_are_reported():
    f = network_formula(doc_of(V2), V2, ["depth", "resolution"])
    what = {(d.what, d.outcome) for d in f.decisions}
    # repeat: ceil(2 * depth) -> 2 at depth = 1 (two stages); the optional pool at >= 64
    assert ("ceiling(2*depth)", "2") in what
    assert ("resolution >= 64", "false") in what
    assert any(d.count == 2 for d in f.decisions if d.what == "ceiling(2*depth)")
    f = network_formula(doc_of(MOBILE), MOBILE, ["alpha"])
    assert [(d.what, d.outcome) for d in f.decisions] == [
        ("Max(8, floor(32*alpha)) == Max(8, floor(64*alpha))", "false")]


def test_sympy_evaluator_on_numbers_matches_the_engine():
    log = DecisionLog({})
    sym = SympyEvaluator(log)
    env = {"a": Fraction(5, 2), "b": 3, "c": 40}
    for text in ("max(int(a * 32), 8)", "make_divisible(c * a, 8)", "round(a)", "round(7/2)",
                 "floor(c / 3) + ceil(c / 3)", "a ** 2 - b // 2", "c if a > b else b",
                 "min(a, b, c) * abs(-b)", "int(-a)", "make_divisible(c * 0.35, 8, 16)"):
        assert sym(text, env) == evaluate(text, env), text
    assert log.decisions() == []


def test_symbolic_functions_evaluate_exactly():
    x = sympy.Symbol("x", positive=True)
    for num, den in ((1, 4), (3, 10), (7, 2), (21, 20), (9, 1)):
        v = Fraction(num, den) * 37
        for divisor in (8, 16):
            expr = md_symbolic(x * 37, divisor, divisor)
            assert value_at(expr, {x: sympy.Rational(num, den)}) == make_divisible(v, divisor)
    # round is Python's: half to even
    for num, den in ((5, 2), (7, 2), (1, 3), (-3, 2)):
        assert value_at(round_half_even(x), {x: sympy.Rational(num, den)}) == round(
            Fraction(num, den))


def test_structural_repeat_is_fixed_at_the_point():
    doc = doc_of(V2)
    d = sympy.Symbol("depth", positive=True)
    log = DecisionLog({d: sympy.Rational(3, 2)})
    env = {"width": 1, "depth": d, "resolution": 32}
    net = build_doc(doc, V2, params=env, evaluator=SympyEvaluator(log), symbolic=True)
    # ceil(2 * 3/2) = 3 copies in each of the two repeated stages
    assert sum(1 for r in net.rows if r.repeat == 3) == 2
    assert ("ceiling(2*depth)", "3") in {(x.what, x.outcome) for x in log.decisions()}


# ---------------------------------------------------------------- CLI


def test_formula_in_cli_formats():
    text = invoke("formula", MOBILE, "--in", "alpha,resolution")
    assert "params = " in text and "(engine: 67,914; equal)" in text
    assert "Max(8, floor(32*alpha)) == Max(8, floor(64*alpha)) -> false" in text
    data = json.loads(invoke("formula", MOBILE, "--in", "alpha,resolution", "--format", "json"))
    assert data["params"]["value"] == data["params"]["engine"] == 67914
    assert data["macs"]["equal"] and data["point"] == {"alpha": 1, "resolution": 64}
    latex = invoke("formula", MOBILE, "--in", "alpha", "--continuous", "--format", "latex")
    assert "\\begin{align*}" in latex and "59392 \\alpha^{2}" in latex
    cont = json.loads(invoke("formula", MOBILE, "--in", "alpha,resolution", "--continuous",
                             "--format", "json"))  # fmt: skip
    assert cont["macs"]["growth"] == {"alpha": 2, "resolution": 2}
    fixed = json.loads(invoke("formula", MOBILE, "--in", "alpha", "--set", "resolution=32",
                              "--format", "json"))  # fmt: skip
    assert fixed["fixed"] == {"resolution": 32}
    assert fixed["macs"]["engine"] == build(MOBILE, params={"resolution": "32"}).total("macs")


def test_formula_rows_match_the_table():
    data = json.loads(invoke("formula", "googlenet", "--row", "inception (3a)", "--format",
                             "json"))  # fmt: skip
    layers = [r for r in data["layers"] if r["layer"] != "row total"]
    table = json.loads(invoke("table", "googlenet", "--expand", "--format", "json"))["layers"]
    by_name = {r["name"]: r for r in table}
    for rec in layers:
        assert rec["params"] == by_name[rec["layer"]]["params"]
        assert rec["macs"] == by_name[rec["layer"]]["macs"]
    # the 3x3 branch: 96 -> 128, 3x3 on 28x28: params 9*96*128 + 128 = 110,720
    three = next(r for r in layers if r["layer"] == "inception (3a)/3x3")
    assert three["params"] == 110720 and "C_out" in three["params_formula"]
    total = next(r for r in data["layers"] if r["layer"] == "row total")
    assert total["params"] == 163696
    rows = json.loads(invoke("formula", "googlenet", "--format", "json"))["layers"]
    table_rows = json.loads(invoke("table", "googlenet", "--format", "json"))["layers"]
    assert [r["params"] for r in rows] == [r["params"] for r in table_rows]
    assert [r["macs"] for r in rows] == [r["macs"] for r in table_rows]
    latex = invoke("formula", "googlenet", "--row", "conv 7x7/2", "--format", "latex")
    assert "\\begin{tabular}" in latex and "\\toprule" in latex and "$" in latex


def test_formula_errors(capsys):
    for args, message in ((["formula", "googlenet", "--in", "alpha"], "no such parameter"),
                          (["formula", MOBILE, "--in", "beta"], "no such parameter"),
                          (["formula", MOBILE, "--continuous"], "--continuous goes with --in"),
                          (["formula", "googlenet", "--row", "nope"], "no such row")):  # fmt: skip
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code == 2
        assert message in capsys.readouterr().err


def test_formula_subprocess():
    proc = subprocess.run([sys.executable, "-m", "archcost", "formula", V2, "--in",
                           "width,depth,resolution", "--format", "json"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["params"]["equal"] and data["macs"]["equal"]
    assert data["params"]["value"] == build(V2).total("params")
