"""Options shared by several verbs, so each means the same everywhere."""

from __future__ import annotations

import click

from .errors import SpecError
from .limits import MAX_EXPR_CHARS
from .report import FORMATS
from .safeio import number_text

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1,
               "fp32": 4, "fp16": 2, "bf16": 2}  # fmt: skip


def format_option(choices=FORMATS, default="text"):
    return click.option("--format", "fmt", type=click.Choice(choices), default=default,
                        show_default=True, help="Output format.")  # fmt: skip


def output_option(f):
    return click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
                        help="Write to this file instead of stdout (atomically).")(f)  # fmt: skip


def set_option(f):
    return click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                        help="Set a spec parameter, e.g. --set alpha=0.5 --set resolution=160.")(f)  # fmt: skip


def batch_option(f):
    return click.option("--batch", type=click.IntRange(1, 1 << 20), default=1, show_default=True,
                        help="Batch size for activation bytes.")(f)  # fmt: skip


def dtype_option(f):
    return click.option("--dtype", type=click.Choice(sorted(DTYPE_BYTES)), default="float32",
                        show_default=True, help="Element type for activation bytes.")(f)  # fmt: skip


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
