"""Measurement helpers shared by the benchmarks and the tests that check against torch.

Benchmark code, not part of archcost (which never imports torch on its static path).
"""

from __future__ import annotations

import json


def alloc_peak(torch, model, x) -> int:
    """The largest sum of live CPU allocations torch records during one inference pass of
    ``model`` on ``x`` (torch.profiler with profile_memory; one warm-up pass first; ``x``
    exists before the pass, so it is not counted)."""
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode():
        model(x)
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            model(x)
    return record_peak(prof)


def record_peak(prof) -> int:
    """The largest sum of live allocations in a torch.profiler(profile_memory=True) record."""
    live = peak = 0
    events = prof.profiler.kineto_results.events()
    for _, nbytes in sorted((e.start_ns(), e.nbytes()) for e in events if e.name() == "[memory]"):
        live += nbytes
        peak = max(peak, live)
    return peak


def write_results(out: str, data: dict, lines: list) -> None:
    """``out``.json (the data) and ``out``.md (the lines), and the lines on stdout."""
    with open(out + ".json", "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
    with open(out + ".md", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
