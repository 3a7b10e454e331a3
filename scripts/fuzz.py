#!/usr/bin/env python3
"""Mutation fuzzer for archcost's spec and table loaders.

Every valid spec (specs/*.yaml, tests/specs/*.yaml, googlenet with the shared inception block
inlined as a spec-local block) and every table file (specs/tables/*.yaml) is mutated -- a leaf
replaced by another type or an extreme value, a key deleted, renamed or added, a row deleted,
duplicated or swapped, a line of the text duplicated, deleted, swapped, indented with a tab or
cut short, bytes that are not UTF-8 -- written to a temporary folder and given to the CLI.

What must hold for every case: exit code 0 or 2 (1 too for `check`: a mutated printed number is
a legitimate mismatch), never a traceback nor 'internal error'; exactly one line on stderr, and
nothing on stdout, when the code is 2; nothing on stderr when it is 0; no raw control character (ESC, BEL, NUL) in
any output and no NaN/Infinity in JSON; and an answer within TIMEOUT seconds of CPU.

Besides mutating the seeds, it writes hostile inputs from scratch (SCENARIOS, issue 14):
numbers on the command line, device profiles, table files naming other files, ids colliding
with generated ones, labels with control and markup characters, long chains of layers.

    PYTHONPATH=. python3 scripts/fuzz.py -n 5000 [--seed 1] [--subprocess-every 100]

reports the counts of exit codes, the time per case, and saves any failing case (mutated
file, its companions, the command line and the output) under fuzz-failures/. tests/test_fuzz.py
drives the same mutator from hypothesis for a bounded, derandomized run in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 10  # CPU seconds per case, in-process (ITIMER_PROF) or as a subprocess (RLIMIT_CPU)
WALL_TIMEOUT = 120  # a subprocess that sleeps instead of computing (a blocking open) ends here

# values a leaf may become: other types, extremes, expressions that must be refused
EXTREMES = [
    None, True, False, 0, -1, 1, 2, 3, 7, 64, 2**31, 2**63, 10**30, -(10**30), 0.5, -0.5, 1e308,
    -1e-308, 64.5, float("inf"), float("nan"), "", " ", "x", "64", "0x10", "1e999", "yes",
    "relu", "same", "valid", "none", "input", "in_c", "in_c * 2", "in_h // 0", "1/0", "1 % 0",
    "2**10**9", "10**64 * 10**64", "round(1/3, 10**60)", "min()", "make_divisible(3, 0)",
    "__import__('os').system('echo PWNED')", "().__class__", "(lambda: 1)()",
    "[x for x in (1, 2)]", "in_c.real", "__builtins__", "a" * 500, "(" * 100 + "1" + ")" * 100,
    "-" * 300 + "1", "x if 1 else y", "alpha * 1000000000", "conv", "inception", "concat",
    "2020-01-01", "[/x]", "\x1b[2J", "line\nbreak", "tab\there", [], {}, [1], [1, 2],
    [1, 2, 3], [[1]], [[1, 2], [3, 4]], {"a": 1}, {"type": "conv"}, ["input"], ["nope"],
    16_777_216, 16_777_217, 100_000, 100_001,
]
KEYS = ["type", "id", "in", "repeat", "first", "train", "when", "out", "k", "s", "p", "d", "g",
        "bias", "bn", "act", "size", "eps", "ceil", "layers", "blocks", "defaults", "params",
        "input", "variants", "extends", "rows", "remove", "insert_after", "args", "output",
        "columns", "doc", "name", "title", "unit", "quantity", "rounding", "set", "network",
        "printed", "computed", "reason", "label", "row", "column", "bogus", "strde", "<<"]  # fmt: skip


class Chooser:
    """The source of every decision: random.Random here, hypothesis draws in tests/test_fuzz.py."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def choice(self, seq):
        return seq[self.integer(0, len(seq) - 1)]


# ------------------------------------------------------------------------- seeds


@dataclass
class Seed:
    name: str
    text: str
    command: str = "table"  # or "check"
    variants: list = field(default_factory=list)
    companions: dict = field(default_factory=dict)  # other files the seed needs next to it


def _plain(value):
    """LineDict/LineList -> dict/list, so yaml.safe_dump can write them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def seeds() -> list[Seed]:
    out = []
    spec_dirs = [os.path.join(ROOT, "specs"), os.path.join(ROOT, "tests", "specs")]
    all_specs = {}
    for folder in spec_dirs:
        if os.path.isdir(folder):
            for fname in sorted(os.listdir(folder)):
                if fname.endswith(".yaml"):
                    with open(os.path.join(folder, fname), encoding="utf-8") as handle:
                        all_specs[(folder, fname)] = handle.read()
    for (folder, fname), text in all_specs.items():
        doc = yaml.safe_load(text) or {}
        variants = sorted((doc.get("variants") or {}).keys()) if isinstance(doc, dict) else []
        # an extends needs its base next to it: carry the folder's other specs along
        companions = {f: t for (d, f), t in all_specs.items() if d == folder and f != fname}
        out.append(Seed(fname, text, "table", variants, companions))
    # the shared block library, inlined so its definitions get mutated too
    blocks_dir = os.path.join(ROOT, "specs", "blocks")
    googlenet = os.path.join(ROOT, "specs", "googlenet.yaml")
    if os.path.isdir(blocks_dir) and os.path.isfile(googlenet):
        with open(googlenet, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle)
        for fname in sorted(os.listdir(blocks_dir)):
            if fname.endswith(".yaml"):
                with open(os.path.join(blocks_dir, fname), encoding="utf-8") as handle:
                    doc.setdefault("blocks", {}).update(yaml.safe_load(handle) or {})
        out.append(Seed("googlenet_inlined_blocks.yaml", yaml.safe_dump(doc, sort_keys=False)))
    tables_dir = os.path.join(ROOT, "specs", "tables")
    if os.path.isdir(tables_dir):
        # a table may name a network file below its folder (nets/...): carry those along
        nets = {}
        nets_dir = os.path.join(tables_dir, "nets")
        if os.path.isdir(nets_dir):
            for fname in sorted(os.listdir(nets_dir)):
                if fname.endswith(".yaml"):
                    with open(os.path.join(nets_dir, fname), encoding="utf-8") as handle:
                        nets["nets/" + fname] = handle.read()
        for fname in sorted(os.listdir(tables_dir)):
            if fname.endswith(".yaml"):
                with open(os.path.join(tables_dir, fname), encoding="utf-8") as handle:
                    out.append(Seed(fname, handle.read(), "check", companions=dict(nets)))
    return out


# ------------------------------------------------------------------------- mutations


def _positions(node, path=()):
    """Every (container, key) in a loaded YAML tree, depth first."""
    found = []
    if isinstance(node, dict):
        for key in list(node):
            found.append((node, key))
            found += _positions(node[key], (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found.append((node, i))
            found += _positions(item, (*path, i))
    return found


def _mutate_tree(choose: Chooser, doc) -> None:
    positions = _positions(doc)
    if not positions:
        return
    container, key = choose.choice(positions)
    kind = choose.integer(0, 9)
    leaf = container[key]
    if kind >= 8 and isinstance(leaf, (int, float)) and not isinstance(leaf, bool):
        # a plausible change of a number: most such specs stay valid and go deeper
        container[key] = choose.choice([leaf + 1, leaf - 1, leaf * 2, leaf // 2, 1, 0, leaf * 1000])
        return
    if kind <= 2 or kind >= 8:  # replace a leaf (or a whole subtree) with another type or an extreme value
        value = choose.choice(EXTREMES)
        if isinstance(value, str) and choose.integer(0, 3) == 0:
            # a name that exists elsewhere in the spec: row labels, params, block names
            names = [k for c, k in positions if isinstance(k, str)]
            value = choose.choice(names) if names else value
        container[key] = value
    elif kind == 3:  # delete a key or a row
        del container[key]
    elif kind == 4 and isinstance(container, list):  # duplicate a row
        container.insert(key, container[key])
    elif kind == 4:  # rename a key (to a typo, another known key, or a non-string)
        new = choose.choice([*KEYS, key + "x" if isinstance(key, str) else "k", 1, True, None])
        if new not in container:
            container[new] = container.pop(key)
    elif kind == 5 and isinstance(container, list) and len(container) > 1:  # swap two rows
        other = choose.integer(0, len(container) - 1)
        container[key], container[other] = container[other], container[key]
    elif kind == 5 and isinstance(container, list):
        container.append(container[key])
    elif kind == 5:  # add a key
        new = choose.choice(KEYS)
        if new not in container:
            container[new] = choose.choice(EXTREMES)
    elif kind == 6:  # wrap in a list, or a list in a list
        container[key] = [container[key]]
    else:  # copy another subtree here (rows in fields, fields in rows, ...)
        other_container, other_key = choose.choice(positions)
        container[key] = copy.deepcopy(other_container[other_key])  # a copy: no cycles


def _mutate_text(choose: Chooser, text: str) -> bytes:
    lines = text.split("\n")
    i = choose.integer(0, max(0, len(lines) - 1))
    kind = choose.integer(0, 8)
    if kind == 0:  # duplicate a line (duplicate keys, duplicate rows)
        lines.insert(i, lines[i])
    elif kind == 1:
        del lines[i]
    elif kind == 2 and len(lines) > 1:
        j = choose.integer(0, len(lines) - 1)
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 3:  # a tab in the indentation
        lines[i] = "\t" + lines[i].lstrip(" ")
    elif kind == 4:  # cut the file short
        cut = choose.integer(0, len(text))
        return text[:cut].encode("utf-8", "surrogatepass")
    elif kind == 5:  # bytes that are not UTF-8
        data = "\n".join(lines).encode("utf-8")
        at = choose.integer(0, len(data))
        return data[:at] + b"\xff\xfe\xc3" + data[at:]
    elif kind == 6:  # change the indentation of one line
        lines[i] = " " * choose.integer(0, 9) + lines[i].lstrip(" ")
    elif kind == 7:  # an unsafe tag, an anchor/alias, a flow bracket
        lines[i] = lines[i].replace(": ", ": " + choose.choice(
            ["!!python/object/apply:os.system ['echo PWNED'] ", "!!binary ", "!!set ", "&a ",
             "*a ", "[", "{", "!foo ", "<<: *a\n  "]), 1)  # fmt: skip
    else:  # a character somewhere
        line = lines[i]
        at = choose.integer(0, len(line))
        lines[i] = line[:at] + choose.choice(list(":-[]{}#&*!|>'\"%@`,? \\\t0")) + line[at:]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def mutate(choose: Chooser, seed: Seed) -> bytes:
    """One to three mutations of the tree, then sometimes one of the text."""
    try:
        doc = _plain(yaml.safe_load(seed.text))
    except yaml.YAMLError:  # pragma: no cover - seeds are valid
        doc = None
    for _ in range(choose.choice([1, 1, 1, 2, 3])):
        if doc is not None:
            _mutate_tree(choose, doc)
    try:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    except (yaml.YAMLError, RecursionError, ValueError):  # aliases of itself, odd values
        text = seed.text
    if choose.integer(0, 3) == 0:
        return _mutate_text(choose, text)
    return text.encode("utf-8", "surrogatepass")


def arguments(choose: Chooser, seed: Seed, path: str) -> list[str]:
    if seed.command == "check":
        return ["check", path] + choose.choice([[], ["--format", "json"], ["--all"]])
    target = path
    if seed.variants and choose.integer(0, 2) == 0:
        target = f"{path}:{choose.choice(seed.variants)}"
    extra = choose.choice([[], [], ["--format", "json"], ["--format", "md"], ["--expand"],
                           ["--train"], ["--format", "csv", "--expand"], ["--set", "resolution=8"],
                           ["--set", "width=0"], ["--format", "latex"], ["--symbolic"],
                           ["--symbolic", "--format", "json"], ["-o", os.devnull]])  # fmt: skip
    return ["table", target, *extra]


# ------------------------------------------------------------------------- hostile scenarios
#
# Round two (issue 14) found defects the mutator above could not reach: numbers on the command
# line, device profiles, table files naming other files, ids that collide with generated ones,
# labels carrying terminal escapes or markup, long chains of in-place layers. Each scenario
# below writes one such input from scratch and names the command that reads it.

CONTROL = ["\x1b]52;c;SGVsbG8=\x07", "\x1b[2J", "\x07", "\x9b31m", "\r", "\x00", "\u202e", "\x7f"]
MARKUP = ["[/x]", "[bold]", "[link=http://x]y[/link]", ":smile:", "$\\undefinedcmd$", "$x^$",
          "\\", "&", "%", "#", "_", "{", "}", "~", "^", "|", "*", "`", "<b>", "=cmd()", "@x",
          "+1", "-x", '"', "'", ","]  # fmt: skip
DIGITS = "0123456789"


def _label(choose: Chooser) -> str:
    parts = [choose.choice(["c", "conv 3x3", "layer", "x" * choose.integer(1, 1200), ""])]
    for _ in range(choose.integer(0, 4)):
        parts.append(choose.choice(CONTROL + MARKUP))
    return " ".join(parts)


def cli_number(choose: Chooser) -> str:
    """A number as a user (or an attacker) might type it on the command line."""
    kind = choose.integer(0, 5)
    if kind == 0:
        return choose.choice(["1e999999999", "1e5000", "1e-5000", "1E+99", "nan", "inf", "-inf",
                              "1/0", "0x10", "1_0", "", " ", "--", "1e", ".e1", "9" * 5000,
                              "0.5", "1", "3/4", "1e64", "1e-64", "1e65", "2**64",
                              "10**10**10", "(1", "0.25:1.0:0.25", "1:0:1", "0:1:0", "1e-9:1:1e-9",
                              "300M", "1e9G", "-1", "0"])  # fmt: skip
    sign = choose.choice(["", "-", "+"])
    digits = "".join(choose.choice(DIGITS) for _ in range(choose.integer(1, 120)))
    frac = choose.choice(["", "." + "".join(choose.choice(DIGITS)
                                             for _ in range(choose.integer(0, 30)))])  # fmt: skip
    exp = ""
    if choose.integer(0, 1):
        exp = choose.choice("eE") + choose.choice(["", "-", "+"]) + "".join(
            choose.choice(DIGITS) for _ in range(choose.integer(1, 12)))
    return sign + digits + frac + exp + choose.choice(["", "", "K", "M", "G", "T"])


def _cli_case(choose: Chooser, folder: str):
    x = cli_number(choose)
    args = choose.choice([
        ["table", "mobilenet", "--set", f"alpha={x}"], ["sweep", "mobilenet", "--set", f"alpha={x}"],
        ["sweep", "mobilenet", "--set", f"resolution={x}"],
        ["solve", "mobilenet", "--for", "alpha", "--budget", f"macs={x}"],
        ["solve", "mobilenet", "--for", "alpha", "--budget", "macs=300M", "--grid", x],
        ["solve", "mobilenet", "--for", "alpha", "--budget", "macs=300M", "--min", x],
        ["memory", "lenet5", "--batch", x], ["predict", "lenet5", "--batch", x],
        ["formula", "mobilenet", "--set", f"alpha={x}"], ["compare", "lenet5", "--set", f"x={x}"],
    ])  # fmt: skip
    return args, b""


PROFILE_VALUES = [1.0e12, 1.0e12, 1.0e12, 2.5e9, 1.0, 1.0e30, "1.0e+12", 1, 0, -1, 1.0e-320, 1.0e+308, 1.0e-300, "1e999999999",
                  float("inf"), float("nan"), True, None, "", [1], {"a": 1}, "x" * 2000,
                  "!!float _", "!!int ''", "!!bool maybe", 2**63, 1e30, 1.0e31, 1.0e-6, 1.0e-7]


def _profile_case(choose: Chooser, folder: str):
    # a valid profile, then zero to three hostile edits
    doc = {"kind": choose.choice(["cuda", "cpu"]), "title": _label(choose),
           "peak_macs_per_s": {"float32": 1.0e12, "float16": 2.0e12},
           "memory_bandwidth": 1.0e12}  # fmt: skip
    if choose.integer(0, 1):
        doc["efficiency"] = {"compute": choose.choice([1.0, 0.5, 1.0e-6]), "memory": 0.8}
    if choose.integer(0, 1):
        doc["layer_overhead_s"] = choose.choice([0, 1.0e-6, 1.0])
    # half the cases stay valid (a label with control characters or markup is valid), so the
    # paths that print a prediction are fuzzed too, not only the refusals
    hostile = choose.integer(0, 1)
    if not hostile and len(doc["title"]) > 1000:
        doc["title"] = doc["title"][:1000]
    for _ in range(choose.choice([1, 1, 2, 3]) if hostile else 0):
        where = choose.integer(0, 5)
        if where == 0:
            doc["peak_macs_per_s"][choose.choice(["float32", "float16", "int8", "float128"])] = \
                choose.choice(PROFILE_VALUES)  # fmt: skip
        elif where == 1:
            doc["memory_bandwidth"] = choose.choice(PROFILE_VALUES)
        elif where == 2:
            doc["efficiency"] = {choose.choice(["compute", "memory", "x"]):
                                 choose.choice(PROFILE_VALUES)}  # fmt: skip
        elif where == 3:
            doc[choose.choice(["layer_overhead_s", "window_ops_per_s", "linear_peak_macs_per_s",
                               "kind", "bogus"])] = choose.choice(PROFILE_VALUES)  # fmt: skip
        elif where == 4:
            doc[choose.choice(["title", "name", "source"])] = choose.choice(
                [_label(choose), 1, ["a"], None])
        else:
            doc.pop(choose.choice(list(doc)), None)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    for tag in ("!!float _", "!!int ''", "!!bool maybe"):
        text = text.replace(f"'{tag}'", tag)
    if hostile and choose.integer(0, 4) == 0:  # an aliased list of 387,420,489 items
        levels = ["  a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"] + [
            f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
        text = "measured:\n" + "\n".join(levels) + "\n" + "\n".join(
            line for line in text.splitlines() if not line.startswith("title")) + "\ntitle: *a8\n"
    path = os.path.join(folder, "profile.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    args = ["predict", choose.choice(["lenet5", "googlenet", "mobilenet"]), "--profile", path,
            "--dtype", choose.choice(["float32", "float16", "bfloat16", "int8"] if hostile
                                     else ["float32", "float16"]),
            "--format", choose.choice(["text", "json", "md", "csv"])]  # fmt: skip
    if choose.integer(0, 3) == 0:
        args += ["-o", choose.choice([path, os.devnull])]
    return args, text.encode("utf-8")


def _table_case(choose: Chooser, folder: str):
    spec = os.path.join(folder, "net.yaml")
    with open(spec, "w", encoding="utf-8") as handle:
        handle.write("input: [3, 8, 8]\nlayers:\n  - c: {type: conv, out: 4, k: 3}\n")
    sub = os.path.join(folder, "sub")
    os.makedirs(sub, exist_ok=True)
    link = os.path.join(folder, "link.yaml")
    if not os.path.lexists(link):
        os.symlink(choose.choice(["/proc/self/environ", "/etc/hostname", spec, "/dev/zero"]), link)
    rows = []
    if not choose.integer(0, 1):  # a valid table: its cells match, or differ (exit 1)
        for _ in range(choose.integer(1, 6)):
            network, row, value = choose.choice([("lenet5", "total", 61706), ("net.yaml", "c", 112),
                                                 ("net.yaml", "total", 112),
                                                 ("mobilenet", "total", 4231976)])
            rows.append({"network": network, "row": row,
                         "p": value if choose.integer(0, 3) else value + 1})
        doc = {"id": "t", "title": _label(choose)[:1000],
               "columns": {"p": {"quantity": "params", "unit": 1}}, "rows": rows}
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        path = os.path.join(folder, "table.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return ["check", path] + choose.choice([[], ["--format", "json"], ["--all"]]), \
            text.encode()  # fmt: skip
    for _ in range(choose.integer(1, 6)):
        row = {"network": choose.choice(["lenet5", "lenet5", "net.yaml", "net.yaml", "./net.yaml",
                                         "../net.yaml", "/etc/passwd.yaml", spec, "link.yaml",
                                         "sub/../net.yaml", "mobilenet:nope", "net.yaml:v",
                                         "/dev/zero", "nope", "", 1]),
               "row": choose.choice(["total", "total", "c", "conv1", _label(choose), 1]),
               "p": choose.choice([112, 112, 61706, 61706, 0, -1, 1.5, "1,0", "x", "9" * 40, None,
                                   [1]])}  # fmt: skip
        if choose.integer(0, 3) == 0:
            row["set"] = {choose.choice(["alpha", "resolution", "x"]): cli_number(choose)[:50]}
        rows.append(row)
    doc = {"id": choose.choice(["t", _label(choose)]), "title": _label(choose),
           "columns": {"p": {"quantity": choose.choice(["params", "params", "macs", "x"]),
                             "unit": choose.choice([1, 1, 1, 1000, 0, -1, 1e30, 1e31])}},
           "rows": rows}  # fmt: skip
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    path = os.path.join(folder, "table.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return ["check", path] + choose.choice([[], ["--format", "json"], ["--all"]]), text.encode()


GENERATED = ["c/bn", "c/relu", "c/act", "r.1", "r.2", "b/y", "b/z", "c #2", "input", "c", "r"]


def _ids_case(choose: Chooser, folder: str):
    rows = ["  - c: {type: conv, out: 4, k: 3, p: 1, bn: true, act: relu}",
            "  - r: {type: relu, repeat: 2}", "  - b: {type: blk}"]
    for _ in range(choose.integer(1, 4)):
        rows.insert(choose.integer(0, len(rows)), "  - x: {type: " + choose.choice(
            ["relu", "conv, out: 4, k: 1", "bn", "dropout"]) + f", id: '{choose.choice(GENERATED)}'}}")
    text = ("input: [4, 8, 8]\nblocks:\n  blk: {args: [], layers: [{y: {type: relu}}, "
            "{z: {type: conv, out: 4, k: 1, bn: true}}]}\nlayers:\n" + "\n".join(rows) + "\n")
    path = os.path.join(folder, "ids.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    args = choose.choice([["table", path, "--fold-bn"], ["table", path], ["memory", path],
                          ["diff", path, path], ["predict", path], ["formula", path]])
    return args, text.encode()


def _labels_case(choose: Chooser, folder: str):
    title = _label(choose)
    rows = [f"  - {json.dumps(_label(choose) or 'c')}: {{type: conv, out: w, k: 1}}"
            for _ in range(choose.integer(1, 4))]
    text = (f"title: {json.dumps(title)}\ninput: [3, 8, 8]\nparams: {{w: 4}}\nlayers:\n"
            + "\n".join(rows) + "\n  - relu\n")  # fmt: skip
    path = os.path.join(folder, choose.choice(["net.yaml", "[b]net.yaml", "$x$.yaml"]))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    args = choose.choice([["table", path, "--bars"], ["table", path, "--format", "latex"],
                          ["table", path, "--format", "md"], ["table", path, "--format", "csv"],
                          ["table", path], ["formula", path, "--format", "latex"],
                          ["formula", path, "--in", "w", "--format", "latex"], ["formula", path],
                          ["memory", path], ["predict", path], ["diff", path, "lenet5"],
                          ["compare", path, "lenet5"], ["table", path, "--symbolic"],
                          ["sweep", path, "--set", "w=2,4"]])  # fmt: skip
    return args, text.encode("utf-8", "surrogatepass")


def _chain_case(choose: Chooser, folder: str):
    n = choose.choice([1000, 10_000, 50_000, 100_000, 100_000, 100_001])
    op = choose.choice(["relu", "relu", "relu6", "dropout", "silu", "sigmoid", "flatten"])
    text = f"input: [3, 8, 8]\nlayers:\n  - r: {{type: {op}, repeat: {n}}}\n"
    if choose.integer(0, 1):
        text += "  - s: {type: relu, in: input}\n  - a: {type: add, in: [r, s]}\n"
    path = os.path.join(folder, "chain.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    args = choose.choice([["table", path], ["memory", path], ["memory", path, "--train"],
                          ["compare", path, "lenet5"], ["predict", path], ["diff", path, path]])
    return args, text.encode()


SCENARIOS = {"cli numbers": _cli_case, "profiles": _profile_case, "table files": _table_case,
             "ids": _ids_case, "labels": _labels_case, "long chains": _chain_case}


def scenario_case(choose: Chooser, name: str, folder: str, subprocess_run: bool = False):
    """One hostile input from scratch (see SCENARIOS); returns (args, data, outcome, problems)."""
    args, data = SCENARIOS[name](choose, folder)
    outcome = run_subprocess(args) if subprocess_run else run_in_process(args)
    return args, data, outcome, problems(outcome, args[0])


# ------------------------------------------------------------------------- running


@dataclass
class Outcome:
    code: object
    stdout: str
    stderr: str
    seconds: float


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def run_in_process(args: list[str], timeout: int = TIMEOUT) -> Outcome:
    from archcost.cli import main

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    # CPU time, not wall time (ITIMER_PROF): on a machine shared by many processes a case
    # that takes 2 s of CPU can take 10 s of wall time, and that is no hang
    old = signal.signal(signal.SIGPROF, _alarm)
    old_wall = signal.signal(signal.SIGALRM, _alarm)  # and a wall bound, for a blocked call
    signal.setitimer(signal.ITIMER_PROF, timeout)
    signal.alarm(WALL_TIMEOUT)
    code: object = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(args)
    except SystemExit as exc:
        code = exc.code if exc.code is not None else 0
    except _Timeout:
        code = "timeout"
    except BaseException as exc:  # noqa: BLE001 - a failure to report, with its type
        code = f"raised {type(exc).__name__}: {str(exc)[:200]}"
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.alarm(0)
        signal.signal(signal.SIGPROF, old)
        signal.signal(signal.SIGALRM, old_wall)
    return Outcome(code, out.getvalue(), err.getvalue(), time.perf_counter() - start)


def run_subprocess(args: list[str], timeout: int = TIMEOUT) -> Outcome:
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("ARCHCOST_DEBUG", None)
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "archcost", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=WALL_TIMEOUT,
                              errors="replace", preexec_fn=lambda: _cpu_limit(timeout))  # fmt: skip
    except subprocess.TimeoutExpired:
        return Outcome("timeout", "", "", time.perf_counter() - start)
    if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return Outcome("timeout", proc.stdout, proc.stderr, time.perf_counter() - start)
    return Outcome(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)


def _cpu_limit(seconds: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))


def problems(outcome: Outcome, command: str) -> list[str]:
    """What is wrong with an outcome (empty when it is fine)."""
    # 1 is a result for check (a cell differs) and solve (no value meets the budgets)
    allowed = (0, 1, 2) if command in ("check", "solve") else (0, 2)
    found = []
    if outcome.code not in allowed:
        found.append(f"exit code {outcome.code!r}")
    if "Traceback" in outcome.stderr or "internal error" in outcome.stderr:
        found.append("traceback or internal error")
    if outcome.code == 2:
        if outcome.stderr.count("\n") != 1 or not outcome.stderr.startswith("error: "):
            found.append(f"stderr is not one 'error:' line: {outcome.stderr[:200]!r}")
        if outcome.stdout:
            found.append("output on stdout with an error")
    if outcome.code == 0 and outcome.stderr:
        found.append(f"stderr on success: {outcome.stderr[:200]!r}")
    for ch in ("\x1b", "\x07", "\x9b", "\x00"):  # raw control characters from a label
        if ch in outcome.stdout or ch in outcome.stderr:
            found.append(f"raw control character {ch!r} in the output")
            break
    if outcome.code == 0 and outcome.stdout.lstrip().startswith(("{", "[")):
        for word in ("NaN", "Infinity"):
            if word in outcome.stdout:
                found.append(f"{word} in JSON output")
    return found


def write_case(folder: str, seed: Seed, data: bytes) -> str:
    for name, text in seed.companions.items():
        os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
        with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    path = os.path.join(folder, seed.name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def one_case(choose: Chooser, seed: Seed, folder: str, subprocess_run: bool = False):
    """Mutate a seed, run the CLI on it; returns (args, data, outcome, problems)."""
    data = mutate(choose, seed)
    path = write_case(folder, seed, data)
    args = arguments(choose, seed, path)
    outcome = run_subprocess(args) if subprocess_run else run_in_process(args)
    return args, data, outcome, problems(outcome, seed.command)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--subprocess-every", type=int, default=100,
                        help="run every Nth case as a subprocess (0: never)")
    parser.add_argument("--failures", default=os.path.join(ROOT, "fuzz-failures"))
    parser.add_argument("--no-scenarios", dest="scenarios", action="store_false",
                        help="mutate the seeds only (no hostile scenarios, issue 14)")
    opts = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    rng = random.Random(opts.seed)  # noqa: S311 - reproducible cases, not secrets
    choose = Chooser(rng)
    all_seeds = seeds()
    counts: dict = {}
    by_source: dict = {}
    times: list[float] = []
    failures = 0
    work = tempfile.mkdtemp(prefix="archcost-fuzz-")
    started = time.perf_counter()
    try:
        for n in range(opts.cases):
            folder = os.path.join(work, str(n))
            os.mkdir(folder)
            as_subprocess = bool(opts.subprocess_every) and n % opts.subprocess_every == 0
            source = choose.choice(["mutation", *SCENARIOS] if opts.scenarios else ["mutation"])
            if source == "mutation":
                seed = choose.choice(all_seeds)
                args, data, outcome, found = one_case(choose, seed, folder, as_subprocess)
            else:
                seed = Seed(source.replace(" ", "_"), "")
                args, data, outcome, found = scenario_case(choose, source, folder, as_subprocess)
            counts[outcome.code] = counts.get(outcome.code, 0) + 1
            by_source.setdefault(source, {})
            by_source[source][outcome.code] = by_source[source].get(outcome.code, 0) + 1
            times.append(outcome.seconds)
            if found:
                failures += 1
                dest = os.path.join(opts.failures, f"case-{opts.seed}-{n}")
                shutil.copytree(folder, dest, dirs_exist_ok=True, symlinks=True)
                with open(os.path.join(dest, "report.json"), "w", encoding="utf-8") as handle:
                    json.dump({"args": args, "problems": found, "code": str(outcome.code),
                               "stdout": outcome.stdout[-2000:], "stderr": outcome.stderr[-4000:],
                               "seconds": outcome.seconds}, handle, indent=2)  # fmt: skip
                print(f"FAIL case {n} ({seed.name}): {'; '.join(found)} -> {dest}", flush=True)
            shutil.rmtree(folder, ignore_errors=True)
            if (n + 1) % 500 == 0:
                print(f"{n + 1} cases, {failures} failures, {time.perf_counter() - started:.0f} s",
                      flush=True)  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    times.sort()
    print(f"cases: {opts.cases}  seeds: {len(all_seeds)}  random seed: {opts.seed}")
    print("exit codes: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str)))
    for source, codes in sorted(by_source.items()):
        total = sum(codes.values())
        print(f"  {source}: {total} cases; " + ", ".join(
            f"exit {k}: {v}" for k, v in sorted(codes.items(), key=str)))
    if times:
        print(f"time per case: mean {sum(times) / len(times) * 1000:.1f} ms, "
              f"median {times[len(times) // 2] * 1000:.1f} ms, "
              f"p99 {times[int(len(times) * 0.99)] * 1000:.1f} ms, max {times[-1]:.2f} s")
    print(f"failures: {failures}" + (f" (saved under {opts.failures})" if failures else ""))
    print(f"total: {time.perf_counter() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
