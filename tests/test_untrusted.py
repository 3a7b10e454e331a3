"""What makes a hostile spec harmless: no eval, shared aliases, bounded values and messages.

The bad-input corpus is in test_bad_specs.py and the fuzzer in test_fuzz.py; these are the
mechanisms underneath, each checked directly.
"""

from __future__ import annotations

import ast
import builtins
import os
import random
import re
import time

import pytest
from click.testing import CliRunner

from archcost import limits
from archcost.cli import cli
from archcost.errors import SpecError, brief
from archcost.expr import ExprError, evaluate
from archcost.spec import _RowIndex, build, row_ids
from archcost.yamlio import load_text

from .conftest import ROOT, static_totals, torch_totals

PACKAGE = os.path.join(ROOT, "archcost")
BUILTINS = {"eval", "exec", "compile", "__import__"}  # called by bare name
PARSERS = {"sympify", "parse_expr", "unsafe_load", "full_load"}  # by name or as an attribute
LOADERS = {"UnsafeLoader", "FullLoader", "Loader", "UnsafeConstructor", "FullConstructor"}


def _sources():
    for folder, _dirs, files in os.walk(PACKAGE):
        for fname in files:
            if fname.endswith(".py"):
                yield os.path.join(folder, fname)


def test_no_eval_exec_sympify_or_unsafe_yaml_in_the_package():
    found = []
    for path in _sources():
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        where = os.path.relpath(path, ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in BUILTINS | PARSERS:
                    found.append(f"{where}:{node.lineno}: {node.func.id}()")
            if isinstance(node, ast.Attribute) and node.attr in PARSERS | LOADERS:
                found.append(f"{where}:{node.lineno}: .{node.attr}")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "load":
                # yaml.load only with archcost's own loader, a SafeLoader subclass
                loader = [k.value for k in node.keywords if k.arg == "Loader"]
                if not (loader and isinstance(loader[0], ast.Name) and loader[0].id == "_Loader"):
                    found.append(f"{where}:{node.lineno}: .load() without _Loader")
    assert found == []
    import yaml

    from archcost.yamlio import _Loader

    assert issubclass(_Loader, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert not any("python" in str(tag) for tag in _Loader.yaml_constructors)
    assert _Loader.yaml_multi_constructors == {}


def test_nothing_reaches_eval_exec_or_a_sympy_parser_during_full_runs(monkeypatch, tmp_path):
    import sympy
    import sympy.parsing.sympy_parser as sympy_parser

    import archcost.commands.check  # noqa: F401 - import everything before the trap is set
    import archcost.commands.listing  # noqa: F401
    import archcost.commands.table  # noqa: F401
    import archcost.symbolic  # noqa: F401

    CliRunner().invoke(cli, ["table", "googlenet", "--symbolic"])  # warm up lazy imports
    calls = []

    def trap(name):
        def refuse(*args, **kwargs):
            calls.append((name, str(args)[:80]))
            raise AssertionError(f"{name} was called")

        return refuse

    monkeypatch.setattr(builtins, "eval", trap("eval"))
    monkeypatch.setattr(builtins, "exec", trap("exec"))
    monkeypatch.setattr(sympy, "sympify", trap("sympy.sympify"))
    monkeypatch.setattr(sympy_parser, "parse_expr", trap("parse_expr"))
    with pytest.raises(AssertionError):  # the traps are live
        eval("1")  # noqa: S307
    calls.clear()
    monkeypatch.chdir(ROOT)
    runs = [["table", "googlenet", "--format", fmt] for fmt in ("text", "json", "md", "csv", "latex")]
    runs += [["table", "googlenet", "--expand", "--train"], ["table", "googlenet", "--symbolic"],
             ["table", "googlenet", "--symbolic", "--format", "json"], ["check"], ["list"],
             ["table", "tests/specs/residual.yaml:wide", "--set", "resolution=64"],
             ["table", "tests/specs/extends_residual.yaml"], ["table", "tests/specs/branches.yaml"],
             ["table", "tests/bad_specs/expr_import.yaml"]]  # fmt: skip
    for args in runs:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code in (0, 2), (args, result.stderr, calls)
    assert calls == []
    assert CliRunner().invoke(cli, ["table", "googlenet", "--format", "json"]).exit_code == 0


def test_googlenet_totals_unchanged():
    # torch's totals at 224 (benchmarks/verify_full.py), not archcost's own output
    assert static_totals(build("googlenet")) == torch_totals("googlenet")


# ------------------------------------------------------------------ YAML


def test_aliases_are_shared_not_copied():
    # 10 levels of 10 aliases: 10**10 ones if copied; loading takes the size of the text
    text = "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 11))
    doc = load_text(text, "bomb.yaml")
    assert doc["a10"][0] is doc["a10"][9] is doc["a9"]
    # and a message about it is short: brief() looks at a few items, two levels deep
    start = time.process_time()
    text = brief(doc["a10"])
    assert len(text) <= 240 and text.startswith("[[[...]")
    assert time.process_time() - start < 5  # a full repr would never finish


def test_merge_keys_follow_yaml_and_keep_lines():
    doc = load_text("base: &b {k: 3, s: 1}\nother: &o {k: 5, p: 1}\n"
                    "row: {<<: [*b, *o], k: 1}\n", "m.yaml")  # fmt: skip
    # own keys win, then the earlier merged mapping (YAML 1.1 merge semantics)
    assert dict(doc["row"]) == {"k": 1, "s": 1, "p": 1}
    assert doc["row"].key_line("k") == 3 and doc["row"].key_line("s") == 1
    with pytest.raises(SpecError, match="duplicate key 'k' .first at line 1."):
        load_text("row: {k: 1,\n  k: 2}\n", "d.yaml")


def test_only_plain_yaml_types():
    doc = load_text("date: 2014-09-17\nnumber: 1:30\nflag: yes\nnull_value: ~\n", "t.yaml")
    # a date stays text (no datetime), YAML 1.1 base 60 and booleans are what PyYAML reads
    assert doc == {"date": "2014-09-17", "number": 90, "flag": True, "null_value": None}
    for tag in ("!!binary aGk=", "!!set {a}", "!!omap [a: 1]", "!!python/tuple [1]", "!x 1"):
        with pytest.raises(SpecError, match="is not allowed"):
            load_text(f"v: {tag}\n", "t.yaml")


def test_row_index_finds_rows_as_row_ids_numbers_them():
    rng = random.Random(7)  # noqa: S311
    names = ["a", "b", "a #2", "a #3", "b #2", "c"]
    for _ in range(2000):
        rows = []
        for _i in range(rng.randint(1, 9)):
            label = rng.choice(names)
            rows.append(label if rng.random() < 0.7 else {label: {"id": rng.choice(["a", "x"])}})
        ids = row_ids(rows, "f")
        index = _RowIndex(rows, [None] * len(rows), "f")
        assert index.ids() == ids
        for query in [*names, "x", "x #2", "a #1", "a #02", "zzz", "a #99999999999"]:
            assert index.find(query) == (ids.index(query) if query in ids else None), (rows, query)


# ------------------------------------------------------------------ expressions


@pytest.mark.parametrize("text, env, message", [
    ("a * 1000000000", {"a": "hardswish"}, "'hardswish' is not a number"),
    ("a * 100000000", {"a": [1, 2]}, r"\[1, 2\] is not a number"),
    ("-a", {"a": "relu"}, "is not a number"),
    ("min(a, 3)", {"a": [1]}, "is not a number"),
    ("round(1/3, 10**60)", {}, "number of digits"),
    ("round(5, -10**60)", {}, "number of digits"),
    ("(1/(2**60*2**60*2**60*2**60))**64", {}, "exceeds 256 bits"),
    ("1e300 * 1", {}, "exceeds 256 bits"),
    ("1e999", {}, "too large"),
    ("2**10**9", {}, "exponent 1000000000 is larger than 64"),
    ("__import__('os').system('x')", {}, "Attribute is not allowed"),
    ("5(1)", {}, "calling a Constant is not allowed"),
])  # fmt: skip
def test_expressions_refused(text, env, message):
    with pytest.raises(ExprError, match=message):
        evaluate(text, env)


def test_expressions_still_work():
    # a word passes through a name and a condition untouched (act: act_fn if c else ...)
    assert evaluate("a if n > 1 else b", {"a": "relu", "b": "none", "n": 2}) == "relu"
    assert evaluate("round(1/3, 2)", {}) * 100 == 33
    assert evaluate("2**-2", {}) * 4 == 1


# ------------------------------------------------------------------ limits


def test_every_limit_is_documented():
    with open(os.path.join(ROOT, "docs", "limits.md"), encoding="utf-8") as handle:
        doc = handle.read()
    names = [n for n in dir(limits) if n.isupper()]
    assert len(names) >= 15
    for name in names:
        value = getattr(limits, name)
        assert re.search(rf"`{name}`\s*\|\s*{re.escape(f'{value:,}')}\b", doc), f"{name} = {value:,} not in docs/limits.md"
