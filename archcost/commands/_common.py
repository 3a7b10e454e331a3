"""Pieces the torch commands share. Imports nothing heavy: torch is loaded by
:func:`torch_backend`, only when a command runs."""

from __future__ import annotations

import sys
from fractions import Fraction

import click

from ..errors import TORCH_MISSING, SpecError
from ..limits import MAX_DIM


def torch_backend():
    """The torch backend module, or a SpecError that says how to install torch."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SpecError(TORCH_MISSING) from None
    from .. import torch_backend as backend

    return backend


class Command(click.Command):
    """A click command that, run on its own (``command.main()``, CliRunner), prints a
    SpecError as ``error: ...`` on stderr and exits 2, as the main CLI does for its commands.

    Registered under the main CLI, the group's ``main`` runs instead and the SpecError
    reaches the main CLI's handler unchanged.
    """

    def main(self, *args, standalone_mode=True, **kwargs):
        try:
            return super().main(*args, standalone_mode=standalone_mode, **kwargs)
        except SpecError as err:
            if not standalone_mode:
                raise
            click.echo(f"error: {err}", err=True)
            sys.exit(2)


def parse_batches(text: str) -> list[int]:
    try:
        batches = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"expected sizes like 1,8,64, got {text!r}",
                                 param_hint="'--batch'") from None  # fmt: skip
    if not batches or any(b < 1 or b > MAX_DIM for b in batches):
        raise click.BadParameter(f"batch sizes must be whole numbers from 1 to {MAX_DIM:,}, "
                                 f"got {text[:40]!r}",
                                 param_hint="'--batch'")  # fmt: skip
    return batches


def jsonable(value):
    """Spec values for JSON: exact Fractions as ints where whole, else as 'p/q' strings."""
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def shape_text(shape) -> str:
    if shape is None:
        return "-"
    return "x".join(str(d) for d in shape)
