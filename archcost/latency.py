"""Latency: host overhead, achievable device throughput and their overlap, per layer.

Static (no torch) except :func:`calibrate`, which imports torch when it is called.

Each node of the network is one step of eager PyTorch: the host (Python, the dispatcher, the
kernel launch) issues the node's kernels, and the device runs them. Per node at batch B:

* **op class** (:func:`op_class`): ``conv`` (dense convolution), ``depthwise`` (groups equal to
  the input channels), ``grouped_conv``, ``gemm`` (linear, matmul, recurrent layers),
  ``attention``, and for layers without MACs ``elementwise`` (activations, add, mul, softmax),
  ``norm`` (batch/layer/group norm), ``pool`` (pooling, LRN), ``copy`` (concat, pad) and
  ``view`` (flatten, reshape, inference dropout: no kernel, no bytes).
* **bytes moved** (:func:`bytes_moved`) = what the node's kernels read and write: inputs +
  output + parameters (+ BN running statistics), each at its element size. Elementwise
  activations read and write their tensor (in place or not); ``concat`` reads its inputs and
  writes its output; views move nothing. Max pooling also writes its int64 indices (torch
  computes them in ``max_pool2d``). LRN is what ``F.local_response_norm`` runs: seven
  elementwise/pooling kernels, about 15 passes over the tensor.
* **device time** = max(compute, memory) (the roofline), with *achievable*, not peak, rates:
  compute = MACs x B / (peak MAC/s[dtype] x efficiency.compute[class, dtype]), where a
  profile's ``efficiency.by_rows`` curve for the class gives the efficiency at the layer's
  GEMM rows instead (:func:`gemm_rows`: batch x output positions; linear in log(rows)
  between its points);
  memory = bytes / (bandwidth x efficiency.memory[class]). Layers without MACs have no
  compute time, except that a profile may set ``window_ops_per_s`` for pooling and LRN (a
  CPU's windowed reductions are slower than its memory). On a CPU, a new output tensor larger
  than ``fresh_pages.threshold_bytes`` (glibc hands out fresh mmap'd pages for it, and the
  kernel zero-fills each page on first touch) is written at ``fresh_pages.bandwidth``.
* **host time** = module_s (one module call, eager only) + kernels x kernel_s, where
  ``kernels`` is how many kernels the node launches (:data:`KERNELS`; a conv with a bias on a
  GPU launches two, cuDNN's convolution and the bias add; LRN seven; a view none).
* **overlap** (stated once, here): a CPU runs host and device work one after the other, so
  total = sum over nodes of (host_i + device_i). A GPU's kernels are queued asynchronously in
  one in-order stream: node i's kernels start at start_i = max(end_{i-1}, H_i) where
  H_i = host_1 + ... + host_i is when the host has issued them, and end_i = start_i + device_i;
  total = end_n, i.e. total = max over k of (H_k + device_k + ... + device_n). At batch 1 the
  host dominates (the device waits: ``idle``), at large batches the device does, and in between
  the two overlap.

Modelled options (mirroring ``bench``): ``autocast`` (weights stay float32; convolutions,
linear layers and attention run at the low-precision dtype and read a low-precision copy of
their weights, made by one cast kernel per weight tensor that reads 4 and writes 2 bytes per
parameter; layer/group norm and softmax run in float32; other layers keep their input's type),
``channels_last`` (convolutions use ``efficiency.channels_last`` where the profile gives it),
``compile`` (no module calls; ``compiled_kernel_s`` per kernel; each chain of elementwise and
norm layers that reads only the previous layer's output is one fused kernel that reads its
input once and writes its output once).

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
    efficiency:                 # optional, each in (0, 1]; a number or a mapping
      compute: {conv: 0.3, gemm: {float32: 0.8, bfloat16: 0.6}, "*": 0.5}
      memory: {elementwise: 0.8, "*": 0.75}
      channels_last: {conv: 0.35}
      by_rows: {conv: [[49, 0.3], [6272, 0.9]]}   # by batch x H x W; replaces compute's
    host: {module_s: 1.5e-5, kernel_s: 5.0e-6, compiled_kernel_s: 3.0e-6}   # optional
    layer_overhead_s: 0         # optional: the older name of host.module_s
    window_ops_per_s: 3.0e+8    # optional: pooling/LRN ops per second
    fresh_pages: {threshold_bytes: 33554432, bandwidth: 1.0e+9}   # optional (CPU)
    sources: {efficiency: ..., host: ...}   # optional, free-form: where each number is from
    measured: {...}             # optional, free-form (what calibrate measured)

Numbers are YAML numbers or strings that Python's float() reads ("494.5e12": YAML 1.1 reads
an exponent without a sign as a string).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from . import unknown
from .errors import TORCH_MISSING, SpecError, brief, did_you_mean
from .layers import ACTIVATIONS, elements
from .limits import (
    MAX_LABEL_CHARS,
    MAX_LAYER_OVERHEAD_S,
    MAX_PROFILE_RATE,
    MIN_EFFICIENCY,
    MIN_PROFILE_RATE,
)
from .options import DTYPE_BYTES
from .safeio import number_text
from .shapes import layout_of
from .yamlio import LineDict, load_file

INDEX_BYTES = 8
WINDOW_OPS = ("maxpool", "avgpool", "lrn")  # sliding-window layers: limited by window_ops_per_s
KINDS = ("cuda", "cpu")
PROFILE_KEYS = {"name", "title", "kind", "source", "notes", "peak_macs_per_s",
                "linear_peak_macs_per_s", "grouped_peak_macs_per_s", "memory_bandwidth",
                "window_ops_per_s", "efficiency", "host", "sources", "fresh_pages",
                "layer_overhead_s", "measured"}  # fmt: skip
REQUIRED_KEYS = ("kind", "peak_macs_per_s", "memory_bandwidth")
PROFILE_DTYPES = ("float32", "bfloat16", "float16", "float64", "int8")
COMPUTE_CLASSES = ("conv", "depthwise", "grouped_conv", "gemm", "attention")
MEMORY_CLASSES = ("elementwise", "norm", "pool", "copy")
OP_CLASSES = (*COMPUTE_CLASSES, *MEMORY_CLASSES, "view")
EFFICIENCY_KEYS = ("compute", "memory", "channels_last", "by_rows")
MAX_CURVE_POINTS = 32  # points of one efficiency.by_rows curve
MAX_CURVE_ROWS = 1e12  # its largest row count
HOST_KEYS = ("module_s", "kernel_s", "compiled_kernel_s")
ANY = "*"  # an efficiency mapping's fallback entry

# ops by class, for the layers without MACs (any op with MACs is a conv, gemm or attention)
VIEW_OPS = frozenset({"flatten", "slice", "dropout", "reshape", "view", "drop_path",
                      "identity", "unsqueeze", "squeeze"})  # fmt: skip
NORM_OPS = frozenset({"bn", "layernorm", "groupnorm", "rmsnorm", "instancenorm"})
POOL_OPS = frozenset({"maxpool", "avgpool", "adaptive_avgpool", "global_avgpool", "lrn",
                      "adaptive_maxpool", "mean"})  # fmt: skip
COPY_OPS = frozenset({"concat", "zero_pad", "pad", "channel_shuffle", "transpose", "permute",
                      "patchify", "split", "chunk"})  # fmt: skip
# kernels one node launches in eager PyTorch where it is not one (views: none)
KERNELS = {"lrn": 7, "attention": 8, "window_attention": 9}
# autocast (torch.autocast on CUDA): these run in float32 whatever their input's type
AUTOCAST_FP32_OPS = frozenset({"layernorm", "groupnorm", "rmsnorm", "softmax", "softplus"})


# ---------------------------------------------------------------- profiles


def _lookup(table, op_class: str, dtype: str, default: float = 1.0) -> float:
    """efficiency[class][dtype] with fallbacks: a number for all, ``"*"`` for the rest."""
    if isinstance(table, (int, float)):
        return float(table)
    for key in (op_class, ANY):  # the class's entry, then the table's fallback
        entry = table.get(key)
        if isinstance(entry, dict):
            entry = entry.get(dtype, entry.get(ANY))
        if entry is not None:
            return float(entry)
    return default


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
    compute_efficiency: object = 1.0  # a number, or class -> number | {dtype: number}
    # class -> {dtype or "*": ((rows, efficiency), ...)}: compute efficiency by GEMM rows
    rows_efficiency: dict = field(default_factory=dict)
    memory_efficiency: object = 1.0  # a number, or class -> number
    channels_last_efficiency: dict = field(default_factory=dict)  # class -> number | {dtype: n}
    layer_overhead: float = 0.0  # seconds per module call (host.module_s)
    kernel_overhead: float = 0.0  # seconds per kernel launched (host.kernel_s)
    compiled_kernel_overhead: float | None = None  # host.compiled_kernel_s (None: kernel_s)
    ops_rate: float | None = None  # window_ops_per_s: pooling/LRN ops per second (None: no limit)
    file: str | None = None
    measured: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    fresh_threshold: float | None = None  # bytes: a new tensor above this is written to new pages
    fresh_bandwidth: float | None = None  # bytes/s of writing those pages (page faults included)
    line: int | None = None  # of peak_macs_per_s, for "no peak for dtype X"

    def peak_macs_per_s(self, dtype: str, op: str, grouped: bool = False) -> float:
        """The data-sheet (or calibrated) peak for this dtype and kind of layer."""
        table = self.peak_macs
        if op == "linear" and dtype in self.linear_peak_macs:
            table = self.linear_peak_macs
        elif grouped and dtype in self.grouped_peak_macs:
            table = self.grouped_peak_macs
        if dtype not in table:
            have = ", ".join(sorted(self.peak_macs)) or "none"
            raise SpecError(f"profile '{self.name}' has no peak for dtype {dtype} "
                            f"(it has: {have})", self.file, self.line)  # fmt: skip
        return table[dtype]

    def efficiency(self, op_class: str, dtype: str, channels_last: bool = False,
                   rows: int | None = None) -> float:
        """The compute efficiency of a class: channels_last's where asked and given, else the
        ``by_rows`` curve's at ``rows`` where the class has one, else the class's number."""
        if channels_last and op_class in self.channels_last_efficiency:
            return _lookup(self.channels_last_efficiency, op_class, dtype)
        curves = self.rows_efficiency.get(op_class, {})
        curve = curves.get(dtype, curves.get(ANY))
        if curve and rows:
            return curve_at(curve, rows)
        return _lookup(self.compute_efficiency, op_class, dtype)

    def macs_per_s(self, dtype: str, op: str, grouped: bool = False,
                   op_class: str | None = None, channels_last: bool = False,
                   rows: int | None = None) -> float:  # fmt: skip
        """Achievable MAC/s: the peak times the efficiency of the layer's op class (at its
        GEMM row count where the profile has a curve for the class)."""
        if op_class is None:
            op_class = "gemm" if op in ("linear", "matmul") else (
                "grouped_conv" if grouped else "conv")
        return (self.peak_macs_per_s(dtype, op, grouped)
                * self.efficiency(op_class, dtype, channels_last, rows))  # fmt: skip

    def bytes_per_s_for(self, op_class: str) -> float:
        return self.bandwidth * _lookup(self.memory_efficiency, op_class, "")

    @property
    def bytes_per_s(self) -> float:
        """Achievable bandwidth of elementwise layers (the usual memory-bound case)."""
        return self.bytes_per_s_for("elementwise")


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


def _number(value, what, file, line, positive=True, low=None, high=None):
    """A finite float from a profile. Rates lie in [MIN_PROFILE_RATE, MAX_PROFILE_RATE] unless
    ``low``/``high`` say otherwise, so no product or quotient of them under- or overflows
    (``efficiency x peak`` of 1e-320 x 1e-10 was 0, and times came out ``inf``)."""
    if isinstance(value, bool):
        raise SpecError(f"{what}: expected a number, got {brief(value)}", file, line)
    if isinstance(value, str):
        try:
            value = float(number_text(value, what).replace("_", ""))
        except ValueError:
            raise SpecError(f"{what}: expected a number, got {brief(value)}", file, line) from None
        except SpecError as err:
            raise err.located(file, line) from None
    if not isinstance(value, (int, float)) or value != value or value in (float("inf"),
                                                                           float("-inf")):
        raise SpecError(f"{what}: expected a number, got {brief(value)}", file, line)
    value = float(value)
    if positive and value <= 0:
        raise SpecError(f"{what} must be greater than 0, got {value:g}", file, line)
    if not positive and value < 0:
        raise SpecError(f"{what} must not be negative, got {value:g}", file, line)
    low = MIN_PROFILE_RATE if low is None and positive else low
    high = MAX_PROFILE_RATE if high is None else high
    if (low is not None and value < low) or value > high:
        raise SpecError(f"{what} = {value:g} is outside [{low or 0:g}, {high:g}] (profile limits "
                        "in archcost/limits.py)", file, line)  # fmt: skip
    return value


def _text(doc, key, file, default=""):
    """A descriptive profile field: text of at most MAX_LABEL_CHARS, never str() of a value
    (an aliased list made str() grow to gigabytes)."""
    value = doc.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise SpecError(f"{key}: expected text, got {brief(value)}", file, _line(doc, key))
    if len(value) > MAX_LABEL_CHARS:
        raise SpecError(f"{key}: {len(value):,} characters; the limit is {MAX_LABEL_CHARS:,}",
                        file, _line(doc, key))  # fmt: skip
    return value


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
            raise SpecError(f"{key}: unknown dtype {brief(dtype)} (one of: "
                            f"{', '.join(PROFILE_DTYPES)})", file, line)  # fmt: skip
        out[dtype] = _number(value, f"{key}.{dtype}", file, line)
    return out


def _fraction(value, what, file, line) -> float:
    x = _number(value, what, file, line, low=MIN_EFFICIENCY, high=float("inf"))
    if x > 1:
        raise SpecError(f"{what} must be in (0, 1], got {x}", file, line)
    return x


def _efficiency(value, what, file, line, classes, by_dtype=True):
    """A number in (0, 1], or a mapping class -> number (or -> {dtype: number})."""
    if not isinstance(value, dict):
        return _fraction(value, what, file, line)
    out = {}
    for key, entry in value.items():
        kline = _known(value, key, classes, f"{what}: unknown op class", file, line)
        if isinstance(entry, dict) and by_dtype:
            out[key] = {dtype: _fraction(x, f"{what}.{key}.{dtype}", file, _known(
                entry, dtype, PROFILE_DTYPES, f"{what}.{key}: unknown dtype", file, kline))
                for dtype, x in entry.items()}  # fmt: skip
        else:
            out[key] = _fraction(entry, f"{what}.{key}", file, kline)
    return out


def curve_at(curve, rows) -> float:
    """A ``by_rows`` curve at ``rows``: linear in log(rows) between its points, the end
    points' values outside them."""
    if rows <= curve[0][0]:
        return curve[0][1]
    for (r0, e0), (r1, e1) in zip(curve, curve[1:]):
        if rows <= r1:
            t = (math.log(rows) - math.log(r0)) / (math.log(r1) - math.log(r0))
            return e0 + t * (e1 - e0)
    return curve[-1][1]


def _curve(value, what, file, line) -> tuple:
    """[[rows, efficiency], ...]: 1 to MAX_CURVE_POINTS points, rows increasing in
    [1, MAX_CURVE_ROWS], each efficiency in (0, 1]."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_CURVE_POINTS:
        raise SpecError(f"{what}: expected a list of 1 to {MAX_CURVE_POINTS} [rows, efficiency] "
                        f"pairs, got {brief(value)}", file, line)  # fmt: skip
    points = []
    for item in value:
        if not isinstance(item, list) or len(item) != 2:
            raise SpecError(f"{what}: expected [rows, efficiency], got {brief(item)}", file,
                            line)  # fmt: skip
        rows = _number(item[0], f"{what} rows", file, line, low=1.0, high=MAX_CURVE_ROWS)
        points.append((rows, _fraction(item[1], f"{what} efficiency", file, line)))
    if any(b[0] <= a[0] for a, b in zip(points, points[1:])):
        raise SpecError(f"{what}: the row counts must increase", file, line)
    return tuple(points)


def _rows_curves(value, file, line) -> dict:
    """efficiency.by_rows: class -> [[rows, eff], ...] or class -> {dtype: [[rows, eff], ...]}."""
    if not isinstance(value, dict):
        raise SpecError("efficiency.by_rows must be a mapping of op class: curve", file, line)
    out = {}
    for key, entry in value.items():
        kline = _known(value, key, COMPUTE_CLASSES, "efficiency.by_rows: unknown op class",
                       file, line)  # fmt: skip
        if isinstance(entry, dict):
            out[key] = {dtype: _curve(c, f"efficiency.by_rows.{key}.{dtype}", file, _known(
                entry, dtype, PROFILE_DTYPES, f"efficiency.by_rows.{key}: unknown dtype", file,
                kline)) for dtype, c in entry.items()}  # fmt: skip
        else:
            out[key] = {ANY: _curve(entry, f"efficiency.by_rows.{key}", file, kline)}
    return out


def _known(mapping, key, allowed, what, file, line):
    """The line of ``key`` in ``mapping`` once it is one of ``allowed`` (or ``"*"``)."""
    kline = _line(mapping, key) or line
    if key != ANY and key not in allowed:
        raise SpecError(f"{what} {brief(key)} (one of: {', '.join(allowed)}, or \"{ANY}\" for "
                        "the rest)", file, kline)  # fmt: skip
    return kline


def _mapping_of(doc, key, file, what):
    value = doc.get(key) or {}
    if not isinstance(value, dict):
        raise SpecError(f"{key} must be a mapping ({what})", file, _line(doc, key))
    return value


def parse_profile(doc, file: str, default_name: str = "") -> Profile:
    """Validate a loaded profile document; every error names the file and line."""
    if not isinstance(doc, dict):
        raise SpecError("a device profile must be a mapping (kind, peak_macs_per_s, "
                        "memory_bandwidth, ...)", file, getattr(doc, "line", 1))  # fmt: skip
    for key in doc:
        if key not in PROFILE_KEYS:
            import difflib

            # a profile key is one of a dozen names: a looser match than layer types get
            # (where a wrong suggestion names a different layer) helps here
            close = difflib.get_close_matches(str(key)[:MAX_LABEL_CHARS], sorted(PROFILE_KEYS),
                                              n=1)  # fmt: skip
            hint = f"; did you mean '{close[0]}'?" if close else did_you_mean(key, [])
            raise SpecError(f"unknown profile key {brief(key)}{hint}", file, _line(doc, key))
    for key in REQUIRED_KEYS:
        if key not in doc:
            raise SpecError(f"the profile needs '{key}'", file, getattr(doc, "line", 1))
    kind = doc["kind"]
    if kind not in KINDS:
        raise SpecError(f"kind: expected one of {', '.join(KINDS)}, got {brief(kind)}", file,
                        _line(doc, "kind"))  # fmt: skip
    peak = _peaks(doc, "peak_macs_per_s", file)
    linear = _peaks(doc, "linear_peak_macs_per_s", file) if "linear_peak_macs_per_s" in doc \
        else {}  # fmt: skip
    grouped = _peaks(doc, "grouped_peak_macs_per_s", file) if "grouped_peak_macs_per_s" in doc \
        else {}  # fmt: skip
    bandwidth = _number(doc["memory_bandwidth"], "memory_bandwidth", file,
                        _line(doc, "memory_bandwidth"))  # fmt: skip
    eff = _mapping_of(doc, "efficiency", file, "compute, memory, channels_last")
    factors = {}
    for key, value in eff.items():
        line = _line(eff, key)
        if key not in EFFICIENCY_KEYS:
            raise SpecError(f"efficiency: unknown key {brief(key)} ({', '.join(EFFICIENCY_KEYS)})",
                            file, line)  # fmt: skip
        if key == "by_rows":
            factors[key] = _rows_curves(value, file, line)
            continue
        classes = MEMORY_CLASSES if key == "memory" else COMPUTE_CLASSES
        factors[key] = _efficiency(value, f"efficiency.{key}", file, line, classes,
                                   by_dtype=key != "memory")  # fmt: skip
    if not isinstance(factors.get("channels_last", {}), dict):
        raise SpecError("efficiency.channels_last must be a mapping of op class: efficiency",
                        file, _line(eff, "channels_last"))  # fmt: skip
    host = _mapping_of(doc, "host", file, ", ".join(HOST_KEYS))
    seconds = {}
    for key, value in host.items():
        if key not in HOST_KEYS:
            raise SpecError(f"host: unknown key {brief(key)} ({', '.join(HOST_KEYS)})", file,
                            _line(host, key))  # fmt: skip
        seconds[key] = _number(value, f"host.{key}", file, _line(host, key), positive=False,
                               high=MAX_LAYER_OVERHEAD_S)  # fmt: skip
    if "layer_overhead_s" in doc:
        if "module_s" in seconds:
            raise SpecError("give host.module_s or layer_overhead_s (its older name), not both",
                            file, _line(doc, "layer_overhead_s"))  # fmt: skip
        seconds["module_s"] = _number(doc["layer_overhead_s"], "layer_overhead_s", file,
                                      _line(doc, "layer_overhead_s"), positive=False,
                                      high=MAX_LAYER_OVERHEAD_S)  # fmt: skip
    ops_rate = None
    if doc.get("window_ops_per_s") is not None:
        ops_rate = _number(doc["window_ops_per_s"], "window_ops_per_s", file,
                           _line(doc, "window_ops_per_s"))
    fresh = _mapping_of(doc, "fresh_pages", file, "threshold_bytes, bandwidth")
    for key in fresh:
        if key not in ("threshold_bytes", "bandwidth"):
            raise SpecError(f"fresh_pages: unknown key {brief(key)} (threshold_bytes, bandwidth)",
                            file, _line(fresh, key))  # fmt: skip
    if fresh and set(fresh) != {"threshold_bytes", "bandwidth"}:
        raise SpecError("fresh_pages needs both threshold_bytes and bandwidth", file,
                        _line(doc, "fresh_pages"))  # fmt: skip
    fresh_values = {k: _number(v, f"fresh_pages.{k}", file, _line(fresh, k))
                    for k, v in fresh.items()}  # fmt: skip
    measured = _mapping_of(doc, "measured", file, "free-form")
    raw_sources = _mapping_of(doc, "sources", file, "what each number is from")
    sources = {}
    for key in raw_sources:
        if not isinstance(key, str) or len(key) > MAX_LABEL_CHARS:
            raise SpecError(f"sources: key {brief(key)} must be short text", file,
                            _line(raw_sources, key))  # fmt: skip
        sources[key] = _text(raw_sources, key, file)
    name = _text(doc, "name", file, default_name)
    return Profile(name=name, title=_text(doc, "title", file, name), kind=kind,
                   source=_text(doc, "source", file), peak_macs=peak, linear_peak_macs=linear,
                   grouped_peak_macs=grouped, bandwidth=bandwidth,
                   compute_efficiency=factors.get("compute", 1.0),
                   rows_efficiency=factors.get("by_rows", {}),
                   memory_efficiency=factors.get("memory", 1.0),
                   channels_last_efficiency=factors.get("channels_last", {}),
                   layer_overhead=seconds.get("module_s", 0.0),
                   kernel_overhead=seconds.get("kernel_s", 0.0),
                   compiled_kernel_overhead=seconds.get("compiled_kernel_s"),
                   ops_rate=ops_rate, file=file, measured=dict(measured),
                   sources=dict(sources), fresh_threshold=fresh_values.get("threshold_bytes"),
                   fresh_bandwidth=fresh_values.get("bandwidth"),
                   line=_line(doc, "peak_macs_per_s"))  # fmt: skip


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


# Convolutions at batch x H x W rows from 49 to 200,704 (ResNet's and MobileNet's stages at
# batch 1, the batch-8 reference, then a batch-16 112x112 map whose tensors outgrow the
# caches), for efficiency.by_rows: (channels, H = W, batch). The
# dense ladder keeps the MACs of each step equal (ResNet's stages: channels double as the map
# halves), so only the shape changes.
_ROW_LADDERS = {
    "conv": [(512, 7, 1), (256, 14, 1), (128, 28, 1), (64, 56, 1), (128, 28, 8), (64, 112, 16)],
    "depthwise": [(960, 7, 1), (576, 14, 1), (192, 28, 1), (144, 56, 1), (144, 56, 8),
                  (96, 112, 16)],
}


# ---------------------------------------------------------------- per-layer cost


def op_class(node) -> str:
    """The class whose efficiency a node runs at (see the module docstring)."""
    op = node.op
    if op == "unknown":  # no formula, no efficiency: its time is unknown (archcost.unknown)
        return "unknown"
    if op.startswith("conv"):
        groups = node.fields.get("g", 1) or 1
        if groups == 1:
            return "conv"
        c_in = node.inputs[0].shape[0] if node.inputs and node.inputs[0].shape else None
        return "depthwise" if groups == c_in else "grouped_conv"
    if node.macs:
        return "attention" if "attention" in op else "gemm"
    if op in VIEW_OPS:
        return "view"
    if op in NORM_OPS or op.endswith("norm"):
        return "norm"
    if op in POOL_OPS or "pool" in op:
        return "pool"
    if op in COPY_OPS:
        return "copy"
    return "elementwise"


def gemm_rows(node, batch: int) -> int:
    """The rows (M) of the GEMM a compute layer amounts to: batch x output positions (H x W of
    a map, L of a 1-D map or of tokens; 1 for a flat vector). A 3x3 convolution on a 7x7 map
    at batch 1 is a 49-row GEMM, which neither vectorises nor splits across threads as a
    6,272-row one does: ``efficiency.by_rows`` gives the efficiency by this count."""
    shape = node.shape
    lay = layout_of(shape)
    features = shape[-1] if lay in ("LC", "HWC") else shape[0]
    return batch * max(1, elements(shape) // max(1, features))


def kernels(node, kind: str) -> int:
    """Kernels a node launches in eager PyTorch: views none, LRN seven, attention built from
    its projections and matmuls eight, a biased convolution on a GPU two (cuDNN adds the bias
    in a second kernel; oneDNN fuses it on CPU), everything else one."""
    cls = op_class(node)
    if cls == "view":
        return 0
    if cls in ("conv", "depthwise", "grouped_conv") and kind == "cuda" and node.bias:
        return 2
    return KERNELS.get(node.op, 1)


def bytes_moved(node, batch: int, nbytes: int, in_bytes=None, weight_bytes=None) -> int:
    """Bytes a node's kernels read and write (see the module docstring).

    ``nbytes`` is the output's element size; ``in_bytes`` the inputs' (default: the same) and
    ``weight_bytes`` the parameters' (default: the same).
    """
    op = node.op
    out = elements(node.shape) * batch
    if in_bytes is None:
        in_bytes = [nbytes] * len(node.inputs)
    ins = sum(elements(x.shape) * batch * b for x, b in zip(node.inputs, in_bytes, strict=True))
    weights = (node.params + node.buffers) * (nbytes if weight_bytes is None else weight_bytes)
    if op_class(node) == "view":  # views; dropout is the identity at inference
        return 0
    if op in ACTIVATIONS:
        return out * nbytes + ins
    if op == "maxpool":
        return ins + out * nbytes + out * INDEX_BYTES
    if op == "lrn":
        c, h, w = node.inputs[0].shape
        padded = (c + node.fields["size"] - 1) * h * w * batch
        return (13 * out + 2 * padded) * nbytes
    return ins + out * nbytes + weights


@dataclass
class LayerTime:
    node: object
    macs: int  # at this batch
    bytes: int
    compute_s: float
    memory_s: float
    seconds: float  # what this layer adds to the total (device time plus the device's wait)
    host_s: float = 0.0
    kernels: int = 0
    op_class: str = ""
    idle_s: float = 0.0  # GPU: time the device waited for the host before this layer

    @property
    def device_s(self) -> float:
        if self.compute_s is None:  # an unknown op (archcost.unknown)
            return None
        return max(self.compute_s, self.memory_s)

    @property
    def bound(self) -> str:
        """What limits this layer: the host (launching it), compute or memory; ``unknown``
        for an op archcost has no formula for."""
        if self.compute_s is None:
            return "unknown"
        if self.host_s > self.device_s:
            return "host"
        return "compute" if self.compute_s > self.memory_s else "memory"

    @property
    def intensity(self) -> float | None:
        return self.macs / self.bytes if self.bytes and self.macs is not None else None


@dataclass
class Prediction:
    network: object
    profile: Profile
    batch: int
    dtype: str
    layers: list[LayerTime]
    options: dict = field(default_factory=dict)

    # each total is None (unknown) when a layer's is: an op archcost has no formula for
    # takes an unknown time (archcost.unknown)

    @property
    def seconds(self) -> float:
        return unknown.total(t.seconds for t in self.layers)

    @property
    def host_seconds(self) -> float:
        return unknown.total(t.host_s for t in self.layers)

    @property
    def device_seconds(self) -> float:
        return unknown.total(t.device_s for t in self.layers)

    @property
    def macs(self) -> int:
        return unknown.total(t.macs for t in self.layers)

    @property
    def tflops(self) -> float:
        """Achieved FLOP/s (2 x MACs) of the whole pass, in TFLOP/s."""
        if self.seconds is None or self.macs is None:
            return None
        return 2 * self.macs / self.seconds / 1e12 if self.seconds else 0.0

    def memory_bound(self) -> list[LayerTime]:
        return [t for t in self.layers if t.bound == "memory" and t.seconds > 0]

    def rows(self) -> list[dict]:
        """Per spec row: summed times, MACs and bytes; bound = the larger summed component."""
        rows: dict = {}
        keys = ("macs", "bytes", "kernels", "compute_s", "memory_s", "host_s", "idle_s",
                "seconds", "device_s")  # fmt: skip
        for t in self.layers:
            row = t.node.row
            key = row.id if row is not None else t.node.id
            rec = rows.get(key)
            if rec is None:
                rec = rows[key] = {"name": key, "row": row, **dict.fromkeys(keys, 0)}
            for k in keys:
                rec[k] = unknown.add(rec[k], getattr(t, k))
        for rec in rows.values():
            if rec["compute_s"] is None or rec["device_s"] is None:
                rec["bound"] = "unknown"
                rec["intensity"] = None
                continue
            rec["bound"] = ("host" if rec["host_s"] > rec["device_s"] else
                            "compute" if rec["compute_s"] > rec["memory_s"] else "memory")
            rec["intensity"] = rec["macs"] / rec["bytes"] if rec["bytes"] else None
        return list(rows.values())


def _fusable(node) -> bool:
    return op_class(node) in ("elementwise", "norm")


def predict(network, profile: Profile, batch: int = 1, dtype: str = "float32",
            autocast: bool = False, channels_last: bool = False,
            compile: bool = False) -> Prediction:  # noqa: A002 (mirrors bench --compile)
    """Predicted forward time of ``network`` on ``profile`` (see the module docstring)."""
    nbytes = DTYPE_BYTES[dtype]
    kind = profile.kind
    nodes = network.nodes
    readers: dict = {}
    for node in nodes:
        for x in node.inputs:
            readers[id(x)] = readers.get(id(x), 0) + 1
    # element size of each tensor: autocast keeps float32 outside its low-precision ops
    size = {id(network.input): 4 if autocast else nbytes}
    fused_into_next = set()  # nodes whose output a fused follower reads in registers
    if compile:
        for prev, node in zip(nodes, nodes[1:]):
            if (_fusable(node) and _fusable(prev) and node.inputs and node.inputs[0] is prev
                    and readers.get(id(prev), 0) == 1):  # fmt: skip
                fused_into_next.add(id(prev))
    module_s = 0.0 if compile else profile.layer_overhead
    kernel_s = (profile.compiled_kernel_overhead if compile and
                profile.compiled_kernel_overhead is not None else profile.kernel_overhead)
    layers = []
    host_clock = device_clock = 0.0
    previous = None
    for node in nodes:
        if node.op == "unknown":  # no formula: its time is unknown, and so is every sum of it
            size[id(node)] = nbytes
            layers.append(LayerTime(node, None, None, None, None, None, None, None, "unknown"))
            previous = node
            continue
        cls = op_class(node)
        low_precision = autocast and cls in COMPUTE_CLASSES
        in_bytes = [size.get(id(x), nbytes) for x in node.inputs]
        if not autocast:
            out_bytes = nbytes
        elif low_precision:
            out_bytes = nbytes
        elif node.op in AUTOCAST_FP32_OPS:
            out_bytes = 4
        else:
            out_bytes = max(in_bytes, default=4)
        size[id(node)] = out_bytes
        n_kernels = kernels(node, kind)
        if low_precision:
            # weights: one cast kernel per weight tensor (4 -> 2 bytes), then read at 2 bytes;
            # a float32 input is cast too
            casts = (1 if node.params - node.bias else 0) + (1 if node.bias else 0)
            casts += sum(1 for b in in_bytes if b != nbytes)
            n_kernels += casts
            moved = bytes_moved(node, batch, nbytes, [nbytes] * len(in_bytes), nbytes)
            moved += node.params * (4 + nbytes)
            moved += sum(elements(x.shape) * batch * (b + nbytes)
                         for x, b in zip(node.inputs, in_bytes, strict=True) if b != nbytes)
        else:
            moved = bytes_moved(node, batch, out_bytes, in_bytes, 4 if autocast else nbytes)
        if compile and previous is not None and id(previous) in fused_into_next:
            # fused into the previous layer's kernel: the input is not read from memory
            # (and the previous layer's output is not written)
            moved -= elements(previous.shape) * batch * size[id(previous)]
            layers[-1].bytes -= elements(previous.shape) * batch * size[id(previous)]
            layers[-1].memory_s = layers[-1].bytes / profile.bytes_per_s_for(layers[-1].op_class)
            n_kernels = 0
        macs = node.macs * batch
        if macs:
            grouped = cls in ("depthwise", "grouped_conv")
            compute = macs / profile.macs_per_s(
                dtype, node.op, grouped, cls,
                channels_last and cls in ("conv", "depthwise", "grouped_conv"),
                gemm_rows(node, batch))  # fmt: skip
        elif profile.ops_rate and node.op in WINDOW_OPS:
            compute = node.ops * batch / profile.ops_rate
        else:
            compute = 0.0
        memory = moved / profile.bytes_per_s_for(cls)
        written = elements(node.shape) * batch * out_bytes
        if (profile.fresh_threshold is not None and cls != "view" and not node.inplace
                and written > profile.fresh_threshold):  # fmt: skip
            # a new tensor this large is new pages: its write runs at the fresh-page rate
            memory += written / profile.fresh_bandwidth - written / profile.bytes_per_s_for(cls)
        host = (module_s if cls != "view" or not compile else 0.0) + n_kernels * kernel_s
        layers.append(LayerTime(node, macs, moved, compute, memory, 0.0, host, n_kernels, cls))
        previous = node
    # overlap: recompute with the final device times (fusion may have changed the previous one)
    for t in layers:
        device = t.device_s
        if device is None or (kind != "cpu" and device_clock is None):
            # an unknown op; on a GPU every later layer's wait for the device is unknown too
            t.idle_s = t.seconds = None
            device_clock = None if kind != "cpu" else device_clock
            continue
        if kind == "cpu":
            t.seconds = t.host_s + device
        else:
            host_clock += t.host_s
            start = max(device_clock, host_clock)
            t.idle_s = start - device_clock
            t.seconds = t.idle_s + device
            device_clock = start + device
    options = {"autocast": autocast, "channels_last": channels_last, "compile": compile}
    return Prediction(network, profile, batch, dtype, layers, options)


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
    """Measure this machine with torch microbenchmarks and return a profile document.

    Every number comes from a synthetic layer timed alone (the median of several runs after
    warm-up), never from a network that is then predicted:

    * peak MAC/s per dtype: the best of a GEMM (n x n @ n x n, n = 2048 on CPU, 8192 on GPU)
      and a mid-network 3x3 convolution (128 -> 128 channels, 28 x 28, batch 8).
    * efficiency.compute per op class and dtype = the class's microbenchmark rate / that peak:
      conv (the 3x3 convolution), gemm (the GEMM), depthwise (a depthwise 3x3 convolution,
      144 channels, 56 x 56, batch 8), grouped_conv (a 3x3 convolution with 32 groups, 128
      channels, 28 x 28, batch 8) and attention (batched matmuls of 12 heads, 197 tokens, 64
      per head: QK^T and AV, batch 8).
    * efficiency.by_rows (conv and depthwise, per dtype): the same 3x3 convolutions on
      ResNet's and MobileNet's stage shapes at batch 1 (7 x 7 to 56 x 56; the dense ones of
      equal MACs), at batch 8, and on a 112 x 112 map at batch 16; each point is (batch x H x
      W, rate / peak): small maps neither vectorise nor split across threads as well as the
      batch-8 reference, and tensors that outgrow the caches run slower again.
    * memory bandwidth: copies into new tensors (``x.clone()``, 2 x size bytes): on CPU 4, 8,
      16 and 24 MiB (a layer's activations at a small batch; from 32 MiB every fresh tensor is
      new pages and a clone runs at a fifth of the speed), 1 GiB on GPU.
      efficiency.memory per class = the class's bytes per second / the copy's: elementwise
      (``torch.relu`` into a new tensor), norm (an eval-mode BatchNorm2d), copy (``torch.cat``
      of two halves); 8 x 64 x 56 x 56 float32 each (16 x 64 x 112 x 112 on GPU).
    * window_ops_per_s: max pooling 3x3/1 (8 comparisons per output) on 8 x 64 x 56 x 56.
    * fresh_pages (CPU): clones of 64 and 96 MiB, whose destination is new pages; the time
      left after reading the source at the copy rate is the write's (threshold 32 MiB,
      glibc's largest mmap threshold).
    * host.kernel_s: one ATen op (``torch.relu``) on a 1-element tensor; host.module_s: an
      ``nn.ReLU`` module call on it minus the op (Python's module machinery and hooks).
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

    def timed(fn):
        def run():
            with torch.inference_mode():
                fn()
            sync()

        return _median_time(torch, run, dev, repeat, clock=clock)

    peaks = {}
    compute_eff = {}
    by_rows: dict = {}
    measured = {"gemm_n": n}
    for name in dtypes:
        dt = getattr(torch, name)
        try:
            a = torch.randn(n, n, device=dev).to(dt)
            b = torch.randn(n, n, device=dev).to(dt)
            conv = torch.nn.Conv2d(128, 128, 3, padding=1, bias=False).to(dev, dt).eval()
            xc = torch.randn(batch, 128, 28, 28, device=dev).to(dt)
            dw = torch.nn.Conv2d(144, 144, 3, padding=1, groups=144, bias=False).to(dev, dt)
            xd = torch.randn(batch, 144, 56, 56, device=dev).to(dt)
            gc = torch.nn.Conv2d(128, 128, 3, padding=1, groups=32, bias=False).to(dev, dt)
            q = torch.randn(batch * 12, 197, 64, device=dev).to(dt)
            rates = {
                "gemm": n**3 / timed(lambda a=a, b=b: torch.mm(a, b)),
                "conv": batch * 128 * 128 * 9 * 28 * 28 / timed(lambda c=conv, x=xc: c(x)),
                "depthwise": batch * 144 * 9 * 56 * 56 / timed(lambda c=dw, x=xd: c(x)),
                "grouped_conv": batch * 128 * 4 * 9 * 28 * 28 / timed(lambda c=gc, x=xc: c(x)),
                "attention": 2 * batch * 12 * 197 * 197 * 64 / timed(
                    lambda q=q: torch.bmm(torch.bmm(q, q.transpose(1, 2)), q)),
            }
        except (RuntimeError, TypeError) as err:
            measured[f"skipped_{name}"] = str(err).splitlines()[0][:120]
            continue
        rate = max(rates["gemm"], rates["conv"])
        if "float32" in peaks and rate < peaks["float32"] / 100:
            measured[f"skipped_{name}"] = f"{rate / 1e9:.2f} GMAC/s (emulated?)"
            continue
        peaks[name] = float(f"{rate:.4g}")
        for cls, r in rates.items():
            compute_eff.setdefault(cls, {})[name] = float(f"{min(1.0, r / rate):.3g}")
            measured[f"{cls}_macs_per_s_{name}"] = float(f"{r:.4g}")
        for cls, ladder in _ROW_LADDERS.items():
            points = []
            for channels, size, images in (ladder[:1] + ladder[-1:] if quick else ladder):
                groups = channels if cls == "depthwise" else 1
                layer = torch.nn.Conv2d(channels, channels, 3, padding=1, groups=groups,
                                        bias=False).to(dev, dt).eval()  # fmt: skip
                x = torch.randn(images, channels, size, size, device=dev).to(dt)
                macs = images * channels * (channels // groups) * 9 * size * size
                r = macs / timed(lambda c=layer, x=x: c(x))
                points.append([images * size * size, float(f"{min(1.0, r / rate):.3g}")])
            by_rows.setdefault(cls, {})[name] = points
            measured[f"{cls}_by_rows_{name}"] = [list(p) for p in points]  # no YAML alias
        if progress:
            progress(f"{name}: " + ", ".join(f"{cls} {r / 1e9:.1f}" for cls, r in rates.items())
                     + " GMAC/s")  # fmt: skip
    if dev.type == "cuda":
        sizes = [(64 if quick else 1024) << 20]
    else:
        sizes = [1 << 20, 4 << 20] if quick else [4 << 20, 8 << 20, 16 << 20, 24 << 20]
    copy_seconds = 0.0
    for size in sizes:
        src = torch.empty(size, dtype=torch.uint8, device=dev).fill_(1)
        copy_seconds += timed(lambda src=src: src.clone())
        del src
    bandwidth = 2 * sum(sizes) / copy_seconds
    if progress:
        progress(f"copy: {bandwidth / 1e9:.1f} GB/s")
    fresh = None
    if dev.type == "cpu":
        # clones of 64 and 96 MiB: read at the copy rate, write to new pages; the write's rate
        # is what is left of the time after the read
        big = [8 << 20, 12 << 20] if quick else [64 << 20, 96 << 20]
        seconds = 0.0
        for size in big:
            src = torch.empty(size, dtype=torch.uint8).fill_(1)
            seconds += timed(lambda src=src: src.clone())
            del src
        write = seconds - sum(big) / bandwidth
        if write > 0:
            fresh = {"threshold_bytes": 32 << 20,
                     "bandwidth": float(f"{sum(big) / write:.4g}")}  # fmt: skip
            if progress:
                progress(f"writes to fresh pages: {fresh['bandwidth'] / 1e9:.2f} GB/s")
    shape = (2, 16, 56, 56) if quick else ((16, 64, 112, 112) if dev.type == "cuda"
                                           else (8, 64, 56, 56))  # fmt: skip
    x = torch.randn(*shape, device=dev)
    nbytes = x.numel() * 4
    bn = torch.nn.BatchNorm2d(shape[1]).to(dev).eval()
    halves = (x[:, : shape[1] // 2].contiguous(), x[:, shape[1] // 2 :].contiguous())
    memory_eff = {
        "elementwise": 2 * nbytes / timed(lambda x=x: torch.relu(x)),
        "norm": 2 * nbytes / timed(lambda x=x: bn(x)),
        "copy": 2 * nbytes / timed(lambda h=halves: torch.cat(h, 1)),
    }
    memory_eff = {k: float(f"{min(1.0, v / bandwidth):.3g}") for k, v in memory_eff.items()}
    pool = torch.nn.MaxPool2d(3, 1, 1)
    ops_rate = 8 * x.numel() / timed(lambda x=x: pool(x))
    del x, halves
    tiny = torch.nn.ReLU().to(dev)
    one = torch.ones(1, device=dev)

    def calls(fn):
        def run():
            for _ in range(100):
                fn(one)

        return timed(run) / 100

    kernel_s = calls(torch.relu)
    module_s = max(0.0, calls(tiny) - kernel_s)
    if progress:
        progress(f"memory efficiency {memory_eff}; other ops: {ops_rate / 1e9:.2f} G/s; "
                 f"host: {kernel_s * 1e6:.1f} us per op, {module_s * 1e6:.1f} us per module "
                 "call")  # fmt: skip
    warning = spread_warning(_SPREADS)
    measured["max_spread"] = round(max(_SPREADS, default=0.0), 3)
    if warning and progress:
        progress(warning)
    title = torch.cuda.get_device_name(dev) if dev.type == "cuda" else _cpu_name()
    measured.update(torch=str(torch.__version__), threads=torch.get_num_threads(),
                    python=platform.python_version(), clock=clock, copy_bytes=sizes)  # fmt: skip
    what = "archcost calibrate microbenchmarks on this machine (see archcost.latency.calibrate)"
    return {
        "name": "calibrated-" + dev.type,
        "title": f"{title} (calibrated)",
        "kind": dev.type,
        "source": "archcost calibrate: measured on this machine with torch "
                  f"{torch.__version__}, {torch.get_num_threads()} threads",
        "peak_macs_per_s": peaks,
        "memory_bandwidth": float(f"{bandwidth:.4g}"),
        "window_ops_per_s": float(f"{ops_rate:.4g}"),
        **({"fresh_pages": fresh} if fresh else {}),
        "efficiency": {"compute": compute_eff, "memory": memory_eff, "by_rows": by_rows},
        "host": {"module_s": float(f"{module_s:.3g}"), "kernel_s": float(f"{kernel_s:.3g}")},
        "sources": {"peak_macs_per_s": what, "efficiency": what, "memory_bandwidth": what,
                    "host": what},
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
