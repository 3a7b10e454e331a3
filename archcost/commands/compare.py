"""``archcost compare A B ...``: networks side by side, one row each, with exact totals."""

from __future__ import annotations

import click

from .. import unknown
from ..memory import peak_activations, peak_assumptions, peak_elements
from ..netargs import assign_labels, find_label, parse_networks, variadic_settings
from ..options import (
    DEFAULT_DEVICE,
    DTYPE_BYTES,
    batch_option,
    convention_option,
    dtype_option,
    fold_bn_option,
    format_option,
    maybe_fold,  # fmt: skip
    output_option,
)
from ..options import train_option as _train_option
from ..report import Column, emit, human, human_bytes, render, to_json
from ..spec import build

# key -> (header, kind); kind says how a value is shown: count (6.8M), bytes (25.5 MiB),
# ratio (0.47x), rate (226.1), int (22), text
COLUMNS = {
    "network": ("network", "text"),
    "params": ("params", "count"),
    "macs": ("MACs", "count"),
    "flops": ("FLOPs", "count"),
    "activations": ("activations", "count"),
    "activation_bytes": ("act. memory", "bytes"),
    "peak_activations": ("peak tensors", "count"),
    "peak_activation_bytes": ("peak act. memory", "bytes"),
    "peak_at": ("peak at", "text"),
    "weight_layers": ("weight layers", "int"),
    "macs_per_param": ("MACs/param", "rate"),
    "rel_params": ("params vs base", "ratio"),
    "rel_macs": ("MACs vs base", "ratio"),
    "count": ("as counted by --convention", "count"),
    "buffers": ("buffers", "count"),
    "ops": ("other ops", "count"),
    "weights": ("weights", "count"),
    "input": ("input", "text"),
    "title": ("title", "text"),
}
DEFAULT_COLUMNS = ("network", "params", "macs", "flops", "activations", "activation_bytes",
                   "peak_activation_bytes", "weight_layers", "macs_per_param", "rel_params",
                   "rel_macs")  # fmt: skip
ALIASES = {"name": "network", "mac": "macs", "flop": "flops", "act": "activations",
           "act_mem": "activation_bytes", "memory": "activation_bytes",
           "peak": "peak_activation_bytes", "peak_mem": "peak_activation_bytes",
           "layers": "weight_layers", "depth": "weight_layers", "macs_param": "macs_per_param",
           "rel": "rel_params", "size": "rel_params"}  # fmt: skip

NOTES = (
    "params: trainable weights + biases; MACs: multiply-accumulates of conv, linear and "
    "matrix-product (attention) layers; "
    "FLOPs = 2 x MACs; activations: elements written per sample (in-place layers add none); "
    "act. memory = activations x batch x bytes per element; peak act. memory: the most "
    "activation memory alive at once, the same number as table and memory ("
    + peak_assumptions(DEFAULT_DEVICE) + "); peak tensors: elements per sample of the graph's "
    "largest set of live tensors (no transients, no rounding); "
    "weight layers: conv + linear; MACs/param: MACs per parameter (reuse of each weight)."
)


def resolve_column(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    if key not in COLUMNS:
        raise click.UsageError(f"unknown column {name!r}; columns: {', '.join(COLUMNS)}")
    return key


def network_record(net, batch: int, nbytes: int, dtype: str = "float32") -> dict:
    """One network's totals as plain data (exact integers).

    The peak activation memory is the number ``table`` and ``memory`` show, from the same
    function (archcost.memory.peak_activations, on the one default device); ``peak_activations``
    is the graph tensors alone, in elements per sample.
    """
    totals = net.totals()
    peak, _ = peak_elements(net)
    peak_bytes, peak_at = peak_activations(net, batch, dtype)
    params, macs = totals["params"], totals["macs"]
    record = {
        "network": net.name,
        "spec": net.name,
        "title": net.title,
        "input": list(net.input.shape),
        "params": params,
        "weights": totals["weights"],
        "buffers": totals["buffers"],
        "macs": macs,
        "flops": unknown.mul(2, macs),
        "ops": totals["ops"],
        "activations": totals["activations"],
        "activation_bytes": totals["activations"] * batch * nbytes,
        "peak_activations": peak,
        "peak_activation_bytes": peak_bytes,
        "peak_at": peak_at,
        "weight_layers": net.weight_layers,
        "macs_per_param": macs / params if params and macs is not None else None,
    }
    nodes = unknown.unknown_nodes(net) if None in (params, macs, totals["ops"],
                                                   totals["buffers"]) else None  # fmt: skip
    if nodes:  # which fields are unknown (null), not "not applicable" (archcost.unknown)
        record["unknown_rows"] = [n.id for n in nodes]
        record["unknown"] = [k for k in (*unknown.QUANTITIES, "macs_per_param")
                             if k in record and record[k] is None]  # fmt: skip
    return record


def spec_label(spec: str, net) -> str:
    """A network's label: a built-in's name, a spec file's own ``name:`` (``name:VARIANT``),
    or, for a file without one, its path."""
    from ..spec import builtin_names, load

    if spec.split(":")[0] in builtin_names():
        return net.name
    doc, _ = load(spec)
    named = doc.get("name")
    if not isinstance(named, str) or not named.strip():
        return net.name
    variant = spec.split(":", 1)[1] if ":" in spec else ""
    return f"{named.strip()}:{variant}" if variant else named.strip()


def compare_records(words, batch=1, dtype="float32", train=False, baseline=None,
                    fold_bn=False, convention=None) -> list[dict]:  # fmt: skip
    """Build each network named in ``words`` (with its --set) and return one record each."""
    nargs = parse_networks(words)
    nets = [maybe_fold(build(n.spec, params=n.sets or None, train=train), fold_bn)
            for n in nargs]  # fmt: skip
    names = [spec_label(n.spec, net) for n, net in zip(nargs, nets, strict=True)]
    assign_labels(nargs, names)
    base = find_label(nargs, names, baseline) if baseline is not None else 0
    nbytes = DTYPE_BYTES[dtype]
    records = []
    for narg, net in zip(nargs, nets, strict=True):
        rec = network_record(net, batch, nbytes, dtype)
        rec["network"] = narg.label
        rec["spec"] = narg.spec
        rec["set"] = dict(narg.sets)
        rec["params_values"] = {k: _plain(v) for k, v in net.params.items()}
        if convention is not None:
            from ..conventions import totals

            counted = totals(net, convention)
            rec["count"] = counted["count"]
            if counted["count"] is None:  # the tool's count is unknown: '?', as table shows it
                rec.setdefault("unknown", []).append("count")
            rec["convention"] = {k: counted[k] for k in ("convention", "label", "unit",
                                                         "unknown_ops")}  # fmt: skip
        records.append(rec)
    ref = records[base]
    for rec in records:
        rec["baseline"] = rec is ref
        for key in ("params", "macs"):
            if rec[key] is None or ref[key] is None:  # a ratio with an unknown is unknown
                rec["rel_" + key] = None
                rec.setdefault("unknown", []).append("rel_" + key)
            else:
                rec["rel_" + key] = rec[key] / ref[key] if ref[key] else None
    return records


def compare_data(words, batch=1, dtype="float32", train=False, baseline=None, fold_bn=False,
                 convention=None, sort=None) -> dict:
    """What ``archcost compare ... --format json`` prints (and ``archcost.compare`` returns)."""
    records = sort_records(compare_records(words, batch, dtype, train, baseline, fold_bn,
                                           convention), sort)  # fmt: skip
    return {"batch": batch, "dtype": dtype, "train": train, "networks": records}


def _plain(value):
    from fractions import Fraction

    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    return value


def cell(value, kind: str, fmt: str, exact: bool):
    """A value as shown in one format: human units by default, exact with --exact / in CSV."""
    if value is None:
        return None
    if kind == "text":
        if isinstance(value, list):
            return "x".join(str(v) for v in value)
        return value
    machine = fmt == "csv"
    if kind in ("ratio", "rate"):
        if machine:
            return round(value, 6)
        if exact:  # the counts are exact; a ratio of them needs 4 significant digits, not 6
            return f"{_significant(value)}x" if kind == "ratio" else f"{value:,.2f}"
        return f"{value:.3g}x" if kind == "ratio" else f"{value:,.1f}"
    if machine or exact:
        return value
    if kind == "bytes":
        return human_bytes(value)
    if kind == "count":
        return human(value)
    return value


def _significant(value: float, digits: int = 4) -> str:
    """4 significant digits, never in e-notation: 1.000, 6.039, 37,790, 0.0001234."""
    if value == 0 or abs(value) < 1:
        return f"{value:.{digits}g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.{digits - 1}e}"
    whole = len(str(int(abs(value))))
    return f"{value:,.{max(0, digits - whole)}f}"


def sort_records(records, sort: str | None) -> list[dict]:
    if not sort:
        return records
    descending = sort.startswith("-")
    key = resolve_column(sort.lstrip("-+"))
    present = [r for r in records if r.get(key) is not None]
    missing = [r for r in records if r.get(key) is None]
    present.sort(key=lambda r: r[key] if not isinstance(r[key], list) else tuple(r[key]),
                 reverse=descending)  # fmt: skip
    return present + missing


def render_compare(records, columns, fmt, exact=False, batch=1, dtype="float32") -> str:
    def header(key):
        if key == "count" and records and records[0].get("convention"):
            return records[0]["convention"]["label"]
        return COLUMNS[key][0]

    cols = [Column(k, header(k), numeric=COLUMNS[k][1] != "text") for k in columns]
    rows = []
    for rec in records:
        row = {k: cell(rec.get(k), COLUMNS[k][1], fmt, exact) for k in columns}
        for k in rec.get("unknown", ()):  # '?' (empty in CSV), never 0 nor '-'
            if k in row:
                row[k] = unknown.UNKNOWN
        if rec.get("baseline") and fmt in ("text", "md", "latex") and "network" in row:
            row["network"] = f"{row['network']} (base)"
        rows.append(row)
    notes = ()
    if fmt in ("text", "md"):
        notes = (f"batch {batch}, {dtype} ({DTYPE_BYTES[dtype]} bytes per element); " + NOTES,)
        for rec in records:
            if rec.get("unknown_rows"):
                rows_ = rec["unknown_rows"]
                notes += (f"? = unknown: {rec['network']} has {len(rows_)} unknown row"
                          f"{'s' if len(rows_) != 1 else ''} ({', '.join(rows_[:3])}"
                          f"{', ...' if len(rows_) > 3 else ''}) archcost has no formula for; "
                          "every total that includes one is unknown (archcost.unknown)",)
    title = f"Comparison (batch {batch}, {dtype})"
    return render(cols, rows, fmt, title=title, notes=notes)


@click.command("compare", context_settings=variadic_settings())
@click.argument("networks", nargs=-1, type=click.UNPROCESSED, metavar="NETWORK [--set K=V]...")
@format_option()
@batch_option
@dtype_option
@_train_option
@click.option("--sort", metavar="COLUMN", help="Sort by a column (prefix '-' for descending).")
@click.option("--columns", metavar="A,B,...", help="Columns to show, in order "
              f"(default: {','.join(DEFAULT_COLUMNS)}).")  # fmt: skip
@click.option("--exact", is_flag=True, help="Exact integers instead of human units (6.8M).")
@fold_bn_option
@convention_option
@click.option("--baseline", metavar="NAME", help="Network the ratios are relative to "
              "(label, name or spec; default: the first).")  # fmt: skip
@click.option("--plot", "plot_file", metavar="FILE.png|svg",
              help="Also draw MACs against params, one labelled point per network.")  # fmt: skip
@output_option
def command(networks, fmt, batch, dtype, train, sort, columns, exact, fold_bn, convention,
            baseline, plot_file, output):  # fmt: skip
    """Compare networks side by side: params, MACs, FLOPs, activations, memory, peak memory,
    weight layers, MACs per parameter and size relative to the first (or --baseline).

    Each NETWORK is a built-in name, NAME:VARIANT or a spec file; `--set KEY=VALUE` after a
    network sets one of its parameters (the same network may appear twice with different
    values):

    \b
      archcost compare mobilenet --set alpha=0.5 --set resolution=160 googlenet
      archcost compare googlenet resnet50 --sort -macs --format md

    Counts are shown in human units (6.8M, 1.58G) in text, Markdown and LaTeX; --exact, CSV and
    JSON give exact integers.
    """
    keys = [resolve_column(c) for c in columns.split(",") if c.strip()] if columns else list(
        DEFAULT_COLUMNS)
    if not keys:
        raise click.UsageError("--columns names no column")
    if convention is not None and "count" not in keys:
        keys.insert(keys.index("macs") + 1 if "macs" in keys else len(keys), "count")
    plot_ext = None
    if plot_file:
        from ..plot import check_plot_file

        plot_ext = check_plot_file(plot_file)
    data = compare_data(networks, batch, dtype, train, baseline, fold_bn, convention, sort)
    records = data["networks"]
    if plot_file:
        from ..plot import plot_compare

        plot_compare(records, plot_file, plot_ext)
    if fmt == "json":
        emit(to_json(data), output)
        return
    if "network" not in keys:
        keys.insert(0, "network")
    emit(render_compare(records, keys, fmt, exact, batch, dtype), output)
