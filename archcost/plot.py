"""Plots: matplotlib figures written to files, and MAC bars drawn with rich in the terminal.

matplotlib is an optional extra (``pip install 'archcost[plot]'``) and is imported only when a
plot is asked for, with the non-interactive Agg canvas (no display, no global pyplot state).
Files are written atomically: to a temporary file in the same folder, then renamed.
"""

from __future__ import annotations

import os

from .errors import SpecError
from .limits import MAX_PLOT_LABEL_CHARS, MAX_PLOT_ROWS, MAX_RICH_ROWS
from .report import write_atomic
from .safeio import mathtext, rich_markup

PLOT_FORMATS = ("png", "svg", "pdf")
MISSING = "matplotlib is not installed; pip install 'archcost[plot]'"


def check_plot_file(path: str) -> str:
    """The file's format from its extension; also checks that matplotlib can be imported."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in PLOT_FORMATS:
        raise SpecError(f"--plot {path}: the file name must end in "
                        + ", ".join("." + f for f in PLOT_FORMATS))  # fmt: skip
    _matplotlib()
    return ext


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise SpecError(MISSING) from None
    return matplotlib


def _figure(width=7.0, height=4.5, ncols=1):
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def save(fig, path: str, ext: str | None = None) -> None:
    """Write the figure atomically (nothing half-written on error)."""
    ext = ext or check_plot_file(path)
    import warnings

    metadata = {"Date": None} if ext in ("svg", "pdf") else None
    # matplotlib warns (UserWarning on stderr) when long labels leave no room for the axes and
    # when a font lacks a glyph; the figure is still written, and a CLI prints no warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_atomic(path, lambda handle: fig.savefig(handle, format=ext, metadata=metadata,
                                                      dpi=120), binary=True)  # fmt: skip


def label(text) -> str:
    """A label from a spec as matplotlib text: escaped (no mathtext) and cut to
    MAX_PLOT_LABEL_CHARS characters."""
    text = str(text)
    if len(text) > MAX_PLOT_LABEL_CHARS:
        text = text[: MAX_PLOT_LABEL_CHARS - 3] + "..."
    return mathtext(text)


def _log_if_wide(ax, xs, ys):
    xs = [x for x in xs if x and x > 0]
    ys = [y for y in ys if y and y > 0]
    if xs and max(xs) > 20 * min(xs):
        ax.set_xscale("log")
    if ys and max(ys) > 20 * min(ys):
        ax.set_yscale("log")


def plot_compare(records, path: str, ext: str | None = None) -> None:
    """MACs against params, one labelled point per network."""
    fig, (ax,) = _figure()
    # a network whose params or MACs are unknown has no place on the axes (archcost.unknown)
    missing = [r["network"] for r in records if r["params"] is None or r["macs"] is None]
    records = [r for r in records if r["params"] is not None and r["macs"] is not None]
    xs = [r["params"] for r in records]
    ys = [r["macs"] for r in records]
    if missing:
        ax.text(0.01, 0.01, label("not drawn (params or MACs unknown): " + ", ".join(missing)),
                transform=ax.transAxes, fontsize=7)  # fmt: skip
    ax.scatter(xs, ys, zorder=3)
    for rec, x, y in zip(records, xs, ys, strict=True):
        ax.annotate(label(rec["network"]), (x, y), textcoords="offset points", xytext=(5, 4),
                    fontsize=8)  # fmt: skip
    _log_if_wide(ax, xs, ys)
    ax.set_xlabel("parameters")
    ax.set_ylabel("MACs (multiply-accumulates)")
    ax.set_title("MACs vs parameters")
    ax.margins(x=0.25, y=0.15)
    ax.grid(True, which="both", alpha=0.3)
    save(fig, path, ext)


def plot_sweep(points, axes: list[str], path: str, ext: str | None = None,
               spec: str = "") -> None:  # fmt: skip
    """Params and MACs along the first swept parameter, one curve per value of the others."""
    fig, (ax_p, ax_m) = _figure(width=10.0, ncols=2)
    x_name = axes[0]
    groups: dict = {}
    for point in points:
        if point.get("error"):
            continue
        key = tuple((a, point["set"][a]) for a in axes[1:])
        groups.setdefault(key, []).append(point)
    for key, pts in groups.items():
        pts.sort(key=lambda p: p["set"][x_name])
        xs = [float(p["set"][x_name]) for p in pts]
        name = label(", ".join(f"{a}={_num(v)}" for a, v in key)) or None
        nan = float("nan")  # an unknown count (archcost.unknown) is a gap, never 0
        ax_p.plot(xs, [nan if p["params"] is None else p["params"] for p in pts], marker="o",
                  markersize=3, label=name)  # fmt: skip
        ax_m.plot(xs, [nan if p["macs"] is None else p["macs"] for p in pts], marker="o",
                  markersize=3, label=name)  # fmt: skip
    for ax, what in ((ax_p, "parameters"), (ax_m, "MACs")):
        ax.set_xlabel(label(x_name))
        ax.set_ylabel(what)
        ax.grid(True, alpha=0.3)
        if len(groups) > 1 and len(groups) <= 12:
            ax.legend(fontsize=7)
    fig.suptitle(label(f"{spec}: sweep over {', '.join(axes)}" if spec else "sweep"))
    save(fig, path, ext)


def plot_table(net, path: str, ext: str | None = None, batch: int = 1, nbytes: int = 4) -> None:
    """Per-row bars: MACs and activation memory, in the spec's row order (top to bottom)."""
    rows = list(net.rows)
    if len(rows) > MAX_PLOT_ROWS:  # the figure grows with the rows: 20,000 rows took 4 GB
        raise SpecError(f"--plot draws at most {MAX_PLOT_ROWS:,} rows (MAX_PLOT_ROWS); "
                        f"{label(net.name)} has {len(rows):,}")  # fmt: skip
    height = max(3.0, 0.22 * len(rows) + 1.2)
    fig, (ax_m, ax_a) = _figure(width=11.0, height=height, ncols=2)
    labels = [label(r.id + (" (train)" if r.train_only else "")) for r in rows]
    pos = list(range(len(rows)))
    macs = [r.macs for r in rows]
    ax_m.barh(pos, [m or 0 for m in macs], color="tab:blue")
    for y, m in zip(pos, macs, strict=True):
        if m is None:  # unknown (archcost.unknown): no bar, a '?'
            ax_m.text(0, y, " ? (unknown)", va="center", fontsize=7)
    ax_a.barh(pos, [r.activations * batch * nbytes / 2**20 for r in rows], color="tab:orange")
    ax_m.set_yticks(pos, labels, fontsize=7)
    ax_a.set_yticks(pos, [""] * len(rows))
    for ax in (ax_m, ax_a):
        ax.invert_yaxis()
        ax.grid(True, axis="x", alpha=0.3)
    ax_m.set_xlabel("MACs")
    ax_a.set_xlabel(f"activation memory (MiB, batch {batch}, {nbytes} B/element)")
    fig.suptitle(label(f"{net.title} ({net.name}): per layer"))
    save(fig, path, ext)


def _num(value) -> str:
    from fractions import Fraction

    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"
    return str(value)


def mac_bars(net, width: int | None = None) -> str:
    """Per-row MAC bars drawn with rich (terminal text), largest row = full width."""
    import io
    import sys

    from rich import box
    from rich.bar import Bar
    from rich.console import Console
    from rich.table import Table

    from .report import human

    rows = list(net.rows)
    if len(rows) > MAX_RICH_ROWS:  # rich lays out every bar: 50,000 rows ran for minutes
        raise SpecError(f"--bars draws at most {MAX_RICH_ROWS:,} rows (MAX_RICH_ROWS); "
                        f"{rich_markup(net.name)} has {len(rows):,}")  # fmt: skip
    total = net.total("macs") or 1  # None: unknown (archcost.unknown), shares too
    largest = max((r.macs for r in rows if r.macs is not None), default=0) or 1
    tty = sys.stdout.isatty()
    console = Console(file=io.StringIO(), width=width or (None if tty else 120),
                      force_terminal=tty, color_system="auto" if tty else None)  # fmt: skip
    table = Table(title=rich_markup(f"{net.title} ({net.name}): MACs per layer"), box=box.SIMPLE_HEAD,
                  title_justify="left", header_style="bold")  # fmt: skip
    table.add_column("layer")
    table.add_column("MACs", justify="right")
    table.add_column("share", justify="right")
    table.add_column("", ratio=1, min_width=10)
    for r in rows:
        known = r.macs is not None and net.total("macs") is not None
        table.add_row(rich_markup(r.id + (" (train)" if r.train_only else "")), human(r.macs),
                      f"{100 * r.macs / total:.1f}%" if known else "?",
                      Bar(largest, 0, r.macs or 0, color="cyan"))  # fmt: skip
    table.add_row("total", human(net.total("macs")),
                  "100.0%" if net.total("macs") is not None else "?", "", style="bold")
    console.print(table)
    return console.file.getvalue()
