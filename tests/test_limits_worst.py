"""Every documented limit, at its worst case, within 10 s of CPU and 1 GB (issue 14).

Each test builds the input that pushes one limit of archcost/limits.py as far as it allows (or
just past it, when refusing is the worst case) and runs the commands that read it, each as a
child process under a kernel CPU limit (RLIMIT_CPU: the child is killed at 10 s of CPU) and
with its peak resident memory read back from the kernel (``os.wait4``). CPU time, not wall
time, so a busy machine does not make the test fail; a hang is also stopped by the wall bound.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time

import pytest

from archcost import limits

from .conftest import ROOT

CPU_S = 10
RSS_BYTES = 1 << 30
WALL_S = 300  # only a hang (a child that does not use CPU) could reach this


def _limit_cpu():
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_S, CPU_S + 1))


# The child's own peak memory: VmHWM of the process archcost runs in, read at exit. The
# kernel's ru_maxrss of a forked child also keeps the high-water mark of the process it was
# forked from (a pytest worker that ran torch tests holds 1.5 GB), so it cannot be used here.
_HWM_MAIN = """
import atexit, os, runpy, sys
def _hwm():
    with open("/proc/self/status", encoding="ascii") as f:
        kb = next(int(x.split()[1]) for x in f if x.startswith("VmHWM:"))
    with open(os.environ["ARCHCOST_TEST_HWM"], "w", encoding="ascii") as f:
        f.write(str(kb * 1024))
atexit.register(_hwm)
sys.argv = ["archcost", *sys.argv[1:]]
runpy.run_module("archcost", run_name="__main__")
"""


def run_bounded(*args, cwd=ROOT, allowed=(0, 2)):
    """Run ``python -m archcost ARGS``; assert it ends with an allowed exit code inside the
    CPU and memory bounds; return (exit code, stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=ROOT, COLUMNS="200")
    env.pop("ARCHCOST_DEBUG", None)
    hwm_file = tempfile.NamedTemporaryFile(delete=False)  # noqa: SIM115
    hwm_file.close()
    env["ARCHCOST_TEST_HWM"] = hwm_file.name
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-c", _HWM_MAIN, *args], cwd=cwd, env=env,
                                stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                preexec_fn=_limit_cpu)  # fmt: skip
        start = time.monotonic()
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > WALL_S:
                proc.kill()
                os.wait4(proc.pid, 0)
                pytest.fail(f"archcost {' '.join(args)} did not finish (hang)")
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    cpu = usage.ru_utime + usage.ru_stime
    with open(hwm_file.name, encoding="ascii") as f:
        written = f.read()
    os.unlink(hwm_file.name)
    # killed past the CPU limit, a child writes nothing: the CPU assertion below reports it
    rss = int(written) if written else 0
    what = f"archcost {' '.join(a[:60] for a in args)}"
    assert proc.returncode != -9 and proc.returncode != -24, f"{what}: killed past {CPU_S} s CPU"
    assert rss <= RSS_BYTES, f"{what}: {rss / 2**20:.0f} MiB"
    assert cpu <= CPU_S, f"{what}: {cpu:.1f} s CPU"
    assert proc.returncode in allowed, f"{what}: exit {proc.returncode}: {stderr[-500:]}"
    return proc.returncode, stdout, stderr


def _deep(tmp_path, layers, form):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        import make_deep_spec as mk
    finally:
        sys.path.pop(0)
    path = tmp_path / f"deep_{form}.yaml"
    path.write_text(mk.make_spec(layers, form))
    return str(path), mk


HEAVY = (["table"], ["table", "--expand", "--format", "json"], ["memory", "--expand"],
         ["memory", "--train"], ["predict", "--expand"], ["formula"], ["compare", "googlenet"])


@pytest.mark.parametrize("command", HEAVY, ids=lambda c: " ".join(c))
def test_max_nodes_every_command(tmp_path, command):
    # the repeat form reaches MAX_NODES with a few lines of YAML
    path, mk = _deep(tmp_path, limits.MAX_NODES, "repeat")
    assert mk.layer_count(mk.units_for(limits.MAX_NODES)) <= limits.MAX_NODES
    rc, _out, _err = run_bounded(command[0], path, *command[1:])
    assert rc == 0


@pytest.mark.parametrize("command", HEAVY, ids=lambda c: " ".join(c))
def test_max_rows_every_command(tmp_path, command):
    # one row per layer: the slowest form to read, at MAX_ROWS rows
    path, mk = _deep(tmp_path, limits.MAX_ROWS, "flat")
    rc, _out, err = run_bounded(command[0], path, *command[1:])
    if command[0] == "formula":  # thousands of one-layer rows: past MAX_SYMBOLIC_NODES
        assert rc == 2 and "MAX_SYMBOLIC_NODES" in err
    else:
        assert rc == 0


def test_max_rows_diff_of_a_file_with_itself(tmp_path):
    path, _mk = _deep(tmp_path, limits.MAX_ROWS, "flat")
    run_bounded("diff", path, path, "--all")


def test_max_nodes_is_refused_one_past(tmp_path):
    path = tmp_path / "over.yaml"
    path.write_text(f"input: [4, 2, 2]\nlayers:\n  - r: {{type: relu, repeat: "
                    f"{limits.MAX_REPEAT}}}\n  - s: {{type: relu, repeat: {limits.MAX_REPEAT}}}\n")
    if 2 * limits.MAX_REPEAT > limits.MAX_NODES:
        _rc, _out, err = run_bounded("table", str(path), allowed=(2,))
        assert f"more than {limits.MAX_NODES:,} layers" in err


@pytest.mark.parametrize("command", [["table"], ["memory"], ["compare", "googlenet"],
                                     ["predict"], ["memory", "--train"]],
                         ids=lambda c: " ".join(c))  # fmt: skip
def test_max_repeat_in_place_chain(tmp_path, command):
    # three lines: MAX_REPEAT in-place ReLUs; the in-place walk was quadratic (minutes)
    path = tmp_path / "chain.yaml"
    path.write_text(f"input: [3, 8, 8]\nlayers:\n  - r: {{type: relu, repeat: "
                    f"{limits.MAX_REPEAT}}}\n")
    rc, _out, _err = run_bounded(command[0], str(path), *command[1:])
    assert rc == 0


def test_max_yaml_nodes_and_file_bytes(tmp_path):
    # just under MAX_YAML_NODES scalars in one list, in a file near MAX_FILE_BYTES
    count = limits.MAX_YAML_NODES - 100
    pad = max(1, (limits.MAX_FILE_BYTES - 200) // count - 3)
    path = tmp_path / "nodes.yaml"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("input: [3, 8, 8]\nlayers: [relu]\nnotes: [")
        handle.write(", ".join(["x" * pad] * count))
        handle.write("]\n")
    assert os.path.getsize(path) <= limits.MAX_FILE_BYTES
    run_bounded("table", str(path))
    run_bounded("check", str(path))


@pytest.mark.parametrize("name", ["yaml_alias_bomb_rows.yaml", "yaml_alias_bomb_layers.yaml",
                                  "yaml_alias_bomb_field.yaml", "yaml_alias_bomb_param.yaml"])
def test_max_row_expansions_and_values_bombs(name):
    path = os.path.join(ROOT, "tests", "bad_specs", name)
    run_bounded("table", path, allowed=(2,))
    run_bounded("memory", path, allowed=(2,))


def test_max_symbolic_nodes(tmp_path):
    n = limits.MAX_SYMBOLIC_NODES
    path = tmp_path / "sym.yaml"
    head = "input: [4, 4, 4]\nparams: {w: 4}\nlayers:\n"
    path.write_text(head + "".join(f"  - c{i}: {{type: conv, out: w, k: 1}}\n" for i in range(n)))
    run_bounded("table", str(path), "--symbolic")
    run_bounded("formula", str(path))
    run_bounded("formula", str(path), "--in", "w")
    over = tmp_path / "over.yaml"
    over.write_text(head + "".join(f"  - c{i}: {{type: conv, out: w, k: 1}}\n"
                                   for i in range(n + 1)))  # fmt: skip
    for args in (["formula"], ["formula", "--in", "w"], ["table", "--symbolic"]):
        _rc, _out, err = run_bounded(args[0], str(over), *args[1:], allowed=(2,))
        assert "MAX_SYMBOLIC_NODES" in err or f"{n:,}" in err


def test_max_formula_terms(tmp_path):
    names = [f"p{i}" for i in range(40)]
    path = tmp_path / "many.yaml"
    total = "+".join(names)
    path.write_text("input: [3, 8, 8]\nparams: {" + ", ".join(f"{p}: 1" for p in names)
                    + "}\nlayers:\n" + "".join(f"  - c{i}: {{type: conv, out: {total}, k: 3, "
                                               "p: 1}\n" for i in range(4)))  # fmt: skip
    run_bounded("formula", str(path), "--in", ",".join(names), "--continuous")
    power = tmp_path / "power.yaml"
    six = "+".join(names[:6])
    power.write_text("input: [3, 8, 8]\nparams: {" + ", ".join(f"{p}: 1" for p in names[:6])
                     + f"}}\nlayers:\n  - a: {{type: conv, out: ({six})**8, k: 1}}\n"
                     f"  - b: {{type: conv, out: ({six})**8, k: 1}}\n")
    _rc, _out, err = run_bounded("formula", str(power), "--in", ",".join(names[:6]),
                                 "--continuous", allowed=(2,))  # fmt: skip
    assert "MAX_FORMULA_TERMS" in err


def test_max_rich_rows_and_labels(tmp_path):
    # MAX_RICH_ROWS rows whose labels are MAX_LABEL_CHARS long, in rich's text table and bars
    rows = limits.MAX_RICH_ROWS
    label = "x" * (limits.MAX_LABEL_CHARS - 8)
    path = tmp_path / "wide.yaml"
    path.write_text("input: [3, 4, 4]\nlayers:\n" + "".join(f"  - {label}{i:06d}: {{type: relu}}\n"
                                                         for i in range(rows)))  # fmt: skip
    assert run_bounded("table", str(path))[0] == 0
    assert run_bounded("table", str(path), "--bars")[0] == 0
    _rc, _out, err = run_bounded("table", str(path), "--plot", str(tmp_path / "p.png"),
                                 allowed=(2,))  # fmt: skip
    assert "MAX_PLOT_ROWS" in err


def test_max_plot_rows(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "plot.yaml"
    label = "y" * limits.MAX_LABEL_CHARS
    path.write_text("input: [3, 4, 4]\nlayers:\n" + "".join(
        f"  - {label[:-6]}{i:06d}: {{type: conv, out: 3, k: 1}}\n"
        for i in range(limits.MAX_PLOT_ROWS)))  # fmt: skip
    _rc, _out, err = run_bounded("table", str(path), "--plot", str(tmp_path / "p.png"))
    assert err == ""  # no matplotlib warning about the layout


def test_max_table_networks_and_work(tmp_path):
    # MAX_TABLE_NETWORKS parameter sets of mobilenet, each a distinct build
    rows = "".join(f"  - {{network: mobilenet, set: {{resolution: {32 + 8 * i}}}, row: total, "
                   f"p: 1}}\n" for i in range(limits.MAX_TABLE_NETWORKS))  # fmt: skip
    path = tmp_path / "t.yaml"
    path.write_text("id: t\ncolumns: {p: {quantity: params}}\nrows:\n" + rows)
    run_bounded("check", str(path), allowed=(0, 1))


def test_max_extends_depth(tmp_path):
    for i in range(limits.MAX_EXTENDS_DEPTH):
        base = f"extends: f{i + 1}.yaml\n" if i + 1 < limits.MAX_EXTENDS_DEPTH else \
            "extends: googlenet\n"  # fmt: skip
        (tmp_path / f"f{i}.yaml").write_text(base + f"title: level {i}\n")
    run_bounded("table", str(tmp_path / "f0.yaml"))


def _mobilenet_point_work():
    from archcost.explore import _evaluate
    from archcost.spec import load

    doc, name = load("mobilenet")
    return _evaluate(doc, name, {"alpha": 1, "resolution": 224}, False, ("params",))[1]


def test_max_sweep_work(tmp_path):
    # a sweep as long as the work bound allows (MobileNet, the heaviest points per unit of
    # work among the built-ins), on one process; then grids past it are refused before work
    per = _mobilenet_point_work()
    resolutions = limits.MAX_SWEEP_WORK // per * 9 // 10 // 100  # 100 alphas each
    assert resolutions >= 2
    axes = ["--set", "alpha=0.25:1.24:0.01", "--set", f"resolution=96:{95 + resolutions}:1"]
    out = str(tmp_path / "s.json")
    rc, _out, _err = run_bounded("sweep", "mobilenet", *axes, "--jobs", "1", "-o", out,
                                 "--format", "json")  # fmt: skip
    assert rc == 0
    big = ["--set", "alpha=0.25:1.24:0.01", "--set", "resolution=96:595:1"]  # 50,000 points
    _rc, _out, err = run_bounded("sweep", "mobilenet", *big, "--jobs", "1", allowed=(2,))
    assert "MAX_SWEEP_WORK" in err
    _rc, _out, err = run_bounded("sweep", "mobilenet", "--set", "resolution=1:100001:1",
                                 allowed=(2,))  # fmt: skip
    assert "MAX_GRID_POINTS" in err
    _rc, _out, err = run_bounded("solve", "mobilenet", "--budget", "macs=300M", "--for",
                                 "alpha", "--grid", "0.000001", allowed=(2,))  # fmt: skip
    assert "MAX_GRID_POINTS" in err


def test_max_torch_nodes(tmp_path):
    pytest.importorskip("torch")
    # a chain of in-place ReLUs at the limit: the in-place walk of the torch backend was
    # quadratic too (20,000 took about a minute)
    path = tmp_path / "chain.yaml"
    path.write_text(f"input: [3, 8, 8]\nlayers:\n  - r: {{type: relu, repeat: "
                    f"{limits.MAX_TORCH_NODES}}}\n")
    rc, _out, _err = run_bounded("verify", str(path), allowed=(0,))
    over = tmp_path / "over.yaml"
    over.write_text(f"input: [3, 8, 8]\nlayers:\n  - r: {{type: relu, repeat: "
                    f"{limits.MAX_TORCH_NODES + 1}}}\n")
    for command in ("verify", "bench"):
        _rc, _out, err = run_bounded(command, str(over), allowed=(2,))
        assert "MAX_TORCH_NODES" in err


# ---------------------------------------------------------------- the limits left (issue 14)


def _rows_file(tmp_path, name, rows, head="input: [1]\nlayers:\n"):
    path = tmp_path / name
    path.write_text(head + "".join(rows))
    assert os.path.getsize(path) <= limits.MAX_FILE_BYTES
    return str(path)


def test_max_expr_chars(tmp_path):
    # as many rows as the file size allows, each with an expression of MAX_EXPR_CHARS
    expr = "1" + "+0" * ((limits.MAX_EXPR_CHARS - 1) // 2)
    assert len(expr) <= limits.MAX_EXPR_CHARS
    count = min(limits.MAX_ROWS, limits.MAX_FILE_BYTES // (len(expr) + 40))
    rows = [f"  - l{i}: {{type: linear, out: '{expr}'}}\n" for i in range(count)]
    for command in (["table"], ["memory"], ["predict"]):
        rc, _out, _err = run_bounded(command[0], _rows_file(tmp_path, "e.yaml", rows))
        assert rc == 0
    over = [f"  - l: {{type: linear, out: '{expr}+0'}}\n"]
    _rc, _out, err = run_bounded("table", _rows_file(tmp_path, "o.yaml", over), allowed=(2,))
    assert "MAX_EXPR_CHARS" in err or f"{limits.MAX_EXPR_CHARS}" in err


def _distinct_expressions(count):
    """``count`` rows, each with a different expression of MAX_EXPR_CHARS characters: none is
    compiled or evaluated twice; returns (rows, the expression work they take)."""
    rows, work = [], 0
    for i in range(count):
        head = str(i + 1)
        plus = (limits.MAX_EXPR_CHARS - len(head)) // 2
        rows.append(f"  - l{i}: {{type: linear, out: '{head}{'+0' * plus}'}}\n")
        work += len(head) + 2 * plus + plus  # its characters, then its operators
    return rows, work


def test_max_expr_work(tmp_path):
    # the slowest expressions: all different and as long as allowed; just inside the budget
    # the commands finish, and a file that takes more is refused naming the limit
    per = limits.MAX_EXPR_CHARS * 3 // 2
    rows, work = _distinct_expressions(limits.MAX_EXPR_WORK // per - 1)
    assert work <= limits.MAX_EXPR_WORK
    inside = _rows_file(tmp_path, "inside.yaml", rows)
    for command in ("table", "memory"):
        rc, _out, _err = run_bounded(command, inside)
        assert rc == 0
    count = min(limits.MAX_ROWS, limits.MAX_FILE_BYTES // (limits.MAX_EXPR_CHARS + 40))
    rows, work = _distinct_expressions(count)
    assert work > limits.MAX_EXPR_WORK
    _rc, _out, err = run_bounded("table", _rows_file(tmp_path, "over.yaml", rows), allowed=(2,))
    assert "MAX_EXPR_WORK" in err


def test_max_number_bits(tmp_path):
    # 2**63 four times is 2**252: inside MAX_NUMBER_BITS; once more is past it
    inside = " * ".join(["2**63"] * 4) + " // " + " // ".join(["2**63"] * 4)
    rc, _out, _err = run_bounded("table", _rows_file(
        tmp_path, "b.yaml", [f"  - l: {{type: linear, out: '{inside}'}}\n"]))
    assert rc == 0
    over = " * ".join(["2**63"] * 5)
    _rc, _out, err = run_bounded("table", _rows_file(
        tmp_path, "o.yaml", [f"  - l: {{type: linear, out: '{over}'}}\n"]), allowed=(2,))
    assert "MAX_NUMBER_BITS" in err or "bits" in err


def test_max_columns(tmp_path):
    # a block showing MAX_COLUMNS columns, used on every row up to MAX_ROWS
    columns = ", ".join(f"c{j}: a" for j in range(limits.MAX_COLUMNS))
    head = (f"input: [4, 2, 2]\nblocks:\n  wide:\n    defaults: {{a: 1}}\n"
            f"    columns: {{{columns}}}\n    layers: [relu]\nlayers:\n")  # fmt: skip
    rows = [f"  - w{i}: {{type: wide}}\n" for i in range(limits.MAX_ROWS)]
    path = _rows_file(tmp_path, "c.yaml", rows, head)
    for command in (["table"], ["table", "--format", "csv"], ["table", "--format", "json"]):
        rc, _out, _err = run_bounded(command[0], path, *command[1:])
        assert rc == 0


def test_max_type_words_and_label_chars(tmp_path):
    # every label as long as MAX_LABEL_CHARS, made of one-letter words after the type: each
    # row's type is found among its leading MAX_TYPE_WORDS words, never all of them
    label = ("relu " + "a " * limits.MAX_LABEL_CHARS)[: limits.MAX_LABEL_CHARS - 8].strip()
    count = min(limits.MAX_ROWS, limits.MAX_FILE_BYTES // (len(label) + 20))
    rows = [f"  - {label} {i}\n" for i in range(count)]
    path = _rows_file(tmp_path, "t.yaml", rows, "input: [4, 2, 2]\nlayers:\n")
    rc, _out, _err = run_bounded("table", path)
    assert rc == 0


def test_max_printed_digits(tmp_path):
    # a printed cell of MAX_PRINTED_DIGITS digits is read (and does not match: exit 1); one
    # digit more is refused with its line (exit 2)
    for digits, allowed in ((limits.MAX_PRINTED_DIGITS, (1,)), (limits.MAX_PRINTED_DIGITS + 1, (2,))):
        table = tmp_path / f"d{digits}.yaml"
        table.write_text("id: t\nnetwork: mobilenet\ncolumns: {p: {quantity: params}}\n"
                         f"rows:\n  - {{row: total, p: {'9' * digits}}}\n")  # fmt: skip
        run_bounded("check", str(table), allowed=allowed)
