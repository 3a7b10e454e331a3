"""Shared helpers of the benchmark scripts: timing whole processes, machine facts, output.

A measured process is started with ``subprocess.Popen`` and reaped with ``os.wait4``, which
returns that one child's resource usage: wall time (perf_counter around start and reap),
CPU time (user + system) and peak resident memory (``ru_maxrss``, KiB on Linux). Nothing is
installed or downloaded here.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")
PY = sys.executable


def env() -> dict:
    """The environment for measured processes: this checkout first on the path."""
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def run_once(cmd, timeout=None, stdin=None) -> dict:
    """Run ``cmd`` to completion; wall and CPU seconds, peak RSS (MiB), exit status."""
    errfile = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL,
                            stderr=errfile, stdin=stdin)  # fmt: skip
    timed_out = False
    if timeout is not None:
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.01)
    else:
        pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    errfile.seek(0)
    err = errfile.read().decode(errors="replace")
    errfile.close()
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024, "rc": proc.returncode, "timed_out": timed_out,
            "stderr": err[-2000:]}  # fmt: skip


def summarize(runs: list[dict]) -> dict:
    ok = [r for r in runs if r["rc"] == 0 and not r["timed_out"]]
    if not ok:
        last = runs[-1] if runs else {}
        return {"runs": len(runs), "ok": 0, "timed_out": any(r["timed_out"] for r in runs),
                "error": last.get("stderr", "")[-500:]}  # fmt: skip
    walls = [r["wall"] for r in ok]
    cpus = [r["cpu"] for r in ok]
    return {"runs": len(runs), "ok": len(ok),
            "wall_min": min(walls), "wall_median": statistics.median(walls),
            "cpu_min": min(cpus), "cpu_median": statistics.median(cpus),
            "rss_mib_max": max(r["rss_mib"] for r in ok)}  # fmt: skip


def versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("archcost", "click", "PyYAML", "rich", "sympy", "torch", "ptflops", "fvcore",
                 "thop", "torchinfo", "numpy", "matplotlib"):  # fmt: skip
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "loadavg_at_start": load, "versions": versions()}  # fmt: skip


def compile_bytecode() -> None:
    """Compile archcost and the benchmark modules to bytecode first, as ``pip install`` does,
    so no measured process pays for compiling source (PYTHONDONTWRITEBYTECODE may be set)."""
    subprocess.run([PY, "-m", "compileall", "-q", "archcost", "benchmarks"], cwd=ROOT,
                   check=True, env={**env(), "PYTHONDONTWRITEBYTECODE": ""})  # fmt: skip


def has_command(verb: str) -> bool:
    r = subprocess.run([PY, "-m", "archcost", verb, "--help"], cwd=ROOT, env=env(),
                       capture_output=True)  # fmt: skip
    return r.returncode == 0


def builtin_spec(name: str) -> bool:
    return os.path.isfile(os.path.join(ROOT, "specs", name + ".yaml"))


def relative_paths(text: str) -> str:
    """Profiles name files by absolute path: show this checkout's and site-packages' short."""
    import re
    import sysconfig

    text = text.replace(ROOT + os.sep, "")
    for key in ("purelib", "platlib", "stdlib"):
        text = text.replace(sysconfig.get_paths()[key] + os.sep, f"<{key}>/")
    return re.sub(r"/\S*/site-packages/", "<site-packages>/", text)


def write_json(name: str, data) -> str:
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name)
    with open(path, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    return path


def write_text(name: str, text: str) -> str:
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name)
    with open(path, "w") as handle:
        handle.write(text)
    return path


def fmt_s(x) -> str:
    if x is None:
        return "-"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def md_table(headers, rows) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"
