"""``archcost bench SPEC``: time real forward passes of the network built in torch.

CPU defaults (batch 1,8; 1 warm-up + 5 timed passes; a 45 s budget) finish in under a minute
on 2 cores; on GPU batch 1,8,64, 3 + 10 passes, no budget.

One configuration per batch size: warm-up passes, then timed repeats under
torch.inference_mode (CUDA events on GPU; perf_counter around a synchronised pass on CPU).
Reports median, min and p90 latency, images/s, achieved TFLOP/s (2 x static MACs x batch /
median time) and peak memory (GPU: max_memory_allocated above the weights and input; CPU:
peak RSS growth of the process, VmHWM reset through /proc/self/clear_refs). An out-of-memory
error marks that configuration "oom" and the next one runs. Exit 1 if a configuration failed
for another reason.
"""

from __future__ import annotations

import json

import click

from ..options import device_option, dtype_choice, parse_sets, printed_output, set_option
from ..safeio import rich_markup
from ._common import Command, parse_batches, torch_backend
from ._memguard import check_memory, max_memory_option

RESULT_KEYS = ("network", "device", "dtype", "batch", "median_ms", "min_ms", "p90_ms",
               "throughput", "tflops", "peak_memory_bytes")  # fmt: skip


def _mib(n):
    return "-" if n is None else f"{n / 2**20:,.1f}"


def _num(v, fmt):
    return "-" if v is None else format(v, fmt)


def print_text(out):
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    env = out["environment"]
    console.print(f"[bold]{rich_markup(out['network'])}[/bold]: {out['macs']:,} MACs per image, "
                  f"{out['params']:,} params")  # fmt: skip
    console.print(f"device: {env['device_name']}; torch {env['torch']}; {env['threads']} threads; "
                  f"{out['dtype']}{', channels_last' if out['channels_last'] else ''}"
                  f"{', torch.compile' if out['compile'] else ''}; "
                  f"{out['warmup']} warm-up + {out['repeat']} timed passes")  # fmt: skip
    table = Table()
    for name in ("batch", "median ms", "min ms", "p90 ms", "images/s", "TFLOP/s",
                 "peak mem MiB", "status"):  # fmt: skip
        table.add_column(name, justify="right")
    for r in out["results"]:
        status = r["status"] if r["status"] != "error" else f"error: {r.get('error', '')}"
        status = rich_markup(status)
        table.add_row(str(r["batch"]), _num(r["median_ms"], ".2f"), _num(r["min_ms"], ".2f"),
                      _num(r["p90_ms"], ".2f"), _num(r["throughput"], ",.1f"),
                      _num(r["tflops"], ".4f"), _mib(r["peak_memory_bytes"]), status)  # fmt: skip
    console.print(table)
    console.print(f"peak memory: {env['memory_method']}; weights and buffers: "
                  f"{_mib(env['weights_bytes'])} MiB")  # fmt: skip
    short = [r for r in out["results"] if r["status"] == "skipped"
             or (r["status"] == "ok" and r["passes"] < out["repeat"])]  # fmt: skip
    if short:
        console.print(f"[yellow]time budget of {out['budget_s']:g} s spent[/yellow]: "
                      + ", ".join(f"batch {r['batch']}: "
                                  + (f"{r['passes']} timed pass(es)" if r["status"] == "ok"
                                     else "skipped") for r in short)
                      + " (--budget, --repeat, --batch)")  # fmt: skip


@click.command("bench", cls=Command)
@click.argument("spec")
@device_option()
@click.option("--batch", "batch", default=None, metavar="N[,N...]",
              help="Batch sizes, one configuration each [default: 1,8 on cpu; 1,8,64 on "
                   "cuda].")  # fmt: skip
@dtype_choice(("float32", "bfloat16", "float16"))
@click.option("--channels-last", is_flag=True, help="Weights and input in channels_last layout.")
@click.option("--compile", "compile_", is_flag=True, help="Run through torch.compile.")
@click.option("--warmup", type=click.IntRange(0), default=None,
              help="Untimed passes first [default: 1 on cpu, 3 on cuda].")
@click.option("--repeat", type=click.IntRange(1), default=None,
              help="Timed passes [default: 5 on cpu, 10 on cuda].")
@click.option("--budget", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS",
              help="Stop passes once this is spent; configurations not started are skipped "
                   "[default: 45 on cpu, none on cuda].")  # fmt: skip
@set_option
@printed_output(native=("text", "json"), records="results")
@max_memory_option
def command(spec, device, batch, dtype, channels_last, compile_, warmup, repeat, budget, sets,
            fmt, max_memory):  # fmt: skip
    """Time SPEC's forward pass in torch (inference mode) at each batch size.

    JSON: {network, macs, params, environment: {device_name, torch, threads, memory_method,
    ...}, results: [{network, device, dtype, batch, median_ms, min_ms, p90_ms, throughput,
    tflops, peak_memory_bytes, status, passes}]}; status is ok, oom, error or skipped (the
    time budget was spent before it started).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..spec import build

    backend = torch_backend()
    cpu = device == "cpu"
    # CPU defaults finish in under a minute on 2 cores (the budget caps a large network)
    batches = parse_batches(batch if batch is not None else ("1,8" if cpu else "1,8,64"))
    warmup = warmup if warmup is not None else (1 if cpu else 3)
    repeat = repeat if repeat is not None else (5 if cpu else 10)
    budget = budget if budget is not None else (45.0 if cpu else None)
    backend.device(device)  # a SpecError for --device cuda without a GPU
    net = build(spec, params=parse_sets(sets) or None)
    from ..unknown import refuse

    refuse(net, "be timed")  # torch cannot run an op archcost does not know
    check_memory(net, max(batches), 4 if dtype == "float32" else 2, max_memory)
    per_config = warmup + repeat
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=Console(stderr=True), transient=True) as bar:  # fmt: skip
        task = bar.add_task(f"bench {net.name}", total=per_config * len(batches))
        done = {"n": 0}

        def progress(step):
            if step is None:  # a configuration ended early (OOM/error): skip its remainder
                step = per_config - done["n"] % per_config
            done["n"] += step
            bar.update(task, completed=done["n"])

        env, results = backend.bench(net, device, batches, dtype, channels_last, compile_,
                                     warmup, repeat, progress, budget)  # fmt: skip
    out = {"network": net.name, "macs": net.total("macs"), "params": net.total("params"),
           "dtype": dtype, "channels_last": channels_last, "compile": compile_,
           "warmup": warmup, "repeat": repeat, "budget_s": budget, "environment": env,
           "results": results}  # fmt: skip
    if fmt == "json":
        click.echo(json.dumps(out, indent=2))
    else:
        print_text(out)
    failed = any(r["status"] == "error" for r in results)
    click.get_current_context().exit(1 if failed else 0)
