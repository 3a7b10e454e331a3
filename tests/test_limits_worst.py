"""Every documented limit, at its worst case, within 10 s of CPU and 1 GB (issue 14).

Each test builds the input that pushes one limit of archcost/limits.py as far as it allows (or
just past it, when refusing is the worst case) and runs the commands that read it, each as a
child process under a kernel CPU limit (RLIMIT_CPU: the child is killed at 10 s of CPU) and
with its peak resident memory read back from the kernel (``os.wait4``). CPU time, not wall
time, so a busy machine does not make the test fail; a hang is also stopped by the wall bound.
"""

from __future__ import annotations

import os
import re
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


def test_max_rows_is_refused_one_past(tmp_path):
    path = _rows_file(tmp_path, "r.yaml", ["  - relu\n"] * (limits.MAX_ROWS + 1),
                      "input: [4, 2, 2]\nlayers:\n")  # fmt: skip
    _rc, _out, err = run_bounded("table", path, allowed=(2,))
    assert f"more than {limits.MAX_ROWS:,} rows in one list" in err and f"{path}:3:" in err


def _renamed(text: str) -> str:
    """The same flat network with every row renamed: no row of one matches a row of the other
    (diff then shows every row twice, only in A and only in B: its slowest output)."""
    def renamed_inputs(match):
        names = [n if n == "input" else "k" + n for n in match.group(1).split(", ")]
        return f"in: [{', '.join(names)}]"

    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith("  - "):
            line = re.sub(r"in: \[([^\]]*)\]", renamed_inputs, "  - k" + line[4:])
        lines.append(line)
    return "".join(lines)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_max_diff_nodes_two_networks_no_row_matching(tmp_path, fmt):
    # two flat networks of MAX_DIFF_NODES / 2 layers, one row per layer, no row in common
    path, mk = _deep(tmp_path, limits.MAX_DIFF_NODES // 2 - 3, "flat")
    text = open(path, encoding="utf-8").read()
    other = tmp_path / "other.yaml"
    other.write_text(_renamed(text))
    layers = mk.layer_count(mk.units_for(limits.MAX_DIFF_NODES // 2 - 3))
    assert 2 * layers <= limits.MAX_DIFF_NODES
    rc, out, _err = run_bounded("diff", path, str(other), "--all", "--format", fmt)
    assert rc == 0
    if fmt == "text":
        assert f"{layers} only in B, {layers} only in A; 0 rows identical" in out


def test_max_diff_nodes_is_refused_one_past(tmp_path):
    path, mk = _deep(tmp_path, limits.MAX_DIFF_NODES // 2 + 7, "flat")
    layers = mk.layer_count(mk.units_for(limits.MAX_DIFF_NODES // 2 + 7))
    assert 2 * layers > limits.MAX_DIFF_NODES
    _rc, _out, err = run_bounded("diff", path, path, allowed=(2,))
    assert "MAX_DIFF_NODES" in err and f"{2 * layers:,}" in err


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
    """The work the sweep counts for its first point in a new process (nothing compiled or
    remembered yet: the most any point costs)."""
    from fractions import Fraction

    from archcost.explore import _evaluate
    from archcost.expr import evaluate
    from archcost.spec import load

    evaluate._compiled.clear()
    evaluate._memo.clear()
    doc, name = load("mobilenet")
    point = {"alpha": Fraction(1, 4), "resolution": 96}
    return _evaluate(doc, name, point, False, ("params",))[1]


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
    # a block showing MAX_COLUMNS columns, on as many rows as MAX_COLUMN_CELLS allows (100,000
    # such rows were 6.4 million cells: 8.8 s and 1.4 GB); one row more is refused
    columns = ", ".join(f"c{j}: a" for j in range(limits.MAX_COLUMNS))
    head = (f"input: [4, 2, 2]\nblocks:\n  wide:\n    defaults: {{a: 1}}\n"
            f"    columns: {{{columns}}}\n    layers: [relu]\nlayers:\n")  # fmt: skip
    count = min(limits.MAX_ROWS, limits.MAX_COLUMN_CELLS // limits.MAX_COLUMNS)
    rows = [f"  - w{i}: {{type: wide}}\n" for i in range(count)]
    path = _rows_file(tmp_path, "c.yaml", rows, head)
    for command in (["table"], ["table", "--format", "csv"], ["table", "--format", "json"]):
        rc, _out, _err = run_bounded(command[0], path, *command[1:])
        assert rc == 0
    if count < limits.MAX_ROWS:
        over = _rows_file(tmp_path, "o.yaml", [*rows, f"  - w{count}: {{type: wide}}\n"], head)
        _rc, _out, err = run_bounded("table", over, allowed=(2,))
        assert "MAX_COLUMN_CELLS" in err and f":{count + 8}:" in err


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


# ---------------------------------------------------------------- every limit has a worst case


def _nested_blocks(depth):
    """Blocks nested ``depth`` deep, each using the next twice: 2**depth ReLUs."""
    text = "input: [4, 2, 2]\nblocks:\n"
    for i in range(depth):
        inner = f"b{i + 1}" if i + 1 < depth else "relu"
        text += f"  b{i}:\n    layers:\n      - x: {{type: {inner}}}\n      - y: {{type: {inner}}}\n"
    return text + "layers:\n  - top: {type: b0}\n"


def test_max_block_depth(tmp_path):
    inside = tmp_path / "depth.yaml"
    inside.write_text(_nested_blocks(limits.MAX_BLOCK_DEPTH))  # 65,536 layers
    for command in ("table", "memory"):
        rc, _out, _err = run_bounded(command, str(inside))
        assert rc == 0
    over = tmp_path / "over.yaml"
    over.write_text(_nested_blocks(limits.MAX_BLOCK_DEPTH + 1))
    _rc, _out, err = run_bounded("table", str(over), allowed=(2,))
    assert f"nested deeper than {limits.MAX_BLOCK_DEPTH}" in err


def test_max_row_expansions_with_skipped_rows(tmp_path):
    # rows skipped by `when: false` emit no layer: MAX_NODES cannot stop them; three skipped
    # rows and one ReLU per repeat reach MAX_ROW_EXPANSIONS with a quarter of MAX_NODES, and
    # the values they read reach MAX_VALUES first: whichever binds, refused in bounds
    skipped = "".join(f"      - s{j}: {{type: relu, when: false}}\n" for j in range(3))
    repeat = (limits.MAX_ROW_EXPANSIONS - 1) // 4
    path = tmp_path / "skipped.yaml"
    path.write_text(f"input: [4, 2, 2]\nblocks:\n  b:\n    layers:\n{skipped}"
                    f"      - r: {{type: relu}}\nlayers:\n  - u: {{type: b, repeat: {repeat}}}\n")
    for command in ("table", "memory"):
        _rc, _out, err = run_bounded(command, str(path), allowed=(2,))
        assert (f"more than {limits.MAX_VALUES:,} values" in err
                or f"more than {limits.MAX_ROW_EXPANSIONS:,} rows" in err)  # fmt: skip


def test_max_dim_and_max_count(tmp_path):
    # every dimension at MAX_DIM: costs are exact integers of 70+ digits, printed in PiB
    m = limits.MAX_DIM
    inside = tmp_path / "dim.yaml"
    inside.write_text(f"input: [{m}, {m}, {m}]\nlayers:\n  - c: {{type: conv, out: {m}, k: 1}}\n"
                      f"  - p: {{type: maxpool, k: {m}, s: {m}}}\n"
                      f"  - f: {{type: linear, out: {m}}}\n")  # fmt: skip
    for command in ("table", "memory", "predict"):
        rc, out, _err = run_bounded(command, str(inside))
        assert rc == 0 and "inf" not in out.split() and "nan" not in out.lower().split()
    over = tmp_path / "over.yaml"
    over.write_text(f"input: [3, 8, 8]\nlayers:\n  - c: {{type: conv, out: {m + 1}, k: 1}}\n")
    _rc, _out, err = run_bounded("table", str(over), allowed=(2,))
    assert f"{m:,}" in err or str(m) in err
    # a user-defined primitive declaring counts at MAX_COUNT, on every row up to MAX_ROWS/10
    head = ("input: [4, 2, 2]\nprimitives:\n  big:\n    shape: [in_c, in_h, in_w]\n"
            f"    params: {limits.MAX_COUNT}\n    macs: {limits.MAX_COUNT}\nlayers:\n")
    rows = [f"  - b{i}: {{type: big}}\n" for i in range(limits.MAX_ROWS // 10)]
    rc, out, _err = run_bounded("table", _rows_file(tmp_path, "count.yaml", rows, head))
    assert rc == 0
    over_head = head.replace(f"params: {limits.MAX_COUNT}", f"params: {limits.MAX_COUNT + 1}")
    _rc, _out, err = run_bounded("table", _rows_file(tmp_path, "c2.yaml", rows[:1], over_head),
                                 allowed=(2,))  # fmt: skip
    assert f"{limits.MAX_COUNT:,}" in err or str(limits.MAX_COUNT) in err


def test_max_exponent(tmp_path):
    e = limits.MAX_EXPONENT
    inside = [f"  - l: {{type: linear, out: 'int(2**{e} / 2**{e - 4} + round(1/3, {e}))'}}\n"]
    rc, _out, _err = run_bounded("table", _rows_file(tmp_path, "e.yaml", inside))
    assert rc == 0
    over = [f"  - l: {{type: linear, out: '2**{e + 1} // 2**{e}'}}\n"]
    _rc, _out, err = run_bounded("table", _rows_file(tmp_path, "o.yaml", over), allowed=(2,))
    assert f"exponent {e + 1} is larger than {e}" in err
    _rc, _out, err = run_bounded("sweep", "mobilenet", "--set", f"alpha=1e{e + 1}",
                                 allowed=(2,))  # fmt: skip
    assert err.startswith("error:")


def test_max_number_chars(tmp_path):
    n = limits.MAX_NUMBER_CHARS
    number = "0.5" + "0" * (n - 3)  # n characters
    rc, _out, _err = run_bounded("table", _rows_file(
        tmp_path, "n.yaml", [f"  - d: {{type: dropout, p: {number}}}\n"], "input: [4]\nlayers:\n"))
    assert rc == 0
    _rc, _out, err = run_bounded("table", _rows_file(
        tmp_path, "o.yaml", [f"  - d: {{type: dropout, p: {number}0}}\n"],
        "input: [4]\nlayers:\n"), allowed=(2,))  # fmt: skip
    assert str(n) in err
    rc, _out, _err = run_bounded("sweep", "mobilenet", "--set", f"alpha={number}",
                                 "--set", "resolution=128,160")  # fmt: skip
    assert rc == 0
    _rc, _out, err = run_bounded("sweep", "mobilenet", "--set", f"alpha={number}0",
                                 allowed=(2,))  # fmt: skip
    assert str(n) in err


def test_max_yaml_depth(tmp_path):
    d = limits.MAX_YAML_DEPTH
    for depth, fits in ((d, True), (d + 1, False)):
        # `layers:` and its row list are two levels; the field's list holds the rest
        inner = depth - 3
        path = tmp_path / f"d{depth}.yaml"
        path.write_text("input: [4, 2, 2]\nlayers:\n  - {type: relu, note: "
                        + "[" * inner + "1" + "]" * inner + "}\n")  # fmt: skip
        _rc, _out, err = run_bounded("table", str(path), allowed=(2,))
        assert ("deeper than" in err) != fits, err


def test_max_message_chars(tmp_path):
    # an error quoting a 4 MB value is one line of at most a few MAX_MESSAGE_CHARS
    path = tmp_path / "long.yaml"
    path.write_text("input: [4, 2, 2]\nlayers:\n  - c: {type: conv, k: 1, out: '"
                    + "x" * 4_000_000 + "'}\n")  # fmt: skip
    _rc, out, err = run_bounded("table", str(path), allowed=(2,))
    assert out == "" and err.count("\n") == 1
    assert len(err) <= 4 * limits.MAX_MESSAGE_CHARS + 200


PROFILE = """kind: cuda
title: extreme but valid
peak_macs_per_s: {{float32: {peak}}}
memory_bandwidth: {bandwidth}
efficiency: {{compute: {efficiency}, memory: {efficiency}}}
layer_overhead_s: {overhead}
"""


@pytest.mark.parametrize("values", [
    {"peak": limits.MIN_PROFILE_RATE, "bandwidth": limits.MIN_PROFILE_RATE,
     "efficiency": limits.MIN_EFFICIENCY, "overhead": limits.MAX_LAYER_OVERHEAD_S},
    {"peak": limits.MAX_PROFILE_RATE, "bandwidth": limits.MAX_PROFILE_RATE, "efficiency": 1,
     "overhead": 0},
], ids=["slowest", "fastest"])  # fmt: skip
def test_profile_limits(tmp_path, values):
    # a profile at the limits: every number predict prints or writes is finite
    path = tmp_path / "p.yaml"
    path.write_text(PROFILE.format(**values))
    for fmt in ("text", "json"):
        rc, out, _err = run_bounded("predict", "googlenet", "--profile", str(path),
                                    "--format", fmt)  # fmt: skip
        assert rc == 0
        words = out.replace(",", " ").split()
        assert not any(w.strip('"').lower() in ("inf", "infinity", "nan", "-inf") for w in words)
    # one past each limit is refused naming the value's range
    past = {"peak": values["peak"] / 2 if values["peak"] == limits.MIN_PROFILE_RATE
            else values["peak"] * 10,
            "efficiency": limits.MIN_EFFICIENCY / 10, "overhead": limits.MAX_LAYER_OVERHEAD_S * 2}
    for key, bad in past.items():
        path.write_text(PROFILE.format(**{**values, key: bad}))
        _rc, _out, err = run_bounded("predict", "googlenet", "--profile", str(path),
                                     allowed=(2,))  # fmt: skip
        assert err.startswith("error:") and str(path.name) in err


# Which test runs the worst case of each limit (a new limit fails here until it has one).
WORST_CASES = {
    "MAX_FILE_BYTES": test_max_yaml_nodes_and_file_bytes,
    "MAX_YAML_NODES": test_max_yaml_nodes_and_file_bytes,
    "MAX_YAML_DEPTH": test_max_yaml_depth,
    "MAX_NUMBER_CHARS": test_max_number_chars,
    "MAX_DIM": test_max_dim_and_max_count,
    "MAX_COUNT": test_max_dim_and_max_count,
    "MAX_EXPR_CHARS": test_max_expr_chars,
    "MAX_EXPR_WORK": test_max_expr_work,
    "MAX_EXPONENT": test_max_exponent,
    "MAX_NUMBER_BITS": test_max_number_bits,
    "MAX_ROWS": test_max_rows_every_command,
    "MAX_REPEAT": test_max_repeat_in_place_chain,
    "MAX_NODES": test_max_nodes_every_command,
    "MAX_ROW_EXPANSIONS": test_max_row_expansions_with_skipped_rows,
    "MAX_VALUES": test_max_row_expansions_and_values_bombs,
    "MAX_COLUMNS": test_max_columns,
    "MAX_COLUMN_CELLS": test_max_columns,
    "MAX_BLOCK_DEPTH": test_max_block_depth,
    "MAX_EXTENDS_DEPTH": test_max_extends_depth,
    "MAX_LABEL_CHARS": test_max_type_words_and_label_chars,
    "MAX_TYPE_WORDS": test_max_type_words_and_label_chars,
    "MAX_TABLE_WORK": test_max_table_networks_and_work,
    "MAX_TABLE_NETWORKS": test_max_table_networks_and_work,
    "MAX_PRINTED_DIGITS": test_max_printed_digits,
    "MAX_SYMBOLIC_NODES": test_max_symbolic_nodes,
    "MAX_FORMULA_TERMS": test_max_formula_terms,
    "MAX_RICH_ROWS": test_max_rich_rows_and_labels,
    "MAX_GRID_POINTS": test_max_sweep_work,
    "MAX_SWEEP_WORK": test_max_sweep_work,
    "MAX_DIFF_NODES": test_max_diff_nodes_two_networks_no_row_matching,
    "MAX_TORCH_NODES": test_max_torch_nodes,
    "MAX_PLOT_ROWS": test_max_plot_rows,
    "MAX_PLOT_LABEL_CHARS": test_max_plot_rows,
    "MAX_MESSAGE_CHARS": test_max_message_chars,
    "MIN_PROFILE_RATE": test_profile_limits,
    "MAX_PROFILE_RATE": test_profile_limits,
    "MIN_EFFICIENCY": test_profile_limits,
    "MAX_LAYER_OVERHEAD_S": test_profile_limits,
}


def test_every_limit_has_a_worst_case_test():
    names = sorted(n for n in dir(limits) if n.isupper())
    assert sorted(WORST_CASES) == names
