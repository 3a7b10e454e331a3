#!/usr/bin/env python3
"""Mutation fuzzer for archcost's spec and table loaders.

Every valid spec (specs/*.yaml, tests/specs/*.yaml, googlenet with the shared inception block
inlined as a spec-local block) and every table file (specs/tables/*.yaml) is mutated -- a leaf
replaced by another type or an extreme value, a key deleted, renamed or added, a row deleted,
duplicated or swapped, a line of the text duplicated, deleted, swapped, indented with a tab or
cut short, bytes that are not UTF-8 -- written to a temporary folder and given to the CLI.

What must hold for every case: exit code 0 or 2 (1 too for `check`: a mutated printed number is
a legitimate mismatch), never a traceback nor 'internal error'; exactly one line on stderr, and
nothing on stdout, when the code is 2; nothing on stderr when it is 0; and an answer within
TIMEOUT seconds.

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
TIMEOUT = 10  # seconds per case, in-process (signal.alarm) or as a subprocess

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
        for fname in sorted(os.listdir(tables_dir)):
            if fname.endswith(".yaml"):
                with open(os.path.join(tables_dir, fname), encoding="utf-8") as handle:
                    out.append(Seed(fname, handle.read(), "check"))
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
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
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
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return Outcome(code, out.getvalue(), err.getvalue(), time.perf_counter() - start)


def run_subprocess(args: list[str], timeout: int = TIMEOUT) -> Outcome:
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("ARCHCOST_DEBUG", None)
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "archcost", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout,
                              errors="replace")  # fmt: skip
    except subprocess.TimeoutExpired:
        return Outcome("timeout", "", "", time.perf_counter() - start)
    return Outcome(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)


def problems(outcome: Outcome, command: str) -> list[str]:
    """What is wrong with an outcome (empty when it is fine)."""
    allowed = (0, 1, 2) if command == "check" else (0, 2)
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
    return found


def write_case(folder: str, seed: Seed, data: bytes) -> str:
    for name, text in seed.companions.items():
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
    opts = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    rng = random.Random(opts.seed)  # noqa: S311 - reproducible cases, not secrets
    choose = Chooser(rng)
    all_seeds = seeds()
    counts: dict = {}
    times: list[float] = []
    failures = 0
    work = tempfile.mkdtemp(prefix="archcost-fuzz-")
    started = time.perf_counter()
    try:
        for n in range(opts.cases):
            seed = choose.choice(all_seeds)
            folder = os.path.join(work, str(n))
            os.mkdir(folder)
            as_subprocess = bool(opts.subprocess_every) and n % opts.subprocess_every == 0
            args, data, outcome, found = one_case(choose, seed, folder, as_subprocess)
            counts[outcome.code] = counts.get(outcome.code, 0) + 1
            times.append(outcome.seconds)
            if found:
                failures += 1
                dest = os.path.join(opts.failures, f"case-{opts.seed}-{n}")
                shutil.copytree(folder, dest, dirs_exist_ok=True)
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
    if times:
        print(f"time per case: mean {sum(times) / len(times) * 1000:.1f} ms, "
              f"median {times[len(times) // 2] * 1000:.1f} ms, "
              f"p99 {times[int(len(times) * 0.99)] * 1000:.1f} ms, max {times[-1]:.2f} s")
    print(f"failures: {failures}" + (f" (saved under {opts.failures})" if failures else ""))
    print(f"total: {time.perf_counter() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
