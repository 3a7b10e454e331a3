"""Hostile input, round two (issue 14): one test per class of defect, each failing before its fix.

The expected values are written by hand from the rule each class must follow (an escape table,
a message naming both lines, an exit code), never copied from archcost's output.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

from archcost.cli import cli
from archcost.commands.diff import match_rows
from archcost.errors import SpecError

from .conftest import ROOT, run_cli
from .test_limits_worst import run_bounded


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _spec(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------- silent wrong answers


@pytest.mark.parametrize("rows, first, second", [
    # an explicit id equal to the batch norm that `bn: true` generates
    ("  - c: {type: conv, out: 4, k: 3, bn: true}\n  - x: {type: conv, out: 4, k: 3, id: c/bn}\n",
     3, 4),
    # the generated id comes second
    ("  - c/bn: {type: conv, out: 4, k: 3}\n  - c: {type: conv, out: 4, k: 3, bn: true}\n", 3, 4),
    # an explicit id equal to a repeat's generated id
    ("  - r: {type: relu, repeat: 2}\n  - x: {type: relu, id: r.2}\n", 3, 4),
    # an explicit id equal to a layer inside a block (line 3: the block's row)
    ("  - b: {type: blk}\n  - x: {type: relu, id: b/y}\n", 3, 6),
])  # fmt: skip
def test_node_id_collisions_are_an_error_naming_both_lines(tmp_path, rows, first, second):
    head = "input: [3, 8, 8]\nlayers:\n"
    if "blk" in rows:
        head = ("input: [3, 8, 8]\nblocks:\n  blk: {args: [], layers: [{y: {type: relu}}]}\n"
                "layers:\n")  # fmt: skip
    path = _spec(tmp_path, head + rows)
    for args in (["table"], ["table", "--fold-bn"], ["memory"]):
        result = _invoke(args[0], path, *args[1:])
        assert result.exit_code == 2, result.output
        message = result.output.strip().splitlines()[-1]
        assert message.startswith(f"error: {path}:{second}: ")
        assert f"{path}:{first}" in message


def _reference_match_rows(rows_a, rows_b):
    """The rule as documented, written the plain (quadratic) way: ids, then labels in order;
    a row only in B goes right after the B row before it."""
    pairs, used = {}, set()
    for ra in rows_a:
        for rb in rows_b:
            if rb.id == ra.id and id(rb) not in used:
                pairs[id(ra)] = rb
                used.add(id(rb))
                break
    for ra in rows_a:
        if id(ra) in pairs:
            continue
        for rb in rows_b:
            if id(rb) not in used and rb.label == ra.label:
                pairs[id(ra)] = rb
                used.add(id(rb))
                break
    out = [(ra, pairs.get(id(ra))) for ra in rows_a]
    for k, rb in enumerate(rows_b):
        if id(rb) in used:
            continue
        at = 0
        if k:
            prev = rows_b[k - 1]
            at = next(i for i, (_, b) in enumerate(out) if b is prev) + 1
        out.insert(at, (None, rb))
    return out


class _Row:
    def __init__(self, rid, label):
        self.id, self.label = rid, label


def test_diff_matching_follows_the_rule():
    import random

    rng = random.Random(14)  # noqa: S311 - test data, not secrets
    for _ in range(2000):
        def rows(n, prefix):
            made, seen = [], set()
            for i in range(n):
                rid = f"{prefix}{i}" if rng.random() < 0.5 else f"s{rng.randrange(5)}"
                while rid in seen:
                    rid += "'"
                seen.add(rid)
                made.append(_Row(rid, rng.choice("abcd")))
            return made

        a, b = rows(rng.randrange(9), "a"), rows(rng.randrange(9), "b")
        got = [(x and x.id, y and y.id) for x, y in match_rows(a, b)]
        want = [(x and x.id, y and y.id) for x, y in _reference_match_rows(a, b)]
        assert got == want


def test_diff_of_ten_thousand_rows_is_bounded(tmp_path):
    # 10,000 rows took 21 s when each row only in B rescanned the list; with every row of B
    # renamed, all 10,000 are "only in B"
    a = _spec(tmp_path, "input: [4]\nlayers:\n" + "".join(
        f"  - a{i}: {{type: relu}}\n" for i in range(10_000)), "a.yaml")  # fmt: skip
    b = _spec(tmp_path, "input: [4]\nlayers:\n" + "".join(
        f"  - b{i}: {{type: relu}}\n" for i in range(10_000)), "b.yaml")  # fmt: skip
    rc, out, _err = run_bounded("diff", a, b, "--format", "csv")
    assert rc == 0 and out.count("only in B") == 10_000 and out.count("only in A") == 10_000


# ---------------------------------------------------------------- numbers on the command line


@pytest.mark.parametrize("args", [
    ["table", "mobilenet", "--set", "alpha=1e999999999"],
    ["sweep", "mobilenet", "--set", "alpha=1e999999999"],
    ["sweep", "mobilenet", "--set", "alpha=1e5000"],
    ["sweep", "mobilenet", "--set", "alpha=0.5:1e-5000:1"],
    ["solve", "mobilenet", "--for", "alpha", "--budget", "macs=1e999999999"],
    ["solve", "mobilenet", "--for", "alpha", "--budget", "macs=300M", "--grid", "1e-99999"],
])  # fmt: skip
def test_cli_numbers_are_bounded_before_parsing(args):
    rc, _out, err = run_bounded(*args, allowed=(2,))
    assert "MAX_EXPONENT" in err and err.count("\n") == 1


def test_batch_sizes_are_bounded():
    result = _invoke("memory", "lenet5", "--batch", "9" * 5000)
    assert result.exit_code == 2


# ---------------------------------------------------------------- YAML tags


@pytest.mark.parametrize("value", ["!!bool maybe", "!!int ''", "!!float _", "!!null x",
                                   "!!int 0x", "!!float ."])  # fmt: skip
@pytest.mark.parametrize("where", ["spec", "table", "profile"])
def test_explicit_tags_with_odd_values_are_exit_2_with_the_line(tmp_path, value, where):
    if where == "spec":
        path = _spec(tmp_path, f"input: [3, 8, 8]\nlayers:\n  - c: {{type: conv, out: 4, k: 3, "
                               f"bias: {value}}}\n")  # fmt: skip
        args = ["table", path]
    elif where == "table":
        path = _spec(tmp_path, f"id: t\ncolumns: {{p: {{quantity: params}}}}\nrows:\n"
                               f"  - {{network: lenet5, row: total, p: {value}}}\n")  # fmt: skip
        args = ["check", path]
    else:
        path = _spec(tmp_path, f"kind: cuda\npeak_macs_per_s: {{float32: {value}}}\n"
                               "memory_bandwidth: 1.0e+12\n")  # fmt: skip
        args = ["predict", "lenet5", "--profile", path]
    result = _invoke(*args)
    assert result.exit_code == 2, result.output
    line = 4 if where == "table" else 3 if where == "spec" else 2
    assert result.output.startswith(f"error: {path}:{line}: ")


# ---------------------------------------------------------------- profiles


def _profile(tmp_path, body, name="p.yaml"):
    return _spec(tmp_path, "kind: cuda\npeak_macs_per_s: {float32: 1.0e+12}\n"
                           "memory_bandwidth: 1.0e+12\n" + body, name)  # fmt: skip


def test_profile_quoted_only_in_brief(tmp_path):
    # 9 levels of 9 aliases: 387,420,489 items that str() or repr() would spell out
    levels = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    for i in range(1, 9):
        levels.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    bomb = "measured:\n" + "".join(f"  {line}\n" for line in levels)
    rest = {"kind": "kind: cuda\n", "peak": "peak_macs_per_s: {float32: 1.0e+12}\n",
            "bw": "memory_bandwidth: 1.0e+12\n"}  # fmt: skip
    for field in ("title", "name", "source", "kind", "nonsense", "memory_bandwidth"):
        keys = dict(rest)
        keys.pop({"kind": "kind", "memory_bandwidth": "bw"}.get(field, ""), None)
        path = _spec(tmp_path, bomb + "".join(keys.values()) + f"{field}: *a8\n", f"{field}.yaml")
        _rc, _out, err = run_bounded("predict", "lenet5", "--profile", path, allowed=(2,))
        assert len(err) < 1100


@pytest.mark.parametrize("body", [
    "efficiency: {compute: 1.0e-320}\n",  # efficiency x peak underflowed to 0
    "efficiency: {memory: 1.0e-300}\n",
    "layer_overhead_s: 1.0e+300\n",
    "window_ops_per_s: 1.0e-300\n",
])  # fmt: skip
def test_profiles_whose_numbers_would_underflow_or_overflow_are_refused(tmp_path, body):
    path = _profile(tmp_path, body)
    result = _invoke("predict", "googlenet", "--profile", path, "--format", "json")
    assert result.exit_code == 2 and result.output.startswith(f"error: {path}:4: ")


def test_extreme_accepted_profile_prints_only_finite_numbers(tmp_path):
    path = _spec(tmp_path, "kind: cuda\npeak_macs_per_s: {float32: 1.0}\nmemory_bandwidth: 1.0e+30\n"
                           "efficiency: {compute: 1.0e-6, memory: 1.0e-6}\n")  # fmt: skip
    for fmt in ("json", "text", "csv", "md"):
        result = _invoke("predict", "googlenet", "--profile", path, "--format", fmt)
        assert result.exit_code == 0
        for word in ("inf", "nan", "Infinity", "NaN"):
            assert word not in result.output.replace("information", "")
    data = json.loads(_invoke("predict", "googlenet", "--profile", path, "--format",
                              "json").output, parse_constant=lambda c: pytest.fail(c))  # fmt: skip
    assert data["total_ms"] > 0


def test_profile_without_the_dtype_names_its_line(tmp_path):
    path = _profile(tmp_path, "")
    result = _invoke("predict", "lenet5", "--profile", path, "--dtype", "float16")
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {path}:2: ") and "float16" in result.output


def test_predict_of_a_network_that_takes_no_time(tmp_path):
    path = _spec(tmp_path, "input: [3, 8, 8]\nlayers:\n  - flatten\n  - dropout\n")
    for fmt in ("text", "json", "md", "csv"):
        result = _invoke("predict", path, "--format", fmt)
        assert result.exit_code == 0, result.output
    assert json.loads(_invoke("predict", path, "--format", "json").output)["total_ms"] == 0


def test_json_never_holds_nan_or_infinity():
    from archcost.report import to_json

    assert json.loads(to_json({"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5]})) == \
        {"a": None, "b": [None, None, 1.5]}  # fmt: skip


# ---------------------------------------------------------------- -o


def test_output_naming_the_input_is_refused(tmp_path):
    path = _spec(tmp_path, "input: [3, 8, 8]\nlayers:\n  - relu\n")
    before = open(path, encoding="utf-8").read()
    link = tmp_path / "link.yaml"
    link.symlink_to(path)
    for target in (path, str(link)):
        result = _invoke("table", path, "-o", target)
        assert result.exit_code == 2 and "reads" in result.output
    assert open(path, encoding="utf-8").read() == before
    profile = _profile(tmp_path, "")
    result = _invoke("predict", "lenet5", "--profile", profile, "-o", profile)
    assert result.exit_code == 2


def test_output_onto_a_fifo_without_reader_does_not_block(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = run_cli("table", "lenet5", "-o", str(fifo), timeout=60)
    assert proc.returncode == 2 and "no process reads" in proc.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_output_to_dev_stdout_when_stdout_is_a_pipe():
    proc = run_cli("table", "lenet5", "--format", "csv", "-o", "/dev/stdout")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("layer,")


# ---------------------------------------------------------------- escaping


LABEL = "c \x1b]52;c;SGVsbG8=\x07 [/x] $\\undefinedcmd$ & _ % [red]r"


def test_one_escaping_function_per_format():
    from archcost import safeio

    assert safeio.terminal("a\x1b[2Jb\x07\n") == "a\\x1b[2Jb\\x07 "
    assert safeio.latex("50% of $x_1$ & {y} ~ #2 ^ \\") == (
        r"50\% of \$x\_1\$ \& \{y\} \textasciitilde{} \#2 \textasciicircum{} \textbackslash{}")
    assert safeio.latex("\x1b") == r"\textbackslash{}x1b"
    assert safeio.markdown("a|b *c* _d_ [e](f) <g> `h` $i$") == \
        r"a\|b \*c\* \_d\_ \[e\](f) \<g\> \`h\` \$i\$"  # fmt: skip
    assert safeio.csv_cell("=cmd|' /c calc'!A0") == "'=cmd|' /c calc'!A0"
    assert safeio.csv_cell("-12.5") == "-12.5" and safeio.csv_cell("-") == "-"
    assert safeio.mathtext("$\\undefinedcmd$") == "\\$\\undefinedcmd\\$"
    assert safeio.rich_markup("[/x] [bold]") == "\\[/x] \\[bold]"


@pytest.mark.parametrize("args", [
    ["table", "--bars"], ["formula", "--format", "latex"], ["formula", "--in", "w", "--format",
    "latex"], ["formula"], ["table", "--format", "md"], ["table", "--format", "latex"],
    ["table", "--format", "csv"], ["memory"], ["predict"], ["diff", "lenet5"],
])  # fmt: skip
def test_labels_with_control_and_markup_characters(tmp_path, args):
    path = _spec(tmp_path, f"title: {json.dumps(LABEL)}\ninput: [3, 8, 8]\nparams: {{w: 4}}\n"
                           f"layers:\n  - {json.dumps(LABEL)}: {{type: conv, out: w, k: 3}}\n"
                           "  - relu\n")  # fmt: skip
    if args[0] == "diff":
        args = ["diff", path, args[1]]
    else:
        args = [args[0], path, *args[1:]]
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    if "latex" in args and "--in" not in args:  # with --in the title is only a % comment
        assert "\\$\\textbackslash{}undefinedcmd\\$ \\& \\_ \\%" in result.output


def test_plot_labels_are_not_mathtext_and_warn_nothing(tmp_path):
    pytest.importorskip("matplotlib")
    long = "L" * 900
    path = _spec(tmp_path, f"input: [3, 8, 8]\nlayers:\n  - {json.dumps(LABEL)}: {{type: conv, "
                           f"out: 4, k: 3}}\n  - {long}: {{type: relu}}\n")  # fmt: skip
    proc = run_cli("table", path, "--plot", str(tmp_path / "p.png"))
    assert proc.returncode == 0 and proc.stderr == ""
    proc = run_cli("compare", path, "lenet5", "--plot", str(tmp_path / "c.svg"))
    assert proc.returncode == 0 and proc.stderr == ""


# ---------------------------------------------------------------- files a file may name


def test_extends_and_table_network_stay_in_the_folder(tmp_path):
    inner = tmp_path / "in"
    (inner / "sub").mkdir(parents=True)
    base = "input: [3, 8, 8]\nlayers:\n  - c: {type: conv, out: 4, k: 3}\n"
    (inner / "sub" / "base.yaml").write_text(base)
    (tmp_path / "outside.yaml").write_text(base)
    (inner / "out.yaml").symlink_to(tmp_path / "outside.yaml")
    (inner / "env.yaml").symlink_to("/proc/self/environ")
    (inner / "ok.yaml").symlink_to(inner / "sub" / "base.yaml")
    refused = ["/etc/passwd.yaml", "../outside.yaml", "sub/../sub/base.yaml", "out.yaml",
               "env.yaml"]  # fmt: skip
    for name in refused:
        spec = inner / "e.yaml"
        spec.write_text(f"title: t\nextends: {name}\n")
        result = _invoke("table", spec)
        assert result.exit_code == 2 and result.output.startswith(f"error: {spec}:2: "), name
        assert "HOME=" not in result.output and "PATH=" not in result.output
        table = inner / "t.yaml"
        table.write_text(f"id: t\ncolumns: {{p: {{quantity: params}}}}\nrows:\n"
                         f"  - {{network: {name}, row: total, p: 1}}\n")  # fmt: skip
        result = _invoke("check", table)
        assert result.exit_code == 2 and result.output.startswith(f"error: {table}:4: "), name
    for name in ("sub/base.yaml", "ok.yaml"):
        spec = inner / "e.yaml"
        spec.write_text(f"title: t\nextends: {name}\n")
        assert _invoke("table", spec).exit_code == 0, name
    table = inner / "t.yaml"
    table.write_text("id: t\ncolumns: {p: {quantity: params}}\nrows:\n"
                     "  - {network: sub/base.yaml, row: total, p: 112}\n")  # 4*3*3*3 + 4
    assert _invoke("check", table).exit_code == 0


# ---------------------------------------------------------------- errors with LINE


def test_nul_byte_and_utf16_errors_carry_a_line(tmp_path):
    nul = tmp_path / "nul.yaml"
    nul.write_bytes(b"input: [3, 8, 8]\nlayers:\n  - relu\n  - r\x00elu\n")
    result = _invoke("table", nul)
    assert result.exit_code == 2 and result.output.startswith(f"error: {nul}:4: ")
    text = open(os.path.join(ROOT, "specs", "lenet5.yaml"), encoding="utf-8").read()
    for codec in ("utf-16-le", "utf-16-be", "utf-16"):
        path = tmp_path / f"{codec}.yaml"
        path.write_bytes(text.encode(codec))
        result = _invoke("table", path)
        assert result.exit_code == 2 and result.output.startswith(f"error: {path}:1: ")
        assert "UTF-16" in result.output


# ---------------------------------------------------------------- bn eps, one validation


@pytest.mark.parametrize("eps", ["-1.0e-5", "0", "2"])
def test_bn_eps_out_of_range_is_refused_statically(tmp_path, eps):
    path = _spec(tmp_path, f"input: [3, 8, 8]\nlayers:\n  - c: {{type: conv, out: 4, k: 3}}\n"
                           f"  - b: {{type: bn, eps: {eps}}}\n")  # fmt: skip
    for command in ("table", "memory", "predict"):
        result = _invoke(command, path)
        assert result.exit_code == 2 and result.output.startswith(f"error: {path}:4: ")
        assert "eps" in result.output


# ---------------------------------------------------------------- torch commands


def test_verify_and_bench_refuse_a_terabyte_module_before_allocating(tmp_path):
    pytest.importorskip("torch")
    # one linear layer of 2^24 x 2^24: 2^48 weights = 1 PiB at float32
    path = _spec(tmp_path, "input: [16777216]\nlayers:\n  - fc: {type: linear, out: 16777216}\n")
    for args in (["verify", path], ["bench", path, "--batch", "1"],
                 ["verify", path, "--max-memory", "1G"]):  # fmt: skip
        rc, _out, err = run_bounded(*args, allowed=(2,))
        assert "nothing was allocated" in err
    # and a small one within a small limit runs
    weights = (61_706 + 0) * 4  # lenet5: 61,706 params (LeCun et al. 1998, as torchvision-less)
    assert weights < 1 << 20
    rc, _out, _err = run_bounded("verify", "lenet5", "--max-memory", "1M")
    assert rc == 0


def test_rich_markup_in_verify_and_bench_labels(tmp_path):
    pytest.importorskip("torch")
    path = _spec(tmp_path, "input: [3, 8, 8]\nlayers:\n  - '[/x] c': {type: conv, out: 4, k: 3}\n"
                           "  - '[red]r': {type: relu}\n", "[b].yaml")  # fmt: skip
    proc = run_cli("verify", path, "--all")
    assert proc.returncode == 0, proc.stderr
    assert "[/x] c" in proc.stdout and "[red]r" in proc.stdout
    proc = run_cli("bench", path, "--batch", "1", "--repeat", "1", "--warmup", "0")
    assert proc.returncode == 0, proc.stderr
    assert "[b].yaml" in proc.stdout


def test_safeio_number_text():
    from archcost import safeio

    with pytest.raises(SpecError, match="MAX_EXPONENT"):
        safeio.number_text("2*1e65", "--set x")
    assert safeio.number_text("1e64", "--set x") == "1e64"
    assert safeio.number_text("0.5e-3", "--set x") == "0.5e-3"
    with pytest.raises(SpecError, match="MAX_NUMBER_CHARS"):
        safeio.number_text("1" * 101, "--grid")


def test_no_python_warnings_reach_stderr_in_a_subprocess(tmp_path):
    # the CLI under -W error would fail on any warning the commands above trigger
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONWARNINGS="error")
    proc = subprocess.run([sys.executable, "-m", "archcost", "table", "lenet5", "--format", "json"],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == ""
