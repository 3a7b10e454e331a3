"""``archcost solve SPEC --budget macs=300M --for alpha``: the largest value within budget."""

from __future__ import annotations

import click

from ..errors import SpecError
from ..explore import (
    Runner,
    default_grid,
    exceeds,
    fmt_value,
    grid_values,
    json_value,
    parse_budget,
    parse_number,
    solve,
)
from ..options import format_option, output_option, parse_sets, train_option
from ..report import Column, emit, render, to_json
from ..spec import load, param_values


def solve_data(spec, budgets_text, name, grid=None, lo=None, hi=None, sets=(), train=False,
               jobs=None, progress="auto") -> dict:  # fmt: skip
    doc, label = load(spec)
    budgets = dict(parse_budget(b) for b in budgets_text)
    if not budgets:
        raise click.UsageError("give at least one --budget QUANTITY=LIMIT, e.g. macs=300M")
    fixed = param_values(doc, parse_sets(sets) or None)
    if name not in fixed:
        raise SpecError(f"--for {name}: this network has no such parameter; parameters: "
                        f"{', '.join(fixed) or 'none'}", doc["_file"])  # fmt: skip
    default = fixed.pop(name)
    step = parse_number(grid, "--grid") if grid is not None else default_grid(default)
    if step <= 0:
        raise SpecError("--grid must be positive")
    low = parse_number(lo, "--min") if lo is not None else step
    high = parse_number(hi, "--max") if hi is not None else default
    values = grid_values(low, high, step)
    runner = Runner(doc, label, fixed, train, list(budgets), jobs, progress,
                    label=f"solve {label} for {name}")  # fmt: skip
    runner.check({name: values[0]})
    answer = solve(runner, name, values, budgets)
    answer.update(network=label, title=str(doc.get("title") or label), parameter=name,
                  budgets=budgets, grid=step, min=values[0], max=values[-1], default=default,
                  fixed=fixed)  # fmt: skip
    # the counts shown are the full set, not only the budgeted ones
    full = Runner(doc, label, fixed, train, ("params", "macs", "flops", "activations"))
    for key in ("result",):
        if answer.get("value") is not None:
            answer[key] = {**full.one({name: answer["value"]}), **answer[key]}
    for key in ("next", "previous", "first"):
        nb = answer.get(key)
        if nb and "error" not in nb["result"]:
            nb["result"] = {**full.one({name: nb["value"]}), **nb["result"]}
    return answer


def solve_json(a) -> dict:
    def nb(n):
        if n is None:
            return None
        return {"value": json_value(n["value"]), **n["result"], "exceeds": n["exceeds"]}

    out = {"network": a["network"], "for": a["parameter"],
           "budgets": {k: json_value(v) for k, v in a["budgets"].items()},
           "grid": json_value(a["grid"]), "min": json_value(a["min"]),
           "max": json_value(a["max"]), "fixed": {k: json_value(v) for k, v in a["fixed"].items()},
           "value": json_value(a["value"]), "result": a["result"],
           "next": nb(a.get("next")), "previous": nb(a.get("previous")),
           "method": a["method"], "evaluations": a["evaluations"]}  # fmt: skip
    if a["value"] is None:
        out["first"] = nb(a.get("first"))
    if a.get("below_failing"):
        out["below_failing"] = a["below_failing"]
    return out


def _why(n, budgets) -> str:
    if n is None:
        return ""
    if "error" in n["result"]:
        return "not built: " + n["result"]["error"]
    broken = exceeds(n["result"], budgets)
    if not broken:
        return "meets every budget"
    return "exceeds " + ", ".join(f"{q} ({n['result'][q]:,} > {_limit(budgets[q])})"
                                  for q in broken)  # fmt: skip


def _limit(value) -> str:
    return f"{value:,}" if isinstance(value, int) else fmt_value(value)


def render_solve(a, fmt: str) -> str:
    name, budgets = a["parameter"], a["budgets"]
    columns = [Column("which", "row", numeric=False), Column("value", name),
               Column("params", "params"), Column("macs", "MACs"),
               Column("activations", "activations"), Column("why", "note", numeric=False)]  # fmt: skip
    rows = []
    for which, key in (("below", "previous"), ("answer", None), ("next", "next"),
                       ("smallest", "first")):  # fmt: skip
        if key is None:
            if a["value"] is None:
                continue
            n = {"value": a["value"], "result": a["result"], "exceeds": []}
        else:
            n = a.get(key)
            if n is None:
                continue
        res = n["result"]
        rows.append({"which": which, "value": fmt_value(n["value"]), "params": res.get("params"),
                     "macs": res.get("macs"), "activations": res.get("activations"),
                     "why": _why(n, budgets),
                     "_style": "bold green" if which == "answer" else None})  # fmt: skip
    limits = ", ".join(f"{q} <= {_limit(v)}" for q, v in budgets.items())
    fixed = ", ".join(f"{k}={fmt_value(v)}" for k, v in a["fixed"].items())
    title = (f"{a['title']} ({a['network']}): largest {name} on the grid "
             f"{fmt_value(a['min'])}..{fmt_value(a['max'])} step {fmt_value(a['grid'])} "
             f"with {limits}" + (f" ({fixed})" if fixed else ""))  # fmt: skip
    notes = []
    if fmt in ("text", "md"):
        if a["value"] is None:
            notes.append(f"No grid value meets every budget (the smallest, "
                         f"{fmt_value(a['min'])}, is shown).")  # fmt: skip
        else:
            notes.append(f"{name} = {fmt_value(a['value'])} meets every budget.")
            if a.get("next") is None:
                notes.append("It is the largest grid value (--max); raise --max to look further.")
        if a.get("below_failing"):
            notes.append("Not monotone: smaller values that fail: " + ", ".join(a["below_failing"]))
        notes.append(f"Method: {a['method']}; {a['evaluations']} networks built, each exactly.")
    return render(columns, rows, fmt, title=title, notes=notes)


@click.command("solve")
@click.argument("spec")
@click.option("--budget", "budgets", multiple=True, metavar="QUANTITY=LIMIT", required=True,
              help="A limit, e.g. macs=300M, params=2M, flops=1.2G (K, M, G, T = 1000^n); "
                   "quantities: params, weights, buffers, macs, flops, ops, activations, "
                   "peak_activations.")  # fmt: skip
@click.option("--for", "name", required=True, metavar="PARAM", help="The parameter to solve for.")
@click.option("--grid", metavar="STEP", help="Grid step (default 0.01; 1 for a parameter whose "
              "default is a whole number above 1, such as a resolution).")  # fmt: skip
@click.option("--min", "lo", metavar="X", help="Smallest value (default: one grid step).")
@click.option("--max", "hi", metavar="X", help="Largest value (default: the parameter's default).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Fix another parameter.")  # fmt: skip
@format_option()
@train_option
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Processes for large grids.")
@output_option
def command(spec, budgets, name, grid, lo, hi, sets, fmt, train, jobs, output):
    """The largest value of one spec parameter on a grid whose network meets every budget.

    \b
      archcost solve mobilenet --budget macs=300M --for alpha
      archcost solve mobilenet --budget macs=300M --budget params=3M --set alpha=0.75 --for resolution --grid 32

    Every candidate is built exactly. Monotonicity is not assumed: small grids are scanned
    completely, larger ones probed evenly and bisected only where the counts are seen to be
    monotone. The answer is shown with both neighbours: the value meets every budget, the
    next grid value does not (or does not exist). Exit 1 if no grid value meets the budgets.
    """
    answer = solve_data(spec, budgets, name, grid, lo, hi, sets, train, jobs)
    if fmt == "json":
        emit(to_json(solve_json(answer)), output)
    else:
        emit(render_solve(answer, fmt), output)
    return 0 if answer["value"] is not None else 1
