"""Roofline latency: per-layer arithmetic intensity and predicted time on a device profile.

Static (no torch) except :func:`calibrate`, which imports torch when it is called.

Per node at batch B and element size b bytes:

* **bytes moved** = what the layer's kernel(s) read and write: input(s) + output + parameters
  (+ BN running statistics) at the dtype. Elementwise activations read and write their tensor
  (in place or not); ``concat`` reads its inputs and writes its output; ``flatten`` and
  ``slice`` are views and inference-mode ``dropout`` returns its input (0 bytes). Max pooling
  also writes its int64 indices (torch computes them in ``max_pool2d``). LRN is what
  ``F.local_response_norm`` runs: seven elementwise/pooling kernels, about 15 passes over the
  tensor (8 reads + 7 writes; the channel padding adds ``size - 1`` channels to two of them).
* **arithmetic intensity** = MACs / bytes moved (MAC per byte).
* compute time = MACs * B / (peak MAC/s for the dtype * compute efficiency);
  memory time = bytes / (bandwidth * memory efficiency); roofline time = max of the two.
  A layer is *memory-bound* when its memory time is the larger; layers without MACs (pooling,
  BN, activations, add, concat) always are, except that a profile may set
  ``window_ops_per_s``: pooling and LRN then take max(memory time, other ops / that rate), and
  are compute-bound when the ops are slower (a CPU's windowed reductions are; GPUs' are not,
  so the data-sheet profiles leave it out).
* **per-layer overhead** (the profile's ``layer_overhead_s``: framework dispatch and kernel
  launch): on a CPU profile (``kind: cpu``, synchronous) it is added to every layer; on a GPU
  profile (``kind: cuda``, kernels queued asynchronously) a layer takes at least that long:
  max(roofline, overhead). Every node is one module call in the torch backend, so each pays it
  (a flatten too).
* total = sum over nodes (layers run one after another; no overlap, no fusion).

Profiles are YAML (``specs/profiles/NAME.yaml`` for built-in names, or a path), loaded with
the safe loader of :mod:`archcost.yamlio` and validated with file:line errors::

    name: h100
    title: NVIDIA H100 SXM5 80GB
    kind: cuda                  # cuda | cpu
    source: where the numbers come from
    peak_macs_per_s:            # dense MAC/s (= FLOP/s / 2) per dtype
      bfloat16: 494.5e+12
    linear_peak_macs_per_s:     # optional: linear layers (matmuls) where they differ
      float32: 33.5e+12
    grouped_peak_macs_per_s:    # optional: grouped/depthwise convolutions (groups > 1)
      float32: 1.0e+10
    memory_bandwidth: 3.35e+12  # bytes/s
    efficiency: {compute: 1.0, memory: 1.0}   # optional, in (0, 1]
    layer_overhead_s: 0         # optional
    window_ops_per_s: 3.0e+8    # optional: pooling/LRN ops per second
    measured: {...}             # optional, free-form (what calibrate measured)

Numbers are YAML numbers or strings that Python's float() reads ("494.5e12": YAML 1.1 reads
an exponent without a sign as a string).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .errors import TORCH_MISSING, SpecError
from .layers import ACTIVATIONS, elements
from .options import DTYPE_BYTES
from .yamlio import LineDict, load_file

INDEX_BYTES = 8
WINDOW_OPS = ("maxpool", "avgpool", "lrn")  # sliding-window layers: limited by window_ops_per_s
KINDS = ("cuda", "cpu")
PROFILE_KEYS = {"name", "title", "kind", "source", "notes", "peak_macs_per_s",
                "linear_peak_macs_per_s", "grouped_peak_macs_per_s", "memory_bandwidth",
                "window_ops_per_s", "efficiency",
                "layer_overhead_s", "measured"}  # fmt: skip
REQUIRED_KEYS = ("kind", "peak_macs_per_s", "memory_bandwidth")
PROFILE_DTYPES = ("float32", "bfloat16", "float16", "float64", "int8")


# ---------------------------------------------------------------- profiles


@dataclass
class Profile:
    name: str
    title: str
    kind: str
    source: str
    peak_macs: dict  # dtype -> MAC/s
    linear_peak_macs: dict  # dtype -> MAC/s (overrides peak_macs for linear layers)
    bandwidth: float  # bytes/s
    grouped_peak_macs: dict = field(default_factory=dict)  # dtype -> MAC/s (convs, groups > 1)
    compute_efficiency: float = 1.0
    memory_efficiency: float = 1.0
    layer_overhead: float = 0.0  # seconds
    ops_rate: float | None = None  # window_ops_per_s: pooling/LRN ops per second (None: no limit)
    file: str | None = None
    measured: dict = field(default_factory=dict)

    def macs_per_s(self, dtype: str, op: str, grouped: bool = False) -> float:
        table = self.peak_macs
        if op == "linear" and dtype in self.linear_peak_macs:
            table = self.linear_peak_macs
        elif grouped and dtype in self.grouped_peak_macs:
            table = self.grouped_peak_macs
        if dtype not in table:
            have = ", ".join(sorted(self.peak_macs)) or "none"
            raise SpecError(f"profile '{self.name}' has no peak for dtype {dtype} "
                            f"(it has: {have})", self.file)  # fmt: skip
        return table[dtype] * self.compute_efficiency

    @property
    def bytes_per_s(self) -> float:
        return self.bandwidth * self.memory_efficiency


def profiles_dir() -> str:
    from .spec import specs_dir

    return os.path.join(specs_dir(), "profiles")


def builtin_profiles() -> list[str]:
    folder = profiles_dir()
    if not os.path.isdir(folder):
        return []
    return sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".yaml"))


def resolve_profile(arg: str) -> str:
    if arg.endswith((".yaml", ".yml")) or "/" in arg or os.sep in arg or os.path.exists(arg):
        return arg
    path = os.path.join(profiles_dir(), arg + ".yaml")
    if os.path.isfile(path):
        return path
    import difflib

    names = builtin_profiles()
    close = difflib.get_close_matches(arg, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f" (built-in: {', '.join(names)})"
    raise SpecError(f"unknown device profile '{arg}'{hint}")


def _number(value, what, file, line, positive=True):
    if isinstance(value, bool):
        raise SpecError(f"{what}: expected a number, got {value!r}", file, line)
    if isinstance(value, str):
        try:
            value = float(value.replace("_", ""))
        except ValueError:
            raise SpecError(f"{what}: expected a number, got {value!r}", file, line) from None
    if not isinstance(value, (int, float)) or value != value or value in (float("inf"),
                                                                           float("-inf")):
        raise SpecError(f"{what}: expected a number, got {value!r}", file, line)
    if positive and value <= 0:
        raise SpecError(f"{what} must be greater than 0, got {value}", file, line)
    if not positive and value < 0:
        raise SpecError(f"{what} must not be negative, got {value}", file, line)
    return float(value)


def _line(doc, key):
    return doc.key_line(key) if isinstance(doc, LineDict) else None


def _peaks(doc, key, file):
    table = doc.get(key)
    if not isinstance(table, dict) or (not table and key == "peak_macs_per_s"):
        raise SpecError(f"'{key}' must be a mapping of dtype: MAC/s", file, _line(doc, key))
    out = {}
    for dtype, value in table.items():
        line = _line(table, dtype)
        if dtype not in PROFILE_DTYPES:
            raise SpecError(f"{key}: unknown dtype {dtype!r} (one of: "
                            f"{', '.join(PROFILE_DTYPES)})", file, line)  # fmt: skip
        out[dtype] = _number(value, f"{key}.{dtype}", file, line)
    return out


def parse_profile(doc, file: str, default_name: str = "") -> Profile:
    """Validate a loaded profile document; every error names the file and line."""
    if not isinstance(doc, dict):
        raise SpecError("a device profile must be a mapping (kind, peak_macs_per_s, "
                        "memory_bandwidth, ...)", file, getattr(doc, "line", 1))  # fmt: skip
    for key in doc:
        if key not in PROFILE_KEYS:
            import difflib

            close = difflib.get_close_matches(str(key), sorted(PROFILE_KEYS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise SpecError(f"unknown profile key '{key}'{hint}", file, _line(doc, key))
    for key in REQUIRED_KEYS:
        if key not in doc:
            raise SpecError(f"the profile needs '{key}'", file, getattr(doc, "line", 1))
    kind = doc["kind"]
    if kind not in KINDS:
        raise SpecError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}", file,
                        _line(doc, "kind"))  # fmt: skip
    peak = _peaks(doc, "peak_macs_per_s", file)
    linear = _peaks(doc, "linear_peak_macs_per_s", file) if "linear_peak_macs_per_s" in doc \
        else {}  # fmt: skip
    grouped = _peaks(doc, "grouped_peak_macs_per_s", file) if "grouped_peak_macs_per_s" in doc \
        else {}  # fmt: skip
    bandwidth = _number(doc["memory_bandwidth"], "memory_bandwidth", file,
                        _line(doc, "memory_bandwidth"))  # fmt: skip
    eff = doc.get("efficiency") or {}
    if not isinstance(eff, dict):
        raise SpecError("efficiency must be a mapping {compute: x, memory: y}", file,
                        _line(doc, "efficiency"))  # fmt: skip
    factors = {}
    for key, value in eff.items():
        line = _line(eff, key)
        if key not in ("compute", "memory"):
            raise SpecError(f"efficiency: unknown key '{key}' (compute, memory)", file, line)
        x = _number(value, f"efficiency.{key}", file, line)
        if x > 1:
            raise SpecError(f"efficiency.{key} must be in (0, 1], got {x}", file, line)
        factors[key] = x
    overhead = _number(doc.get("layer_overhead_s", 0), "layer_overhead_s", file,
                       _line(doc, "layer_overhead_s"), positive=False)  # fmt: skip
    ops_rate = None
    if doc.get("window_ops_per_s") is not None:
        ops_rate = _number(doc["window_ops_per_s"], "window_ops_per_s", file,
                           _line(doc, "window_ops_per_s"))
    measured = doc.get("measured") or {}
    if not isinstance(measured, dict):
        raise SpecError("measured must be a mapping", file, _line(doc, "measured"))
    name = str(doc.get("name") or default_name)
    return Profile(name=name, title=str(doc.get("title") or name), kind=kind,
                   source=str(doc.get("source") or ""), peak_macs=peak, linear_peak_macs=linear,
                   grouped_peak_macs=grouped,
                   bandwidth=bandwidth, compute_efficiency=factors.get("compute", 1.0),
                   memory_efficiency=factors.get("memory", 1.0), layer_overhead=overhead,
                   ops_rate=ops_rate, file=file, measured=dict(measured))  # fmt: skip


def load_profile(arg: str) -> Profile:
    """A built-in profile name (h100, a100, ...) or a path to a profile YAML."""
    path = resolve_profile(arg)
    from .spec import _short

    display = _short(path)
    doc = load_file(path, display)
    if doc is None:
        raise SpecError("the profile file is empty", display)
    name = os.path.basename(path).rsplit(".", 1)[0]
    return parse_profile(doc, display, name)


# ---------------------------------------------------------------- per-layer cost


def bytes_moved(node, batch: int, nbytes: int) -> int:
    """Bytes a node's kernels read and write (see the module docstring)."""
    op = node.op
    out = elements(node.shape) * batch
    ins = sum(elements(x.shape) for x in node.inputs) * batch
    weights = (node.params + node.buffers) * nbytes
    if op in ("flatten", "slice", "dropout"):  # views; dropout is the identity at inference
        return 0
    if op in ACTIVATIONS:
        return 2 * out * nbytes
    if op == "maxpool":
        return (ins + out) * nbytes + out * INDEX_BYTES
    if op == "lrn":
        c, h, w = node.inputs[0].shape
        padded = (c + node.fields["size"] - 1) * h * w * batch
        return (13 * out + 2 * padded) * nbytes
    return (ins + out) * nbytes + weights


@dataclass
class LayerTime:
    node: object
    macs: int  # at this batch
    bytes: int
    compute_s: float
    memory_s: float
    seconds: float

    @property
    def bound(self) -> str:
        return "compute" if self.compute_s > self.memory_s else "memory"

    @property
    def intensity(self) -> float | None:
        return self.macs / self.bytes if self.bytes else None


@dataclass
class Prediction:
    network: object
    profile: Profile
    batch: int
    dtype: str
    layers: list[LayerTime]

    @property
    def seconds(self) -> float:
        return sum(t.seconds for t in self.layers)

    @property
    def macs(self) -> int:
        return sum(t.macs for t in self.layers)

    @property
    def tflops(self) -> float:
        """Achieved FLOP/s (2 x MACs) of the whole pass, in TFLOP/s."""
        return 2 * self.macs / self.seconds / 1e12 if self.seconds else 0.0

    def memory_bound(self) -> list[LayerTime]:
        return [t for t in self.layers if t.bound == "memory" and t.seconds > 0]

    def rows(self) -> list[dict]:
        """Per spec row: summed times, MACs and bytes; bound = the larger summed component."""
        rows: dict = {}
        for t in self.layers:
            row = t.node.row
            key = row.id if row is not None else t.node.id
            rec = rows.setdefault(key, {"name": key, "row": row, "macs": 0, "bytes": 0,
                                        "compute_s": 0.0, "memory_s": 0.0, "seconds": 0.0})  # fmt: skip
            rec["macs"] += t.macs
            rec["bytes"] += t.bytes
            rec["compute_s"] += t.compute_s
            rec["memory_s"] += t.memory_s
            rec["seconds"] += t.seconds
        for rec in rows.values():
            rec["bound"] = "compute" if rec["compute_s"] > rec["memory_s"] else "memory"
            rec["intensity"] = rec["macs"] / rec["bytes"] if rec["bytes"] else None
        return list(rows.values())


def predict(network, profile: Profile, batch: int = 1, dtype: str = "float32") -> Prediction:
    nbytes = DTYPE_BYTES[dtype]
    bw = profile.bytes_per_s
    layers = []
    for node in network.nodes:
        macs = node.macs * batch
        moved = bytes_moved(node, batch, nbytes)
        if macs:
            grouped = node.op == "conv" and node.fields.get("g", 1) != 1
            compute = macs / profile.macs_per_s(dtype, node.op, grouped)
        elif profile.ops_rate and node.op in WINDOW_OPS:
            compute = node.ops * batch / profile.ops_rate
        else:
            compute = 0.0
        memory = moved / bw
        roof = max(compute, memory)
        if profile.kind == "cpu":
            seconds = roof + profile.layer_overhead
        else:
            seconds = max(roof, profile.layer_overhead)
        layers.append(LayerTime(node, macs, moved, compute, memory, seconds))
    return Prediction(network, profile, batch, dtype, layers)


# ---------------------------------------------------------------- calibration (torch)



def _torch():
    try:
        import torch
    except ImportError:
        raise SpecError(TORCH_MISSING) from None
    return torch


# relative spread (slowest / fastest - 1) of each _median_time since calibrate() began
_SPREADS: list = []
# above this, calibrate warns: when the fastest and slowest runs of one measurement differ by
# more than a quarter, their median is a rough number (a busy or frequency-scaling machine)
TRUSTED_SPREAD = 0.25


def spread_warning(spreads) -> str | None:
    """A warning when the timed runs of some measurement varied more than TRUSTED_SPREAD."""
    worst = max(spreads, default=0.0)
    if worst <= TRUSTED_SPREAD:
        return None
    return (f"warning: the timed runs of one measurement varied by {worst:.0%} (slowest / "
            f"fastest - 1, more than {TRUSTED_SPREAD:.0%}): this profile is rough; measure on "
            "an idle machine, or with --clock cpu --threads 1 on a shared one")


def _median_time(torch, fn, dev, repeat, warmup=2, clock="wall"):
    import statistics
    import time

    tick = time.process_time if clock == "cpu" else time.perf_counter
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        if dev.type == "cuda":
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t0 = tick()
            fn()
            times.append(tick() - t0)
    if min(times) > 0:
        _SPREADS.append(max(times) / min(times) - 1)
    return statistics.median(times)


def calibrate(device: str = "cpu", dtypes=("float32", "bfloat16", "float16"), quick=False,
              progress=None, clock="wall") -> dict:  # fmt: skip
    """Measure this machine with torch and return a profile document.

    * peak MAC/s per dtype: the best of a GEMM (n x n @ n x n, n = 2048 on CPU, 8192 on GPU,
      n^3 MACs) and a mid-network 3x3 convolution (128 -> 128 channels, 28 x 28, batch 8),
      each the median of several timed runs after warm-up; oneDNN's convolutions can beat
      ``torch.mm`` on CPU, and a CNN's MACs are convolutions. Both rates are kept under
      ``measured``. A dtype the device cannot run, or runs below 1% of float32's rate
      (emulated), is left out.
    * grouped_peak_macs_per_s: a depthwise 3x3 convolution (144 channels, 56 x 56, batch 8),
      which runs far below the dense rate (it is used for convolutions with groups > 1).
    * memory bandwidth: copies into new tensors (``x.clone()``, 2 x size bytes), as a layer
      writes its output: on CPU 4, 8, 16 and 24 MiB, total bytes over total time (a layer's
      activations at a small batch). A CPU's bandwidth depends on the size: caches below;
      from 32 MiB (glibc's largest mmap threshold) every fresh tensor is new pages and a
      clone runs at a fifth of the speed (page faults), which this profile leaves out.
      1 GiB on GPU.
    * window_ops_per_s: max pooling 3x3/1 (8 comparisons per output) on 8 x 64 x 56 x 56
      float32, in other ops per second; pooling and LRN layers take
      max(bytes / bandwidth, ops / this rate) (a CPU runs windowed reductions far below its
      memory bandwidth; elementwise layers stay memory-bound).
    * layer_overhead_s: the median time of a module call on a 1-element tensor.
    ``quick`` uses small sizes (for tests; the numbers are then rough). ``clock="cpu"`` times
    with the process's CPU time instead of the wall clock: on a shared machine with one torch
    thread it leaves out the time other processes took (compare with CPU-time latencies).
    """
    torch = _torch()
    import platform

    _SPREADS.clear()
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SpecError("--device cuda: torch sees no CUDA GPU")
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    n = (256 if quick else 2048) if dev.type == "cpu" else (2048 if quick else 8192)
    repeat = 3 if quick else 9
    batch = 1 if quick else 8
    peaks = {}
    measured = {"gemm_n": n}
    conv_macs = batch * 128 * 128 * 9 * 28 * 28
    dw_macs = batch * 144 * 9 * 56 * 56
    grouped = {}
    for name in dtypes:
        dt = getattr(torch, name)
        try:
            a = torch.randn(n, n, device=dev).to(dt)
            b = torch.randn(n, n, device=dev).to(dt)
            conv = torch.nn.Conv2d(128, 128, 3, padding=1, bias=False).to(dev, dt).eval()
            xc = torch.randn(batch, 128, 28, 28, device=dev).to(dt)
            dw = torch.nn.Conv2d(144, 144, 3, padding=1, groups=144, bias=False).to(dev, dt).eval()
            xd = torch.randn(batch, 144, 56, 56, device=dev).to(dt)

            def gemm(a=a, b=b):
                torch.mm(a, b)
                sync()

            def run_conv(conv=conv, xc=xc):
                with torch.inference_mode():
                    conv(xc)
                sync()

            def run_dw(dw=dw, xd=xd):
                with torch.inference_mode():
                    dw(xd)
                sync()

            gemm_rate = n**3 / _median_time(torch, gemm, dev, repeat, clock=clock)
            conv_rate = conv_macs / _median_time(torch, run_conv, dev, repeat, clock=clock)
            dw_rate = dw_macs / _median_time(torch, run_dw, dev, repeat, clock=clock)
        except (RuntimeError, TypeError) as err:
            measured[f"skipped_{name}"] = str(err).splitlines()[0][:120]
            continue
        rate = max(gemm_rate, conv_rate)
        if "float32" in peaks and rate < peaks["float32"] / 100:
            measured[f"skipped_{name}"] = f"{rate / 1e9:.2f} GMAC/s (emulated?)"
            continue
        peaks[name] = float(f"{rate:.4g}")
        grouped[name] = float(f"{min(dw_rate, rate):.4g}")
        measured[f"gemm_macs_per_s_{name}"] = float(f"{gemm_rate:.4g}")
        measured[f"conv3x3_macs_per_s_{name}"] = float(f"{conv_rate:.4g}")
        if progress:
            progress(f"{name}: gemm {gemm_rate / 1e9:.1f}, conv {conv_rate / 1e9:.1f}, "
                     f"depthwise conv {dw_rate / 1e9:.1f} GMAC/s")
    if dev.type == "cuda":
        sizes = [(64 if quick else 1024) << 20]
    else:
        sizes = [1 << 20, 4 << 20] if quick else [4 << 20, 8 << 20, 16 << 20, 24 << 20]
    copy_seconds = 0.0
    for size in sizes:
        src = torch.empty(size, dtype=torch.uint8, device=dev).fill_(1)

        def copy(src=src):
            with torch.inference_mode():
                src.clone()
            sync()

        copy_seconds += _median_time(torch, copy, dev, repeat, clock=clock)
        del src, copy
    bandwidth = 2 * sum(sizes) / copy_seconds
    if progress:
        progress(f"copy: {bandwidth / 1e9:.1f} GB/s")
    pool = torch.nn.MaxPool2d(3, 1, 1)
    xp = torch.randn(batch, 64, 56, 56, device=dev)

    def run_pool(xp=xp):
        with torch.inference_mode():
            pool(xp)
        sync()

    ops_rate = 8 * xp.numel() / _median_time(torch, run_pool, dev, repeat, clock=clock)
    del xp, run_pool
    tiny = torch.nn.ReLU().to(dev)
    x = torch.ones(1, device=dev)

    def call():
        with torch.inference_mode():
            for _ in range(100):
                tiny(x)
        sync()

    overhead = _median_time(torch, call, dev, repeat, clock=clock) / 100
    if progress:
        progress(f"other ops: {ops_rate / 1e9:.2f} G/s; layer overhead {overhead * 1e6:.1f} us")
    warning = spread_warning(_SPREADS)
    measured["max_spread"] = round(max(_SPREADS, default=0.0), 3)
    if warning and progress:
        progress(warning)
    title = torch.cuda.get_device_name(dev) if dev.type == "cuda" else _cpu_name()
    measured.update(torch=str(torch.__version__), threads=torch.get_num_threads(),
                    python=platform.python_version(), clock=clock, copy_bytes=sizes)  # fmt: skip
    return {
        "name": "calibrated-" + dev.type,
        "title": f"{title} (calibrated)",
        "kind": dev.type,
        "source": "archcost calibrate: measured on this machine with torch "
                  f"{torch.__version__}, {torch.get_num_threads()} threads",
        "peak_macs_per_s": peaks,
        "grouped_peak_macs_per_s": grouped,
        "memory_bandwidth": float(f"{bandwidth:.4g}"),
        "window_ops_per_s": float(f"{ops_rate:.4g}"),
        "efficiency": {"compute": 1.0, "memory": 1.0},
        "layer_overhead_s": float(f"{overhead:.3g}"),
        "measured": measured,
    }


def _cpu_name() -> str:
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} CPUs)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def profile_yaml(doc: dict) -> str:
    """A profile document as YAML (numbers in a form YAML 1.1 reads back as floats)."""
    import yaml

    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=100)
