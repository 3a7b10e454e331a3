"""Specs and table files are untrusted input: every bad one gets one clear line, exit 2.

tests/bad_specs/EXPECTED.yaml lists each case with the line the error must point at and a
fragment of the message. Each case runs twice: as a subprocess (what a user sees) and through
click.testing (with -o FILE, which must be neither created nor modified). Cases too big to
commit (many megabytes, 300,000 levels of nesting, merge bombs) and cases that are not files
(a directory, a fifo, /dev/zero, a missing or unreadable file, bad options) are generated here.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

import pytest
import yaml
from click.testing import CliRunner

from archcost.cli import cli
from archcost.limits import MAX_FILE_BYTES, MAX_YAML_NODES

from .conftest import ROOT, run_cli

HERE = os.path.join(ROOT, "tests", "bad_specs")
with open(os.path.join(HERE, "EXPECTED.yaml"), encoding="utf-8") as _handle:
    EXPECTED = yaml.safe_load(_handle)
CASES = EXPECTED["cases"]


def _args(name, case):
    rel = f"tests/bad_specs/{name}{case.get('target', '')}"
    return [case.get("command", "table"), rel]


def _prefix(name, case):
    shown = case.get("file", name)
    shown = shown if shown.startswith("specs/") else f"tests/bad_specs/{shown}"
    line = case["line"]
    return f"error: {shown}:{line}: " if line is not None else f"error: {shown}: "


def _check(name, case, code, stdout, stderr):
    assert code == 2, f"{name}: exit {code}, stderr {stderr!r}"
    assert stdout == "", f"{name}: stdout {stdout[:200]!r}"
    assert stderr.count("\n") == 1 and stderr.endswith("\n"), f"{name}: {stderr!r}"
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert stderr.startswith(_prefix(name, case)), f"{name}: {stderr!r}"
    assert case["error"] in stderr, f"{name}: {stderr!r} lacks {case['error']!r}"


def test_every_file_is_a_case_or_a_companion():
    files = {f for f in os.listdir(HERE) if f.endswith(".yaml") and f != "EXPECTED.yaml"}
    assert files == set(CASES) | set(EXPECTED["companions"])
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_spec_subprocess(name, tmp_path):
    case = CASES[name]
    result = run_cli(*_args(name, case), timeout=60)
    _check(name, case, result.returncode, result.stdout, result.stderr)
    assert not os.path.exists(os.path.join(ROOT, "archcost-pwned"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_spec_click_testing(name, tmp_path, monkeypatch):
    case = CASES[name]
    monkeypatch.chdir(ROOT)
    created = tmp_path / "created.txt"  # must not be created
    kept = tmp_path / "kept.txt"  # must keep its content
    kept.write_text("before\n")
    for out in (created, kept):
        result = CliRunner().invoke(cli, [*_args(name, case), "-o", str(out)])
        _check(name, case, result.exit_code, result.stdout, result.stderr)
    assert not created.exists()
    assert kept.read_text() == "before\n"
    assert sorted(os.listdir(tmp_path)) == ["kept.txt"]  # no temporary file left behind
    assert not os.path.exists(os.path.join(ROOT, "archcost-pwned"))


# ------------------------------------------------------------------ generated inputs


def _both(args, prefix, fragment, cwd=ROOT, timeout=120):
    """Run as a subprocess and through click.testing; both must give the same one line."""
    result = run_cli(*args, cwd=cwd, timeout=timeout)
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith(prefix) and fragment in result.stderr, result.stderr
    old = os.getcwd()
    os.chdir(cwd)
    try:
        inproc = CliRunner().invoke(cli, list(args))
    finally:
        os.chdir(old)
    assert inproc.exit_code == 2 and inproc.stdout == ""
    assert inproc.stderr == result.stderr


def test_file_of_many_megabytes_is_refused_unread(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("input: [3, 32, 32]\nlayers:\n")
        row = "  - relu\n" * 10_000
        while handle.tell() < MAX_FILE_BYTES + (1 << 20):
            handle.write(row)
    size = os.path.getsize(path)
    _both(["table", str(path)], f"error: {path}: ", f"file is {size:,} bytes; the limit is")


def test_file_just_under_the_size_limit_with_too_many_nodes(tmp_path):
    # every row is a one-character word (1 node, 4 bytes): MAX_FILE_BYTES / 4 rows > MAX_YAML_NODES
    path = tmp_path / "big.yaml"
    rows = (MAX_FILE_BYTES - 100) // 4
    assert rows > MAX_YAML_NODES
    path.write_text("input: [3, 32, 32]\nlayers:\n" + "- x\n" * rows)
    _both(["table", str(path)], f"error: {path}:", f"more than {MAX_YAML_NODES:,} YAML nodes")


def test_deep_nesting_does_not_crash_the_interpreter(tmp_path):
    # 300,000 levels of '- ' (600 KB): libyaml's composer recursed in C and died with SIGSEGV
    path = tmp_path / "deep.yaml"
    path.write_text("- " * 300_000 + "x\n")
    _both(["table", str(path)], f"error: {path}:1: ", "YAML nested deeper than 64 levels")
    path.write_text("a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 2000)))
    _both(["table", str(path)], f"error: {path}:", "YAML nested deeper than 64 levels")


def test_many_merges_of_one_big_mapping(tmp_path):
    # 2,000 keys merged into enough mappings to copy more than MAX_YAML_NODES entries: refused
    big = "{" + ", ".join(f"k{i}: {i}" for i in range(2000)) + "}"
    merges = MAX_YAML_NODES // 2000 + 2
    path = tmp_path / "merge.yaml"
    path.write_text(f"notes: &big {big}\nparams:\n" + "".join(
        f"  p{i}: {{<<: *big}}\n" for i in range(merges)) + "input: [3, 8, 8]\nlayers: [relu]\n")
    _both(["table", str(path)], f"error: {path}:", "merge keys '<<' copy more than")


def test_alias_bomb_at_full_scale_loads_shared_and_fails_fast(tmp_path):
    # 10 levels of 10 aliases: 10**10 items if expanded; YAML shares them, archcost never walks
    levels = "".join(f"      - &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n" for i in range(1, 11))
    text = ("variants:\n  unused:\n    notes:\n      - &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + levels
            + "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, k: 1, when: *l10}\n")  # fmt: skip
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    _both(["table", str(path)], f"error: {path}:", "expected a value or a list of values")


def _shared(name, items):
    # an anchor defined in a variant that is never selected, to be aliased from many rows
    return f"variants:\n  unused:\n    notes:\n      - &{name} {items}\n"


@pytest.mark.parametrize("case, fragment", [
    # every row shares one 20,000-name list: 10**8 names for a 200 KB file
    (_shared("n", "[" + ", ".join(["a"] * 20_000) + "]") + "input: [3, 8, 8]\nlayers:\n"
     "  - a: {type: relu}\n" + "  - {b: {type: concat, in: *n}}\n" * 5_000, "reads more than"),
    # every use of a block evaluates a shared 20,000-item argument
    (_shared("v", "[" + ", ".join(["1"] * 20_000) + "]") + "input: [3, 8, 8]\nblocks:\n  b:\n"
     "    args: [x]\n    layers: [relu]\nlayers:\n" + "  - b: {x: *v}\n" * 5_000, "reads more than"),
    # a block with 20,000 defaults, used 5,000 times
    ("input: [3, 8, 8]\nblocks:\n  b:\n    args: []\n    defaults: {"
     + ", ".join(f"a{i}: {i}" for i in range(20_000)) + "}\n    layers: [relu]\nlayers:\n"
     + "  - b\n" * 5_000, "reads more than"),
    # a variant overriding 5,000 rows with one shared mapping of 20,000 fields
    ("input: [3, 8, 8]\nlayers:\n" + "".join(f"  - r{i}: {{type: relu}}\n" for i in range(5_000))
     + "variants:\n  v:\n    rows:\n      r0: &f {" + ", ".join(f"x{i}: 1" for i in range(20_000))
     + "}\n" + "".join(f"      r{i}: *f\n" for i in range(1, 5_000)), "set more than"),
    # 20,000 block columns would make the table layout quadratic
    ("input: [3, 8, 8]\nblocks:\n  b:\n    args: [x]\n    columns: {"
     + ", ".join(f"h{i}: x" for i in range(20_000)) + "}\n    layers: [relu]\nlayers:\n"
     + "  - b: {x: 1}\n" * 200, "more than 64 columns"),
], ids=["inputs", "block-argument", "block-defaults", "variant-rows", "block-columns"])  # fmt: skip
def test_work_shared_through_aliases_is_bounded(case, fragment, tmp_path):
    path = tmp_path / "shared.yaml"
    path.write_text(case)
    target = f"{path}:v" if "\n    rows:" in case else str(path)
    _both(["table", target], f"error: {path}:", fragment, timeout=60)


def test_table_work_is_bounded(tmp_path):
    # a spec with 20,000 parameters and a table whose rows all share one 20,000-entry 'set'
    spec = tmp_path / "params.yaml"
    names = [f"p{i}" for i in range(20_000)]
    spec.write_text("input: [3, 8, 8]\nparams: {" + ", ".join(f"{n}: 1" for n in names)
                    + "}\nlayers: [relu]\n")  # fmt: skip
    table = tmp_path / "table.yaml"
    table.write_text("id: t\nnetwork: params.yaml\ncolumns:\n  p: {quantity: params}\nrows:\n"
                     "  - &r {row: total, p: 0, set: {" + ", ".join(f"{n}: 2" for n in names)
                     + "}}\n" + "  - *r\n" * 1_000)  # fmt: skip
    _both(["check", str(table)], f"error: {table}:", "steps (rows, cells, layers)")
    # more parameter sets than a table may build: rows start at line 6, the 65th is on line 70
    spec.write_text("input: [3, 8, 8]\nparams: {p0: 1}\nlayers: [relu]\n")
    table.write_text("id: t\nnetwork: params.yaml\ncolumns:\n  p: {quantity: params}\nrows:\n"
                     + "".join(f"  - {{row: total, p: 0, set: {{p0: {i}}}}}\n" for i in range(100)))
    _both(["check", str(table)], f"error: {table}:70: ", "a table builds at most 64 networks")


def test_missing_file_and_directory():
    _both(["table", "tests/bad_specs/no-such-file.yaml"],
          "error: tests/bad_specs/no-such-file.yaml: ", "no such file")  # fmt: skip
    _both(["table", "tests/bad_specs"], "error: tests/bad_specs: ", "is a directory")
    _both(["check", "tests/bad_specs"], "error: tests/bad_specs: ", "is a directory")
    _both(["table", "tests/bad_specs/"], "error: tests/bad_specs: ", "is a directory")


def test_devices_and_pipes_are_refused_without_reading(tmp_path):
    _both(["table", "/dev/zero"], "error: /dev/zero: ", "is not a regular file")
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)  # opening it for reading used to block forever (no writer)
    _both(["table", str(fifo)], f"error: {fifo}: ", "is not a regular file", timeout=30)


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "secret.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: [relu]\n")
    if not (hasattr(os, "geteuid") and os.geteuid() == 0):  # root reads a chmod 000 file
        path.chmod(0)
        try:
            _both(["table", str(path)], f"error: {path}: ", "permission denied")
        finally:
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    # the same path as root (how CI runs): the OS refuses the open with EACCES
    from archcost import yamlio

    real_open = os.open

    def refuse(name, *args, **kwargs):
        if str(name) == str(path):
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(yamlio.os, "open", refuse)
    result = CliRunner().invoke(cli, ["table", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"error: {path}: permission denied (cannot read the file)\n"


def test_bad_set_values():
    spec = "tests/specs/residual.yaml"
    _both(["table", spec, "--set", "resolutoin=64"], f"error: {spec}: ",
          "--set 'resolutoin': this network has no such parameter; did you mean 'resolution'?")  # fmt: skip
    _both(["table", spec, "--set", "resolution=abc"], f"error: {spec}: ",
          "parameter 'resolution': unknown name 'abc'")  # fmt: skip
    _both(["table", spec, "--set", "resolution=__import__('os')"], f"error: {spec}: ",
          "parameter 'resolution': function '__import__' is not allowed")  # fmt: skip
    _both(["table", spec, "--set", "resolution=1.5"], f"error: {spec}:", "is not a whole number")
    _both(["table", spec, "--set", "resolution"], "error: --set 'resolution': ",
          "expected KEY=VALUE")  # fmt: skip
    _both(["table", spec, "--set", "=64"], "error: --set '=64': ", "expected KEY=VALUE")
    _both(["table", "googlenet", "--set", "width=2"], "error: specs/googlenet.yaml: ",
          "--set 'width': this network has no such parameter; parameters: none")  # fmt: skip


def test_bad_options():
    _both(["table", "googlenet", "--format", "xml"], "error: Invalid value for '--format'",
          "'xml' is not one of")  # fmt: skip
    # every printing command takes text|json|csv|md|latex (issue 13): check --format latex works
    _both(["check", "--format", "xml"], "error: Invalid value for '--format'", "'xml'")
    _both(["table", "googlenet", "--batch", "0"], "error: Invalid value for '--batch'", "0")
    _both(["tabel", "googlenet"], "error: no such command 'tabel'", "did you mean 'table'?")


def test_output_into_a_missing_folder(tmp_path):
    target = tmp_path / "missing" / "out.txt"
    _both(["table", "googlenet", "-o", str(target)], f"error: cannot write {target}: ",
          "No such file or directory")  # fmt: skip
    assert not (tmp_path / "missing").exists()


def test_output_through_a_symlink_and_into_a_pipe(tmp_path):
    real = tmp_path / "real.csv"
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    result = CliRunner().invoke(cli, ["table", "googlenet", "--format", "csv", "-o", str(link)])
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and real.read_text().startswith("layer,")
    # a pipe (like -o /dev/stdout or /dev/null) is written to, never replaced by a file
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    result = CliRunner().invoke(cli, ["table", "googlenet", "--format", "csv", "-o", str(fifo)])
    reader.join(30)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert received and received[0].startswith("layer,")


def test_messages_are_one_printable_line(tmp_path):
    # a label with a newline, a carriage return and a terminal escape (clear screen)
    path = tmp_path / "escape.yaml"
    path.write_text('input: [3, 8, 8]\nlayers:\n  - "a\\nb\\rc\\e[2J": {type: conv, out: 4, k: 9}\n')
    _both(["table", str(path)], f"error: {path}:3: ", "row 'a b\\rc\\x1b[2J'")
    # a label longer than 1,000 characters is refused; a message quoting a long option is cut
    path.write_text("input: [3, 8, 8]\nlayers:\n  - " + "long " * 10_000 + "\n")
    _both(["table", str(path)], f"error: {path}:3: ", "a row label longer than 1,000 characters")
    result = run_cli("table", "googlenet", "--set", "x" * 10_000)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert len(result.stderr) <= 1001 and result.stderr.endswith("...\n")


def test_rich_markup_in_labels_is_printed_as_is(tmp_path):
    path = tmp_path / "markup.yaml"
    path.write_text("title: '[/x] [bold]t'\ninput: [3, 8, 8]\nlayers:\n"
                    "  - 'conv [/x] :smile:': {type: conv, out: 4, k: 1}\n")  # fmt: skip
    result = run_cli("table", str(path))
    assert result.returncode == 0, result.stderr
    assert "conv [/x] :smile:" in result.stdout and "[/x] [bold]t" in result.stdout


@pytest.mark.parametrize("fmt", ["text", "md", "csv", "latex", "json"])
def test_terminal_escapes_in_a_spec_are_not_printed(fmt, tmp_path):
    # clear screen, set the window title, write the clipboard (OSC 52): shown escaped
    path = tmp_path / "escape.yaml"
    path.write_text('title: "T\\e]0;pwned\\a"\ninput: [3, 8, 8]\nlayers:\n'
                    '  - "conv\\e[2J\\e]52;c;ZWNobyBoaQ==\\a": {type: conv, out: 4, k: 1}\n')  # fmt: skip
    result = run_cli("table", str(path), "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "conv" in result.stdout


# ------------------------------------------------------------------ internal errors


BOOM = """
import sys
import archcost.spec as spec
def boom(*args, **kwargs):
    raise RuntimeError("boom")
spec._Expander.expand_primitive = boom
from archcost.cli import main
main(sys.argv[1:])
"""


def test_internal_error_is_exit_3_and_debug_shows_the_traceback(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("ARCHCOST_DEBUG", None)
    plain = subprocess.run([sys.executable, "-c", BOOM, "table", "googlenet"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert plain.returncode == 3 and plain.stdout == ""
    assert plain.stderr.count("\n") == 1
    assert plain.stderr.startswith("internal error: RuntimeError: boom (please report it")
    assert "--debug shows the traceback" in plain.stderr and "Traceback" not in plain.stderr
    debug = subprocess.run([sys.executable, "-c", BOOM, "--debug", "table", "googlenet"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert debug.returncode != 0 and "Traceback (most recent call last)" in debug.stderr
    assert "RuntimeError: boom" in debug.stderr and "expand_primitive" not in plain.stderr


def test_internal_error_through_click_testing(monkeypatch):
    import archcost.spec as spec

    def boom(*args, **kwargs):
        raise KeyError(["an", "unhashable", "argument"] * 1000)

    monkeypatch.setattr(spec._Expander, "expand_primitive", boom)
    result = CliRunner().invoke(cli, ["table", "googlenet"])
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr.startswith("internal error: KeyError: [") and result.stderr.count("\n") == 1
    assert len(result.stderr) < 1100
    result = CliRunner().invoke(cli, ["--debug", "table", "googlenet"])
    assert isinstance(result.exception, KeyError)  # --debug lets the traceback through
