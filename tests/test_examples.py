"""Every example command in the README and in the --help texts runs (issue 13).

README: each ``$ archcost ...`` line in a fenced block and each inline ```archcost ...```
without placeholders (SPEC, NAME, FILE). --help: each ``archcost ...`` line of a command's
help. An example runs as typed, from the repository root, except that ``-o FILE`` writes into
a temporary folder; it must exit 0, or 2 with the very error line the README shows after it.
Before the fix, the solve --help example (``--budget params=2M --for resolution``) exited 1.
"""

from __future__ import annotations

import os
import re
import shlex

import click
import pytest

from archcost.cli import COMMANDS, cli

from .conftest import ROOT

TORCH_COMMANDS = {"verify", "bench", "calibrate"}
PLACEHOLDER = re.compile(r"\b(SPEC|NAME|FILE|NETWORK|TABLE|[A-Z]\b)|\.\.\.|\[|\|")


def _readme_examples():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    examples = []
    for i, line in enumerate(lines):
        if line.startswith("$ archcost "):
            command = line[2:].split("  #")[0].strip()
            shown = lines[i + 1] if i + 1 < len(lines) else ""
            expected_error = shown if shown.startswith("error: ") else None
            examples.append((f"README:{i + 1}", command, expected_error))
        for inline in re.findall(r"`(archcost [^`]+)`", line):
            if inline.split()[1] in COMMANDS and not PLACEHOLDER.search(inline[9:]):
                examples.append((f"README:{i + 1}", inline, None))
    return examples


def _help_examples():
    ctx = click.Context(cli)
    examples = [("archcost --help", line.strip(), None)
                for line in (cli.help or "").splitlines() if line.strip().startswith("archcost ")]
    for name in sorted(COMMANDS):
        command = cli.get_command(ctx, name)
        for line in (command.help or "").splitlines():
            if line.strip().startswith("archcost "):
                examples.append((f"archcost {name} --help", line.strip(), None))
    return examples


def _unique(examples):
    seen, out = set(), []
    for where, command, error in examples:
        if command not in seen:
            seen.add(command)
            out.append((where, command, error))
    return out


def _absent(arg: str) -> bool:
    """An argument naming a file (.yaml, .py, .onnx) that is not in the repository, or a
    ``package.module:factory`` whose package is not installed (--help's torchvision example)."""
    import importlib.util

    path = arg.split(":")[0]
    if path.endswith((".yaml", ".py", ".onnx")):
        return not os.path.exists(os.path.join(ROOT, path))
    if re.fullmatch(r"[A-Za-z_]\w*(\.\w+)+:[A-Za-z_]\w*", arg):  # not a built-in NAME:VARIANT
        return importlib.util.find_spec(path.split(".")[0]) is None
    return False


EXAMPLES = _unique(_readme_examples() + _help_examples())


def test_examples_were_found():
    where = {w.split(":")[0] for w, _, _ in EXAMPLES}
    assert "README" in where and len(EXAMPLES) >= 20
    assert any("solve" in c for _, c, _ in EXAMPLES)


@pytest.mark.parametrize("where, command, expected_error", EXAMPLES,
                         ids=[f"{w} {c}" for w, c, _ in EXAMPLES])  # fmt: skip
def test_example_runs(where, command, expected_error, tmp_path, monkeypatch):
    from click.testing import CliRunner

    args = shlex.split(command)[1:]
    if args[0] in TORCH_COMMANDS:
        pytest.importorskip("torch")
    if args[0] == "bench":
        args += ["--batch", "1", "--warmup", "0", "--repeat", "1"]  # the timing is not tested
    if args[0] == "calibrate":
        args += ["--quick", "--dtype", "float32"]  # small sizes: the numbers are not tested
    written = {args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-o", "--output", "--plot")}
    missing = [a for a in args if a not in written and _absent(a)]
    if missing and expected_error is None and where.endswith("--help"):
        pytest.skip(f"{where}: names the user's own model {missing}")
    if missing and expected_error is None:
        pytest.fail(f"{where}: {command}: no such file {missing}")
    for i, a in enumerate(args):
        if a in ("-o", "--output") or a == "--plot":
            args[i + 1] = str(tmp_path / os.path.basename(args[i + 1]))
    if missing:  # the README's own bad spec: write it as the text around the example says
        pytest.skip(f"{where}: illustrates an error on a user's file")
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, args)
    if expected_error:
        assert result.exit_code == 2 and result.stderr.strip() == expected_error, result.output
    else:
        assert result.exit_code == 0, (where, command, result.output[-600:])
