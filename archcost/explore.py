"""Many evaluations of one spec: parameter sweeps and budget solving, exact and fast.

The spec is read and resolved once (:func:`archcost.spec.effective`); each point is one
:func:`archcost.spec.build_doc` with exact parameter values (ints and Fractions, never floats),
so every count is the engine's exact integer. Large grids run on several processes (fork,
where the platform has it) and show a rich progress bar on stderr when they take more than
a moment.
"""

from __future__ import annotations

import gc
import math
import os
import sys
import time
from fractions import Fraction

from .errors import SpecError
from .expr import evaluate
from .limits import MAX_GRID_POINTS, MAX_SWEEP_WORK
from .spec import build_doc, param_values

QUANTITIES = ("params", "weights", "buffers", "macs", "flops", "ops", "activations",
              "peak_activations")  # fmt: skip
SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
POINT_WORK = 4  # what a point costs beyond its layers and expressions (a build's fixed part)
PARALLEL_MIN_POINTS = 2000  # below this, starting workers costs more than it saves


# ---------------------------------------------------------------- parsing


def parse_number(text: str, what: str) -> int | Fraction:
    """An exact number from the command line: '0.25' -> 1/4, '3/4', '224', '1e3'."""
    from .safeio import number_text

    text = number_text(text.strip(), what)
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        try:
            value = evaluate(text, {})
        except SpecError:
            raise SpecError(f"{what}: {text!r} is not a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
            raise SpecError(f"{what}: {text!r} is not a number") from None
        value = Fraction(value)
    return int(value) if value.denominator == 1 else value


def parse_axis(text: str) -> tuple[str, list]:
    """'alpha=0.25:1.0:0.25' (start:stop:step, stop included when on the grid),
    'resolution=128,160,192,224' or 'alpha=0.5' -> (name, exact values)."""
    name, sep, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name or not spec:
        raise SpecError(f"--set {text!r}: expected NAME=VALUES, e.g. alpha=0.25:1.0:0.25 or "
                        "resolution=128,160,192,224")  # fmt: skip
    if not name.isidentifier():
        raise SpecError(f"--set {text!r}: {name!r} is not a parameter name")
    values: list = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if ":" in part:
            pieces = part.split(":")
            if len(pieces) != 3:
                raise SpecError(f"--set {name}: a range is START:STOP:STEP, got {part!r}")
            start, stop, step = (parse_number(p, f"--set {name}") for p in pieces)
            if step <= 0:
                raise SpecError(f"--set {name}: the step must be positive, got {pieces[2]}")
            if stop < start:
                raise SpecError(f"--set {name}: the range {part} is empty (STOP < START)")
            count = math.floor((stop - start) / step) + 1
            if count > MAX_GRID_POINTS:
                raise SpecError(f"--set {name}: {count:,} values exceed the limit "
                                f"{MAX_GRID_POINTS:,} (MAX_GRID_POINTS)")  # fmt: skip
            values += [_tidy(start + i * step) for i in range(count)]
        else:
            values.append(parse_number(part, f"--set {name}"))
    if not values:
        raise SpecError(f"--set {name}: no values")
    return name, values


def _tidy(value):
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return value


def parse_budget(text: str) -> tuple[str, int | Fraction]:
    """'macs=300M' -> ('macs', 300000000); K/M/G/T are powers of 1000."""
    name, sep, spec = text.partition("=")
    name, spec = name.strip().lower(), spec.strip().replace(",", "").replace("_", "")
    if not sep or not name or not spec:
        raise SpecError(f"--budget {text!r}: expected QUANTITY=LIMIT, e.g. macs=300M")
    if name not in QUANTITIES:
        raise SpecError(f"--budget {name}: unknown quantity; one of {', '.join(QUANTITIES)}")
    suffix = spec[-1].upper() if spec[-1].isalpha() else ""
    if suffix not in SUFFIXES:
        raise SpecError(f"--budget {text!r}: unknown unit {spec[-1]!r} (K, M, G, T = 1000^n)")
    number = parse_number(spec[:-1] if suffix else spec, f"--budget {name}")
    limit = number * SUFFIXES[suffix]
    if limit < 0:
        raise SpecError(f"--budget {name}: the limit must not be negative")
    return name, _tidy(Fraction(limit))


def fmt_value(value) -> str:
    """An exact parameter value as text: 1/4 -> '0.25', 1/3 -> '1/3', 224 -> '224'."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        decimal = float(value)
        if Fraction(repr(decimal)) == value:
            return repr(decimal)
        return f"{value.numerator}/{value.denominator}"
    return str(value)


def json_value(value):
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    return value


# ---------------------------------------------------------------- evaluating points


def measure(net, quantities) -> dict:
    """The asked-for totals of a built network (exact integers)."""
    out = net.totals()
    out["flops"] = None if out["macs"] is None else 2 * out["macs"]  # None: unknown
    if "peak_activations" in quantities:
        from .memory import peak_elements

        out["peak_activations"] = peak_elements(net)[0]
    return {q: out[q] for q in quantities}


class Runner:
    """Evaluates points (dicts of parameter values) of one doc; results in input order.

    A result is a dict of the asked-for totals, or {"error": message} where the network
    does not exist at that point (e.g. a channel count that is not a whole number).
    """

    def __init__(self, doc, name, fixed=None, train=False, quantities=("params", "macs"),
                 jobs=None, progress="auto", label="evaluating"):  # fmt: skip
        self.doc, self.name, self.train = doc, name, train
        self.fixed = dict(fixed or {})
        self.quantities = tuple(quantities)
        self.jobs = jobs
        self.progress = progress
        self.label = label
        self.evaluations = 0
        self.work = 0  # see MAX_SWEEP_WORK
        self.check({})

    def check(self, point: dict) -> None:
        """Raise the spec's own error for an unknown parameter name or a bad value."""
        param_values(self.doc, {**self.fixed, **point})

    def one(self, values: dict) -> dict:
        self.evaluations += 1
        result, work = _evaluate(self.doc, self.name, {**self.fixed, **values}, self.train,
                                 self.quantities)  # fmt: skip
        self.spend(work)
        return result

    def spend(self, work: int, points: int = 1) -> None:
        """Count the work of evaluated points and stop past MAX_SWEEP_WORK. A point costs its
        layers, its expression work (expr.Evaluator: characters compiled, operators
        evaluated) and POINT_WORK. With ``points``: refuse, before evaluating them, that many
        points of ``work`` each."""
        if self.work + work * points > MAX_SWEEP_WORK:
            raise SpecError(f"{self.evaluations:,} points of about {work:,} units of work each "
                            f"exceed MAX_SWEEP_WORK = {MAX_SWEEP_WORK:,} (a point counts its "
                            f"layers, its expression work and {POINT_WORK}); use a coarser "
                            "grid or fewer values")  # fmt: skip
        self.work += work

    def many(self, points: list[dict]) -> list[dict]:
        if not points:
            return []
        # the first point here: its work says at once whether the others can fit, and the
        # caches it fills are inherited by forked workers
        self.evaluations += len(points)
        first, work = _evaluate(self.doc, self.name, {**self.fixed, **points[0]}, self.train,
                                self.quantities)  # fmt: skip
        self.spend(work, len(points))
        rest = points[1:]
        jobs = self._jobs(len(rest))
        bar = _Progress(len(points), self.label, self.progress)
        try:
            if jobs > 1:
                return [first, *_parallel(self, rest, jobs, bar)]
            return [first, *_serial(self, rest, bar)]
        finally:
            bar.close()

    def _jobs(self, count: int) -> int:
        if self.jobs is not None:
            jobs = max(1, self.jobs)
        else:
            jobs = min(os.cpu_count() or 1, 8) if count >= PARALLEL_MIN_POINTS else 1
        if jobs > 1 and not _can_fork():
            return 1
        return min(jobs, max(1, count // 64))


def _evaluate(doc, name, values, train, quantities) -> tuple[dict, int]:
    """(the point's result, its work: layers built + expression work + POINT_WORK)."""
    before = evaluate.spent
    try:
        net = build_doc(doc, name, params=values, train=train)
    except SpecError as err:
        return {"error": err.message}, evaluate.spent - before + POINT_WORK
    result = measure(net, quantities)
    for row in net.rows:  # break node <-> row cycles so the memory goes back at once
        row.nodes = []
        row.output = None
    return result, len(net.nodes) + evaluate.spent - before + POINT_WORK


def _serial(runner, points, bar) -> list[dict]:
    out = []
    enabled = gc.isenabled()
    gc.disable()  # the networks are freed by reference counting (no cycles left)
    try:
        for i, point in enumerate(points, 1):
            result, work = _evaluate(runner.doc, runner.name, {**runner.fixed, **point},
                                     runner.train, runner.quantities)  # fmt: skip
            runner.spend(work)
            out.append(result)
            if not i & 63:
                bar.update(i)
    finally:
        if enabled:
            gc.enable()
    bar.update(len(points) + 1)  # and the first point, evaluated before
    return out


def _can_fork() -> bool:
    import multiprocessing

    return sys.platform != "win32" and "fork" in multiprocessing.get_all_start_methods()


_WORK = None  # (runner, points) inherited by forked workers


def _work_chunk(bounds):
    runner, points = _WORK
    lo, hi = bounds
    enabled = gc.isenabled()
    gc.disable()
    try:
        return lo, [_evaluate(runner.doc, runner.name, {**runner.fixed, **p}, runner.train,
                              runner.quantities) for p in points[lo:hi]]  # fmt: skip
    finally:
        if enabled:
            gc.enable()


def _parallel(runner, points, jobs, bar) -> list[dict]:
    import multiprocessing

    global _WORK
    chunk = max(16, min(256, len(points) // (jobs * 8) or 1))
    bounds = [(lo, min(lo + chunk, len(points))) for lo in range(0, len(points), chunk)]
    out: list = [None] * len(points)
    _WORK = (runner, points)
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            done = 0
            for lo, results in pool.imap_unordered(_work_chunk, bounds):
                runner.spend(sum(work for _, work in results))  # past the limit: workers stop
                out[lo : lo + len(results)] = [result for result, _ in results]
                done += len(results)
                bar.update(done + 1)  # and the first point
    finally:
        _WORK = None
    return out


class _Progress:
    """A rich progress bar on stderr, shown only once the work has taken over half a second
    and only on a terminal (or when forced with progress=True)."""

    DELAY = 0.5

    def __init__(self, total, label, mode):
        self.total, self.label, self.mode = total, label, mode
        self.start = time.monotonic()
        self.bar = None
        self.task = None

    def update(self, done):
        if self.mode is False:
            return
        from .report import have_rich

        if not have_rich():  # no bar without rich; the work goes on the same
            self.mode = False
            return
        if self.bar is None:
            if time.monotonic() - self.start < self.DELAY or done >= self.total:
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            console = Console(stderr=True)
            if self.mode != "auto" or console.is_terminal:
                self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                    MofNCompleteColumn(), TimeRemainingColumn(),
                                    console=console, transient=True)  # fmt: skip
                self.bar.start()
                self.task = self.bar.add_task(self.label, total=self.total)
            else:
                self.mode = False
                return
        self.bar.update(self.task, completed=done)

    def close(self):
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


# ---------------------------------------------------------------- sweeps


def grid_points(axes: list[tuple[str, list]]) -> list[dict]:
    """The cartesian product of the axes, first axis outermost."""
    total = 1
    for _, values in axes:
        total *= len(values)
    if total > MAX_GRID_POINTS:
        raise SpecError(f"the grid has {total:,} points; the limit is {MAX_GRID_POINTS:,} "
                        "(MAX_GRID_POINTS)")  # fmt: skip
    points = [{}]
    for name, values in axes:
        points = [{**p, name: v} for p in points for v in values]
    return points


# ---------------------------------------------------------------- solving


FULL_SCAN = 512  # grids up to this size are scanned completely
COARSE = 256  # otherwise: this many evenly spaced probes first


def default_grid(default) -> int | Fraction:
    """1 for a parameter whose default is a whole number above 1 (a resolution), else 0.01."""
    if isinstance(default, int) and not isinstance(default, bool) and default > 1:
        return 1
    return Fraction(1, 100)


def grid_values(lo, hi, step) -> list:
    if step <= 0:
        raise SpecError("--grid must be positive")
    if hi < lo:
        raise SpecError(f"--max {fmt_value(hi)} is below --min {fmt_value(lo)}")
    count = math.floor((hi - lo) / step) + 1
    if count > MAX_GRID_POINTS:
        raise SpecError(f"the grid has {count:,} values; the limit is {MAX_GRID_POINTS:,} "
                        "(MAX_GRID_POINTS: a coarser --grid or a narrower --min/--max)")  # fmt: skip
    return [_tidy(Fraction(lo) + i * Fraction(step)) for i in range(count)]


def exceeds(result: dict, budgets: dict) -> list[str]:
    """The budgets a result breaks (['error'] where the network does not exist)."""
    if "error" in result:
        return ["error"]
    for q in budgets:
        if result[q] is None:  # an unknown row's (archcost.unknown): no budget can be checked
            raise SpecError(f"--budget {q}: the network's {q} are unknown (it has rows of type "
                            "unknown, which archcost has no formula for), so no budget on them "
                            "can be checked")  # fmt: skip
    return [q for q, limit in budgets.items() if result[q] > limit]


def solve(runner: Runner, name: str, values: list, budgets: dict) -> dict:
    """The largest grid value whose network meets every budget, with both neighbours.

    Small grids are scanned completely. Larger ones get COARSE evenly spaced probes; if the
    budgeted counts never decrease along them (checked, not assumed), the boundary is
    bisected between the last probe that meets the budgets and the next, every bisection
    probe being checked to lie between its brackets; any violation falls back to scanning
    that stretch completely (or the whole grid if the probes themselves are not monotone).
    """
    results: dict = {}

    def get(i):
        if i not in results:
            results[i] = runner.one({name: values[i]})
        return results[i]

    def scan(indices):
        todo = [i for i in indices if i not in results]
        for i, res in zip(todo, runner.many([{name: values[i]} for i in todo]), strict=True):
            results[i] = res

    n = len(values)
    method = ""
    if n <= FULL_SCAN:
        scan(range(n))
        method = f"scanned all {n} grid values"
    else:
        stride = math.ceil(n / COARSE)
        probes = sorted(set(range(0, n, stride)) | {n - 1})
        scan(probes)
        if _monotone([results[i] for i in probes], budgets):
            ok = [i for i in probes if not exceeds(results[i], budgets)]
            method = (f"{len(probes)} evenly spaced probes (budgeted counts non-decreasing "
                      "along them)")  # fmt: skip
            if ok and ok[-1] != n - 1:
                lo = ok[-1]
                hi = next(i for i in probes if i > lo)
                lo, hi, fine = _bisect(get, scan, lo, hi, budgets)
                method += ", then " + ("bisection, every probe checked monotone" if fine
                                       else "a full scan of the stretch where bisection "
                                       "found the counts not monotone")  # fmt: skip
            elif not ok:
                scan(range(0, probes[1]))
                method += ", then a scan below the first probe"
            else:
                method += "; the largest grid value meets every budget"
        else:
            scan(range(n))
            method = f"scanned all {n} grid values (the counts are not monotone in {name})"
    meeting = [i for i in sorted(results) if not exceeds(results[i], budgets)]
    answer = {"method": method, "evaluations": runner.evaluations, "grid_size": n}
    if not meeting:
        answer.update(value=None, index=None, result=None)
        first = min(results)
        answer["first"] = _neighbour(values, first, results[first], budgets)
        return answer
    best = meeting[-1]
    answer.update(value=values[best], index=best, result=results[best])
    # both sides of the boundary, evaluated whatever the method found
    answer["next"] = (_neighbour(values, best + 1, get(best + 1), budgets) if best + 1 < n
                      else None)  # fmt: skip
    answer["previous"] = (_neighbour(values, best - 1, get(best - 1), budgets) if best > 0
                          else None)  # fmt: skip
    answer["evaluations"] = runner.evaluations
    gaps = [i for i in sorted(results) if i < best and exceeds(results[i], budgets)]
    answer["below_failing"] = [fmt_value(values[i]) for i in gaps[:10]]
    return answer


def _neighbour(values, i, result, budgets) -> dict:
    return {"value": values[i], "index": i, "result": result,
            "exceeds": exceeds(result, budgets)}  # fmt: skip


def _monotone(results, budgets) -> bool:
    last = {}
    for res in results:
        if "error" in res:
            continue
        for q in budgets:
            if q in last and res[q] < last[q]:
                return False
            last[q] = res[q]
    return True


def _bisect(get, scan, lo, hi, budgets):
    """lo meets the budgets, hi does not; narrow to adjacent indices, checking that every
    probe's counts lie between its brackets'. Returns (lo, hi, monotone)."""
    lo0, hi0 = lo, hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        a, m, b = get(lo), get(mid), get(hi)
        if "error" in m or "error" in b or any(not (a[q] <= m[q] <= b[q]) for q in budgets):
            scan(range(lo0, hi0 + 1))
            return lo0, hi0, False
        if exceeds(m, budgets):
            hi = mid
        else:
            lo = mid
    return lo, hi, True
