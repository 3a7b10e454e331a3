"""archcost sweep / solve, exact grids and budgets, and the build_doc cache they rely on."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from fractions import Fraction

import pytest

from archcost import explore
from archcost.cli import main
from archcost.errors import SpecError
from archcost.explore import Runner, grid_points, parse_axis, parse_budget, solve
from archcost.spec import build, build_doc, load

from .conftest import ROOT
from .conftest import invoke_ok as invoke

MOBILE = os.path.join("tests", "specs", "tiny_mobilenet.yaml")
V2 = os.path.join("tests", "specs", "tiny_v2.yaml")
BUMPY = os.path.join("tests", "specs", "tiny_bumpy.yaml")


pytestmark = pytest.mark.usefixtures("in_root")


def doc_of(arg):
    return load(arg)[0]


def snapshot(net):
    """Everything a build produces, for comparing two builds."""
    return ([(n.id, n.op, tuple(i.id for i in n.inputs), list(n.fields.items()), n.shape,
              n.params, n.macs, n.ops, n.buffers, n.depth, n.row.id if n.row else None)
             for n in net.nodes],
            [(r.id, r.type, r.patch, r.repeat, dict(r.columns), [n.id for n in r.nodes])
             for r in net.rows])  # fmt: skip


# ---------------------------------------------------------------- parsing


def test_parse_axis_is_exact():
    assert parse_axis("alpha=0.25:1.0:0.25") == ("alpha", [Fraction(1, 4), Fraction(1, 2),
                                                           Fraction(3, 4), 1])  # fmt: skip
    # 0.1 + 0.1 + 0.1 is 0.3 exactly here (in floats it is 0.30000000000000004 > 0.3)
    assert parse_axis("x=0.1:0.3:0.1")[1] == [Fraction(1, 10), Fraction(1, 5), Fraction(3, 10)]
    assert parse_axis("resolution=128,160, 192")[1] == [128, 160, 192]
    assert parse_axis("r=96:128:16,224")[1] == [96, 112, 128, 224]
    assert parse_axis("a=1/3")[1] == [Fraction(1, 3)]
    for bad in ("alpha", "alpha=", "alpha=1:2", "alpha=1:0:1", "alpha=0:1:0", "alpha=x"):
        with pytest.raises(SpecError):
            parse_axis(bad)


def test_parse_budget_units():
    assert parse_budget("macs=300M") == ("macs", 300_000_000)
    assert parse_budget("FLOPs=1.5G") == ("flops", 1_500_000_000)
    assert parse_budget("params=2,500K") == ("params", 2_500_000)
    assert parse_budget("params=12345") == ("params", 12345)
    assert parse_budget("activations=0.5K") == ("activations", 500)
    for bad in ("macs", "gpus=3", "macs=3X", "macs=-1"):
        with pytest.raises(SpecError):
            parse_budget(bad)


def test_grid_points_order():
    points = grid_points([("a", [1, 2]), ("b", [3, 4, 5])])
    assert points == [{"a": 1, "b": 3}, {"a": 1, "b": 4}, {"a": 1, "b": 5},
                      {"a": 2, "b": 3}, {"a": 2, "b": 4}, {"a": 2, "b": 5}]  # fmt: skip


# ---------------------------------------------------------------- the build_doc cache


def test_repeated_builds_of_one_doc_equal_fresh_builds():
    doc = doc_of(V2)
    for width in ("1/2", "1", "7/5", "1/3"):
        for depth in ("1", "3/2", "1/2"):
            for resolution in ("32", "64", "50"):
                params = {"width": width, "depth": depth, "resolution": resolution}
                again = build_doc(doc, V2, params=params)  # cached doc
                fresh = build(V2, params=params)  # new doc, empty cache
                assert snapshot(again) == snapshot(fresh)


def test_cached_builds_raise_the_same_error_every_time(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: [3, 8, 8]\nparams: {w: 1}\nlayers:\n"
                    "  - conv1: {type: conv, out: 8, k: 3}\n"
                    "  - conv2: {type: conv, out: 'w * 3', k: 1}\n"
                    "  - conv3: {type: conv, k: 1}\n")  # fmt: skip
    doc = doc_of(str(spec))
    messages = []
    for w in ("1/2", "1/2", "1", "1"):
        with pytest.raises(SpecError) as exc:
            build_doc(doc, "bad", params={"w": w})
        messages.append(str(exc.value))
    # w = 1/2: conv2's out = 1.5 fails first; w = 1: conv3 misses 'out'
    assert messages[0] == messages[1] and "'out' = 1.5 is not a whole number" in messages[0]
    assert messages[2] == messages[3] and "needs field 'out'" in messages[2]
    assert messages[0].startswith(str(spec.name)) or ":5:" in messages[0]


# ---------------------------------------------------------------- sweep


def test_sweep_points_equal_single_builds():
    data = json.loads(invoke("sweep", MOBILE, "--set", "alpha=0.25:1:0.25", "--set",
                             "resolution=32,48", "--format", "json"))  # fmt: skip
    assert data["axes"] == {"alpha": [0.25, 0.5, 0.75, 1], "resolution": [32, 48]}
    assert len(data["points"]) == 8
    for point in data["points"]:
        net = build(MOBILE, params={"alpha": str(point["alpha"]),
                                    "resolution": str(point["resolution"])})  # fmt: skip
        assert point["params"] == net.total("params")
        assert point["macs"] == net.total("macs")
        assert point["flops"] == 2 * point["macs"]
        assert point["activations"] == net.total("activations")


def test_sweep_hand_computed_and_unbuildable_points():
    data = json.loads(invoke("sweep", BUMPY, "--set", "x=0.1,0.3", "--set", "alpha=0.25,0.3",
                             "--format", "json"))  # fmt: skip
    pts = {(p["x"], p["alpha"]): p for p in data["points"]}
    # x = 0.1, alpha = 0.25: conv1 3->4 (27*4 + 4 = 112 params, 108*256 = 27,648 MACs);
    # conv2 4->16 (int(1) % 3 = 1: 8 + 8): 9*4*16 + 16 = 592, 576*256 = 147,456;
    # fc 16->10: 170, 160
    assert pts[(0.1, 0.25)]["params"] == 112 + 592 + 170
    assert pts[(0.1, 0.25)]["macs"] == 27648 + 147456 + 160
    # x = 0.3: int(3) % 3 = 0 -> conv2 has 8 outputs: 9*4*8 + 8 = 296; fc 8->10: 90
    assert pts[(0.3, 0.25)]["params"] == 112 + 296 + 90
    # alpha = 0.3: conv1 would have 4.8 channels: the point is listed with the reason
    assert "not a whole number" in pts[(0.1, 0.3)]["error"]
    assert "params" not in pts[(0.1, 0.3)]


def test_sweep_formats_parse_back():
    args = ("sweep", MOBILE, "--set", "alpha=0.5,1", "--set", "resolution=32")
    rows = list(csv.DictReader(io.StringIO(invoke(*args, "--format", "csv"))))
    assert [(r["alpha"], r["params"]) for r in rows] == [
        ("0.5", str(build(MOBILE, params={"alpha": "0.5"}).total("params"))),
        ("1", "67914")]
    latex = invoke(*args, "--format", "latex")
    assert "\\begin{tabular}" in latex and "\\toprule" in latex
    assert "| alpha | params |" in invoke(*args, "--format", "md")
    text = invoke(*args)
    assert "67.9K" in text and "resolution=32" in text  # one value: fixed, in the title
    assert "67,914" in invoke(*args, "--exact")


def test_sweep_parallel_equals_serial():
    doc = doc_of(MOBILE)
    points = grid_points([parse_axis("alpha=0.05:1:0.05"), parse_axis("resolution=24:40:1")])
    serial = Runner(doc, MOBILE, {}, jobs=1, progress=False).many(points)
    parallel = Runner(doc, MOBILE, {}, jobs=2, progress=False).many(points)
    assert len(points) == 340 and serial == parallel


def test_progress_bar_starts_and_stops(monkeypatch):
    monkeypatch.setattr(explore._Progress, "DELAY", 0)
    bar = explore._Progress(10, "testing", True)
    bar.update(3)
    assert bar.bar is not None
    bar.update(7)
    bar.close()
    assert bar.bar is None
    quiet = explore._Progress(10, "testing", False)
    quiet.update(3)
    assert quiet.bar is None


def test_sweep_errors(capsys):
    for args, message in ((["sweep", MOBILE, "--set", "beta=1,2"], "no such parameter"),
                          (["sweep", MOBILE], "give the grid"),
                          (["sweep", MOBILE, "--set", "alpha=1:0:1"], "empty"),
                          (["sweep", MOBILE, "--set", "alpha=1,2", "--set", "alpha=3,4"],
                           "given twice")):  # fmt: skip
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code == 2
        assert message in capsys.readouterr().err


def test_sweep_subprocess():
    proc = subprocess.run([sys.executable, "-m", "archcost", "sweep", MOBILE, "--set",
                           "alpha=0.5:1:0.5", "--format", "csv", "--timing"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(list(csv.DictReader(io.StringIO(proc.stdout)))) == 2
    assert "points/s" in proc.stderr


# ---------------------------------------------------------------- solve


def macs_at(spec, **params):
    return build(spec, params={k: str(v) for k, v in params.items()}).total("macs")


def test_solve_small_grid_and_its_neighbours():
    data = json.loads(invoke("solve", MOBILE, "--budget", "macs=5M", "--for", "alpha",
                             "--format", "json"))  # fmt: skip
    assert data["grid"] == 0.01 and data["max"] == 1 and "scanned all 100" in data["method"]
    value, nxt = Fraction(str(data["value"])), Fraction(str(data["next"]["value"]))
    assert nxt - value == Fraction(1, 100)
    # the chosen value meets the budget, the next grid value does not (built independently)
    assert macs_at(MOBILE, alpha=value) <= 5_000_000 < macs_at(MOBILE, alpha=nxt)
    assert data["result"]["macs"] == macs_at(MOBILE, alpha=value)
    assert data["next"]["exceeds"] == ["macs"]
    assert data["value"] == 0.62


def test_solve_bisection_matches_a_full_scan():
    doc = doc_of(MOBILE)
    values = explore.grid_values(Fraction(1, 1000), 1, Fraction(1, 1000))
    runner = Runner(doc, MOBILE, {"resolution": 64}, quantities=["macs", "params"],
                    progress=False)  # fmt: skip
    budgets = {"macs": 4_000_000, "params": 25_000}
    answer = solve(runner, "alpha", values, budgets)
    assert "bisection" in answer["method"] and answer["evaluations"] < 400
    full = Runner(doc, MOBILE, {"resolution": 64}, quantities=["macs", "params"],
                  progress=False).many([{"alpha": v} for v in values])  # fmt: skip
    meeting = [v for v, r in zip(values, full, strict=True)
               if r["macs"] <= 4_000_000 and r["params"] <= 25_000]  # fmt: skip
    assert answer["value"] == max(meeting)
    assert not explore.exceeds(answer["result"], budgets)
    assert explore.exceeds(answer["next"]["result"], budgets)


def test_solve_not_monotone_scans_everything():
    doc = doc_of(BUMPY)
    values = explore.grid_values(Fraction(1, 1000), 1, Fraction(1, 1000))
    runner = Runner(doc, BUMPY, {"alpha": Fraction(1, 4)}, quantities=["macs"], progress=False)
    # conv2's width cycles 8, 16, 24 with int(10 x) % 3: a budget between the 16- and the
    # 24-channel MACs is met on two thirds of every step of 0.1, not on a prefix
    budget = {"macs": 200_000}
    answer = solve(runner, "x", values, budget)
    assert "not monotone" in answer["method"]
    full = [macs_at(BUMPY, x=v, alpha="0.25") for v in values]
    assert answer["value"] == max(v for v, m in zip(values, full, strict=True) if m <= 200_000)
    assert answer["value"] == 1  # x = 1: int(10) % 3 = 1 -> 16 channels: 175,264 MACs
    assert answer["next"] is None and answer["below_failing"]


def test_solve_cli_two_budgets_and_no_solution(capsys):
    text = invoke("solve", MOBILE, "--budget", "macs=5M", "--budget", "params=20K", "--for",
                  "alpha")  # fmt: skip
    assert "answer" in text and "meets every budget" in text and "exceeds params" in text
    rows = list(csv.DictReader(io.StringIO(invoke("solve", MOBILE, "--budget", "macs=5M",
                                                  "--for", "resolution", "--grid", "8",
                                                  "--min", "8", "--format", "csv"))))  # fmt: skip
    answer = next(r for r in rows if r["row"] == "answer")
    nxt = next(r for r in rows if r["row"] == "next")
    assert int(answer["MACs"]) <= 5_000_000 < int(nxt["MACs"])
    assert int(nxt["resolution"]) - int(answer["resolution"]) == 8
    with pytest.raises(SystemExit) as exc:
        main(["solve", MOBILE, "--budget", "macs=1", "--for", "alpha"])
    assert exc.value.code == 1
    assert "No grid value meets every budget" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["solve", MOBILE, "--budget", "macs=1", "--for", "beta"])
    assert exc.value.code == 2


def test_solve_subprocess():
    proc = subprocess.run([sys.executable, "-m", "archcost", "solve", MOBILE, "--budget",
                           "macs=5M", "--for", "alpha", "--format", "json"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["value"] == 0.62
