"""``archcost sweep SPEC --set alpha=0.25:1.0:0.25 --set resolution=128,160``: a grid."""

from __future__ import annotations

import sys
import time

import click

from ..explore import Runner, fmt_value, grid_points, json_value, parse_axis
from ..options import format_option, output_option, train_option
from ..report import Column, emit, human, render, to_json
from ..spec import load
from ..unknown import UNKNOWN

QUANTITIES = (("params", "params"), ("macs", "MACs"), ("flops", "FLOPs"),
              ("activations", "activations"))  # fmt: skip


def sweep_data(spec: str, sets, train=False, jobs=None, progress="auto") -> dict:
    doc, name = load(spec)  # read and resolved once for the whole grid
    axes, fixed = [], {}
    for text in sets:
        key, values = parse_axis(text)
        if any(key == a for a, _ in axes) or key in fixed:
            raise click.UsageError(f"--set {key} is given twice")
        if len(values) == 1:
            fixed[key] = values[0]
        else:
            axes.append((key, values))
    if not axes and not fixed:
        raise click.UsageError("give the grid with --set NAME=START:STOP:STEP or "
                               "--set NAME=V1,V2,... (one or more)")  # fmt: skip
    runner = Runner(doc, name, fixed, train, [q for q, _ in QUANTITIES], jobs, progress,
                    label=f"sweep {name}")  # fmt: skip
    points = grid_points(axes)
    runner.check(points[0])
    start = time.perf_counter()
    results = runner.many(points)
    seconds = time.perf_counter() - start
    records = []
    for point, res in zip(points, results, strict=True):
        rec = {"set": dict(point), **res}
        records.append(rec)
    return {"network": name, "title": str(doc.get("title") or name), "train": train,
            "axes": axes, "fixed": fixed, "points": records, "seconds": seconds}  # fmt: skip


def sweep_json(data) -> dict:
    points = []
    for rec in data["points"]:
        out = {k: json_value(v) for k, v in rec["set"].items()}
        out.update({k: v for k, v in rec.items() if k != "set"})
        points.append(out)
    return {"network": data["network"], "title": data["title"], "train": data["train"],
            "axes": {k: [json_value(v) for v in vs] for k, vs in data["axes"]},
            "fixed": {k: json_value(v) for k, v in data["fixed"].items()},
            "points": points}  # fmt: skip


def render_sweep(data, fmt: str, exact: bool) -> str:
    names = [k for k, _ in data["axes"]]
    columns = [Column("p:" + k, k) for k in names]
    columns += [Column(q, header) for q, header in QUANTITIES]
    has_errors = any("error" in r for r in data["points"])
    if has_errors:
        columns.append(Column("error", "not built", numeric=False))
    rows = []
    for rec in data["points"]:
        row = {"p:" + k: fmt_value(rec["set"][k]) for k in names}
        for q, _ in QUANTITIES:
            value = rec.get(q)
            row[q] = value if (fmt == "csv" or exact or value is None) else human(value)
            if value is None and "error" not in rec:  # unknown (archcost.unknown), not "-"
                row[q] = UNKNOWN
        if "error" in rec:
            row["error"] = rec["error"]
        rows.append(row)
    fixed = ", ".join(f"{k}={fmt_value(v)}" for k, v in data["fixed"].items())
    title = f"{data['title']} ({data['network']}): sweep over {', '.join(names) or '-'}" + (
        f" at {fixed}" if fixed else "")
    notes = ()
    if fmt in ("text", "md"):
        notes = (f"{len(rows)} points; params: trainable weights + biases; MACs: conv + linear "
                 "multiply-accumulates; FLOPs = 2 x MACs; activations: elements per sample.",)
    return render(columns, rows, fmt, title=title, notes=notes)


@click.command("sweep")
@click.argument("spec")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUES", help="A parameter's "
              "values: START:STOP:STEP (STOP included), V1,V2,... or one value (fixed).")  # fmt: skip
@format_option()
@train_option
@click.option("--exact", is_flag=True, help="Exact integers instead of human units.")
@click.option("--plot", "plot_file", metavar="FILE.png|svg",
              help="Also draw params and MACs along the first parameter, a curve per value "
                   "of the others.")  # fmt: skip
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Processes to use (default: all cores for 2,000 points or more).")  # fmt: skip
@click.option("--timing", is_flag=True, help="Print points per second on stderr.")
@output_option
def command(spec, sets, fmt, train, exact, plot_file, jobs, timing, output):
    """Params, MACs, FLOPs and activations of SPEC over a grid of parameter values.

    \b
      archcost sweep mobilenet --set alpha=0.25:1.0:0.25 --set resolution=128,160,192,224
      archcost sweep mobilenet --set alpha=0.1:1.4:0.05 --format csv -o grid.csv

    Values are exact (0.1 is 1/10); every count is the engine's exact integer. Points where
    the network cannot be built (a channel count that is not whole, a map below 1x1) are
    listed with the reason.
    """
    plot_ext = None
    if plot_file:
        from ..plot import check_plot_file

        plot_ext = check_plot_file(plot_file)
    data = sweep_data(spec, sets, train, jobs)
    if timing:
        n, sec = len(data["points"]), data["seconds"]
        sys.stderr.write(f"{n:,} points in {sec:.2f} s ({n / sec if sec else 0:,.0f} points/s)\n")
    if plot_file:
        from ..plot import plot_sweep

        names = [k for k, _ in data["axes"]] or list(data["fixed"])
        points = [{**r, "set": {**data["fixed"], **r["set"]}} for r in data["points"]]
        plot_sweep(points, names, plot_file, plot_ext, data["network"])
    if fmt == "json":
        emit(to_json(sweep_json(data)), output)
        return
    emit(render_sweep(data, fmt, exact), output)
