"""Options shared by several verbs, so each means the same everywhere."""

from __future__ import annotations

import functools
import os
import sys

import click

from .errors import SpecError
from .limits import MAX_EXPR_CHARS
from .report import FORMATS
from .safeio import number_text

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1,
               "fp32": 4, "fp16": 2, "bf16": 2}  # fmt: skip
# every command accepts the same names; the short ones mean the long ones
DTYPE_NAMES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16", "fp64": "float64",
               "half": "float16", "float": "float32", "double": "float64"}  # fmt: skip
DTYPES = ("float32", "float16", "bfloat16", "float64", "int8")

# one rule for --device on every command: cpu unless told otherwise (every machine has one);
# each command prints the device it assumed
DEFAULT_DEVICE = "cpu"


def format_option(choices=FORMATS, default="text"):
    return click.option("--format", "fmt", type=click.Choice(choices), default=default,
                        show_default=True, help="Output format.")  # fmt: skip


def output_option(f):
    return click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
                        help="Write to this file instead of stdout (atomically).")(f)  # fmt: skip


def set_option(f):
    return click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                        help="Set a spec parameter, e.g. --set alpha=0.5 --set resolution=160.")(f)  # fmt: skip


def resolution_option(f):
    """``--resolution N``: short for ``--set resolution=N`` (after any --set), on every command
    that takes --set. Wraps the command so its ``sets`` gain the value."""

    @functools.wraps(f)
    def run(*args, resolution=None, **kwargs):
        if resolution is not None:
            kwargs["sets"] = (*kwargs.get("sets", ()), f"resolution={resolution}")
        return f(*args, **kwargs)

    return click.option("--resolution", type=click.IntRange(1), default=None, metavar="N",
                        help="Input resolution: short for --set resolution=N.")(run)  # fmt: skip


def batch_option(f):
    return click.option("--batch", type=click.IntRange(1, 1 << 20), default=1, show_default=True,
                        help="Batch size for activation bytes.")(f)  # fmt: skip


def _dtype_name(ctx, param, value):
    if isinstance(value, tuple):
        return tuple(DTYPE_NAMES.get(v.lower(), v.lower()) for v in value)
    return None if value is None else DTYPE_NAMES.get(value.lower(), value.lower())


def dtype_choice(allowed=DTYPES, default="float32", multiple=False, help="Element type."):
    """``--dtype`` with the same names everywhere (fp32/fp16/bf16 for float32/float16/bfloat16),
    limited to ``allowed``; the command receives the long name."""
    names = [*allowed, *[a for a, t in DTYPE_NAMES.items() if t in allowed]]
    return click.option("--dtype", "dtypes" if multiple else "dtype", multiple=multiple,
                        type=click.Choice(names, case_sensitive=False),
                        default=None if multiple else default, show_default=not multiple,
                        callback=_dtype_name, help=help)  # fmt: skip


def dtype_option(f):
    return dtype_choice(help="Element type for activation bytes (fp32, fp16, bf16 are "
                             "short names).")(f)  # fmt: skip


def device_option(choices=("cpu", "cuda"), help="Device."):
    """``--device``: cpu by default on every command (DEFAULT_DEVICE); output names it."""
    return click.option("--device", type=click.Choice(choices), default=DEFAULT_DEVICE,
                        show_default=True, help=help)  # fmt: skip


def exact_option(f):
    return click.option("--exact", is_flag=True,
                        help="Exact integers instead of human units (6.8M).")(f)  # fmt: skip


def exact_always(f):
    """``--exact`` on a command whose counts are always exact integers (table), so the same
    command line works on table and compare."""

    @functools.wraps(f)
    def run(*args, exact=False, **kwargs):
        return f(*args, **kwargs)

    return click.option("--exact", is_flag=True, help="Accepted for symmetry with compare: "
                        "this command's counts are always exact integers.")(run)  # fmt: skip


def printed_output(native=("text", "json"), records="rows", progress=None):
    """``--format text|json|csv|md|latex`` and ``-o FILE`` for a command that prints by itself
    in only the ``native`` formats and takes no ``output``.

    The command runs with its stdout captured; -o writes what it printed atomically (nothing
    when it fails with an error). A format it does not print natively is made from its JSON:
    the list under ``records`` becomes the table (nested fields as ``a.b`` columns), the
    other scalars become notes. ``progress``: a message shown with a spinner on stderr while
    the command runs (on a terminal only), for commands that are otherwise silent for seconds.
    """

    def wrap(f):
        @functools.wraps(f)
        def run(*args, fmt="text", output=None, **kwargs):
            import contextlib
            import io

            from .report import emit

            asked = fmt
            inner = fmt if fmt in native else "json"
            capture = output not in (None, "-") or inner != asked
            status = contextlib.nullcontext()
            from .report import have_rich

            if progress and sys.stderr.isatty() and have_rich():
                from rich.console import Console

                status = Console(stderr=True).status(progress)
            # one table style: rich tables are 200 columns wide off a terminal, as report's are
            wide = not sys.stdout.isatty() or capture
            saved = os.environ.get("COLUMNS")
            if wide and saved is None:
                os.environ["COLUMNS"] = "200"
            buffer = io.StringIO()
            try:
                with status, contextlib.redirect_stdout(buffer) if capture else (
                        contextlib.nullcontext()):  # fmt: skip
                    f(*args, fmt=inner, **kwargs)
            except click.exceptions.Exit:
                if capture:
                    _write(buffer.getvalue(), asked, inner, records, output, emit)
                raise
            finally:
                if wide and saved is None:
                    os.environ.pop("COLUMNS", None)
            if capture:
                _write(buffer.getvalue(), asked, inner, records, output, emit)

        run = output_option(run)
        return format_option()(run)

    return wrap


def _write(text, asked, inner, records, output, emit):
    if asked != inner:
        text = _from_json(text, asked, records)
    emit(text, output)


def _flat(value, prefix="", out=None):
    out = {} if out is None else out
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(v, f"{prefix}{k}.", out)
    elif isinstance(value, list):
        out[prefix[:-1]] = "x".join(str(v) for v in value) if all(
            isinstance(v, (int, float, str)) for v in value) else str(len(value))
    else:
        out[prefix[:-1]] = value
    return out


def _from_json(text, fmt, records):
    import json

    from .report import Column, render

    data = json.loads(text)
    rows = [_flat(r) for r in data.get(records) or []] if isinstance(data, dict) else []
    keys = list(dict.fromkeys(k for r in rows for k in r))
    columns = [Column(k, k, numeric=all(isinstance(r.get(k), (int, float)) and
                                        not isinstance(r.get(k), bool) for r in rows))
               for k in keys]  # fmt: skip
    scalars = {k: v for k, v in _flat({k: v for k, v in data.items() if k != records}).items()}
    title = str(data.get("network", "")) if isinstance(data, dict) else ""
    notes = [f"{k}: {v}" for k, v in scalars.items()] if fmt == "md" else []
    if not columns:
        columns = [Column("key", "key", numeric=False), Column("value", "value", numeric=False)]
        rows = [{"key": k, "value": v} for k, v in scalars.items()]
    return render(columns, rows, fmt, title=title, notes=notes)


def train_option(f):
    return click.option("--train", is_flag=True,
                        help="Include training-only branches (e.g. auxiliary classifiers).")(f)  # fmt: skip


def parse_sets(sets) -> dict:
    """['alpha=0.5', 'resolution=160'] -> {'alpha': '0.5', 'resolution': '160'} (checked later)."""
    values = {}
    for item in sets:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise SpecError(f"--set {item!r}: expected KEY=VALUE, e.g. --set alpha=0.5")
        if not key.isidentifier():
            raise SpecError(f"--set {item!r}: {key!r} is not a parameter name")
        values[key] = number_text(value, f"--set {key}", MAX_EXPR_CHARS)
    return values


def fold_bn_option(f):
    return click.option("--fold-bn", "fold_bn", is_flag=True,
                        help="Fold each batch norm into the conv/linear before it (inference): "
                        "BN gone, the conv gains a bias where it had none.")(f)  # fmt: skip


def maybe_fold(network, fold_bn: bool):
    """The network itself, or its batch-norm-folded copy (archcost.fold, static)."""
    if not fold_bn:
        return network
    from .fold import fold_bn as fold

    return fold(network)


def convention_option(f):
    """--convention NAME: count MACs as another tool reports them (archcost.conventions).

    For table and compare alike; the value is a preset name or None (archcost's own MACs).
    """
    from .conventions import NAMES  # light: no torch, no sympy

    return click.option("--convention", type=click.Choice(NAMES), default=None,
                        help="Count the MACs column as this tool reports it for the "
                             "torchvision-style model (ptflops, ptflops-aten, fvcore, thop, "
                             "torchinfo, torch's FlopCounterMode; archcost = own MACs). "
                             "See BENCHMARKS.md.")(f)  # fmt: skip
