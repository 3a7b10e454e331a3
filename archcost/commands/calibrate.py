"""``archcost calibrate``: measure this machine with torch and write a device profile."""

from __future__ import annotations

import click

from ..latency import calibrate, parse_profile, profile_yaml
from ..options import device_option, dtype_choice, output_option
from ..report import emit


@click.command("calibrate")
@device_option()
@dtype_choice(("float32", "bfloat16", "float16"), multiple=True,
              help="Dtypes to measure (repeatable; default: all three).")
@click.option("--threads", type=click.IntRange(1, 1024), help="torch.set_num_threads (CPU).")
@click.option("--quick", is_flag=True, help="Small sizes: fast, rough numbers.")
@click.option("--clock", type=click.Choice(("wall", "cpu")), default="wall", show_default=True,
              help="cpu: time with the process's CPU time (one thread on a busy machine).")
@output_option
def command(device, dtypes, threads, quick, clock, output):
    """Measure achieved GEMM/convolution MAC/s per dtype, copy bandwidth, pooling rate and
    per-layer overhead with torch on this machine, and write a profile YAML for
    `archcost predict --profile FILE`. Needs torch (pip install 'archcost[torch]')."""
    from ..latency import _torch

    torch = _torch()
    if threads:
        torch.set_num_threads(threads)

    def progress(message):
        click.echo(message, err=True)

    doc = calibrate(device, tuple(dtypes) or ("float32", "bfloat16", "float16"), quick, progress,
                    clock)
    text = profile_yaml(doc)
    parse_profile(doc, output or "<calibrated>")  # what we write must load back
    emit(text, output)
