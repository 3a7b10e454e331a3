"""The torch backend: a real ``torch.nn.Module`` built from an evaluated Network, and the
measurements that check the static numbers against it.

Nothing on archcost's static path imports this module; commands import it lazily (through
:func:`archcost.commands._torch.backend`, which turns a missing torch into a one-line error).

* :func:`build_module` makes one torch submodule per primitive node, chosen by the registry
  :data:`archcost.torch_modules.FACTORIES` (one small factory per primitive in
  :data:`archcost.layers.PRIMITIVES`) and registered under a name derived from the node id.
  Factories see the spec's fields and the input shapes torch computed (a meta-device pass),
  never archcost's static shapes or its padding rules, so ``verify`` does not share the code it
  checks; a node torch cannot run is a :class:`BuildError`. The forward pass walks
  ``network.nodes`` in order, feeding each node its inputs; nothing is written per network.
* :func:`measure` runs one forward pass (real, or on the meta device) and returns, per node,
  the parameter count (``numel``), the buffers, MACs from ``FlopCounterMode`` (convolution
  and matmul FLOPs / 2) and the output shape and numel (forward hooks); :func:`compare` sets
  them beside the static numbers (:func:`compare_failed` after a BuildError).
* :func:`fold_module` folds batch norm into the preceding conv/linear weights, mirroring the
  static :func:`archcost.fold.fold_bn`.
* :func:`bench` times forward passes (see its docstring for how peak memory is measured).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import os
import platform
import re
import resource
import statistics
import sys
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from . import layers as L
from .errors import SpecError
from .fold import fold_bn
from .torch_modules import FACTORIES

# ---------------------------------------------------------------- node modules


class BuildError(Exception):
    """torch could not run a node with the inputs it computed (shapes that do not fit, e.g.
    an add of two branches whose real shapes differ). ``node`` is the node's id, ``shapes``
    the per-sample output shapes torch computed before it."""

    def __init__(self, node, message, shapes):
        super().__init__(f"{node}: {message}")
        self.node, self.message, self.shapes = node, message, shapes


def _aliasing() -> set:
    """Ops whose torch output may share storage with their input: views (flatten, slice),
    the input itself (dropout at inference), in-place activations. archcost marks all but
    flatten ``inplace`` (no new activation memory)."""
    return {"flatten", *(name for name, p in L.PRIMITIVES.items() if p.inplace)}


# ---------------------------------------------------------------- the network module


def sanitise(node_id: str) -> str:
    """A module name from a node id: runs of anything but [A-Za-z0-9_] become one '_'."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", node_id).strip("_")
    return name or "node"


def is_train_only(node) -> bool:
    return node.row is not None and node.row.train_only


class ArchcostNet(nn.Module):
    """The module :func:`build_module` returns; see there."""

    def __init__(self, network, meta=False):
        super().__init__()
        self.meta = meta
        missing = sorted({n.op for n in network.nodes} - set(FACTORIES))
        if missing:
            raise SpecError(f"no torch factory for primitive(s): {', '.join(missing)}")
        self.network_name = network.name
        self.input_shape = tuple(network.input.shape)
        index = {id(network.input): -1}
        consumers: dict[int, list] = {id(network.input): []}
        for i, node in enumerate(network.nodes):
            index[id(node)] = i
            consumers[id(node)] = []
            for inp in node.inputs:
                consumers[id(inp)].append(node)
        main, aux = network.outputs()
        outputs = {id(main), *(id(a) for a in aux)}
        aliasing = _aliasing()
        self.names: dict[str, str] = {}  # node id -> module name
        self.node_ids: dict[str, str] = {}  # module name -> node id
        self.inplace: dict[str, bool] = {}  # node id -> built with inplace=True
        self.shapes: dict[str, tuple] = {}  # node id -> per-sample output shape, torch's
        plan = []
        taken = set(dir(self))
        # shapes flow through torch itself: a meta-device pass (no memory, no arithmetic)
        # gives each factory the real shapes of its inputs
        # token ids in (an embedding reads the input): integer ids below the smallest vocabulary
        vocabs = [n.fields["vocab"] for n in network.nodes
                  if n.op == "embedding" and network.input in n.inputs]  # fmt: skip
        self.id_range = min(vocabs) if vocabs else None
        values = {-1: torch.empty((1, *self.input_shape), device="meta",
                                  dtype=torch.long if self.id_range else torch.float32)}
        suffix: dict = {}  # base -> next suffix to try: n names sharing one base stay linear
        safe_memo: dict = {}  # see _inplace_safe: linear in a chain of in-place layers
        for node in network.nodes:
            name = base = sanitise(node.id)
            n = suffix.get(base, 2)
            while name in taken:
                name = f"{base}_{n}"
                n += 1
            suffix[base] = n
            taken.add(name)
            prim = L.PRIMITIVES[node.op]
            inplace = prim.inplace and _inplace_safe(node, network, consumers, outputs, aliasing,
                                                     safe_memo)  # fmt: skip
            inputs = [values[index[id(x)]] for x in node.inputs]
            module, values[index[id(node)]] = _build_node(node, inplace, inputs, self.shapes,
                                                          meta)  # fmt: skip
            self.add_module(name, module)
            self.names[node.id] = name
            self.node_ids[name] = node.id
            self.inplace[node.id] = inplace
            self.shapes[node.id] = tuple(values[index[id(node)]].shape[1:])
            plan.append((name, tuple(index[id(x)] for x in node.inputs), is_train_only(node)))
            if node.op == "linear" and node.fields.get("tied"):
                _tie(self, node, module)
        self._plan = plan
        self._main = index[id(main)]
        self._aux = [index[id(a)] for a in aux]
        self._aux_names = [a.id for a in aux]
        self._free = {with_aux: _last_uses(plan, self._main, self._aux if with_aux else [],
                                           with_aux) for with_aux in (False, True)}  # fmt: skip
        # None: return aux outputs in training mode only (like torchvision's GoogLeNet);
        # True/False forces it (verify --train counts the aux heads in eval mode).
        self.return_aux: bool | None = None

    def example_input(self, batch=1, dev="cpu", dtype=torch.float32, generator=None):
        """A random input batch: normal floats, or token ids below the smallest vocabulary."""
        shape = (batch, *self.input_shape)
        if self.id_range:
            return torch.randint(0, self.id_range, shape, generator=generator).to(dev)
        return torch.randn(shape, generator=generator).to(dev, dtype)

    @property
    def has_aux(self) -> bool:
        return bool(self._aux)

    def module_for(self, node_id: str) -> nn.Module:
        return self._modules[self.names[node_id]]

    def forward(self, x):
        with_aux = self.has_aux and (self.training if self.return_aux is None else self.return_aux)
        free = self._free[with_aux]
        values: dict[int, torch.Tensor] = {-1: x}
        modules = self._modules
        for i, (name, inputs, train_only) in enumerate(self._plan):
            if train_only and not with_aux:
                continue
            values[i] = modules[name](*(values[j] for j in inputs))
            for j in free[i]:
                del values[j]
        if with_aux:
            return values[self._main], [values[j] for j in self._aux]
        return values[self._main]


def _tie(model, node, linear):
    """``tied: true``: the linear layer's weight IS an earlier layer's (GPT-2's head and the
    token embedding wte; two linear layers sharing one matrix), the latest embedding or linear
    layer with a weight of the same shape; counted once by torch."""
    for other in reversed(list(model.children())[:-1]):
        if isinstance(other, (nn.Embedding, nn.Linear)) and \
                other.weight.shape == linear.weight.shape:  # fmt: skip
            linear.weight = other.weight
            return
    raise BuildError(node.id, "tied: true, but no earlier embedding or linear layer has a "
                     f"{tuple(linear.weight.shape)} weight to share", dict(model.shapes))


def _build_node(node, inplace, inputs, shapes_so_far, meta=False):
    """(module, output on the meta device) for one node, given its inputs as meta tensors.

    The factory sees only the node's fields and the input shapes torch computed; torch
    computes the output. Anything torch refuses (shapes that do not fit) is a BuildError
    naming the node. An op without a meta kernel runs once on zeros on the CPU instead.
    """
    shapes = [tuple(x.shape[1:]) for x in inputs]
    try:
        with torch.device("meta") if meta else contextlib.nullcontext():
            module = FACTORIES[node.op](node, inplace, shapes)
        with torch.device("meta"):  # never in place: the meta inputs are read again
            probe = FACTORIES[node.op](node, False, shapes).eval()
        try:
            with torch.no_grad():
                out = probe(*inputs)
        except NotImplementedError:
            with torch.no_grad():
                zeros = [torch.zeros(x.shape, dtype=x.dtype) for x in inputs]
                out = module.eval()(*zeros).to("meta")
            module.train()
    except (RuntimeError, ValueError, TypeError, IndexError, KeyError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BuildError(node.id, f"torch cannot build or run it on inputs "
                         f"{', '.join('x'.join(map(str, s)) for s in shapes)}: {first}",
                         dict(shapes_so_far)) from err  # fmt: skip
    return module, out


def _last_uses(plan, main, aux, with_aux):
    """free[i]: values no longer needed after step i (keeps peak memory like a hand-written
    model's: intermediates die after their last reader)."""
    last = {}
    for i, (_, inputs, train_only) in enumerate(plan):
        if train_only and not with_aux:
            continue
        for j in inputs:
            last[j] = i
    keep = {main, *aux, -1}
    free = {i: [] for i in range(len(plan))}
    for j, i in last.items():
        if j not in keep:
            free[i].append(j)
    for i, (_, _, train_only) in enumerate(plan):
        if i not in last and i not in keep and (with_aux or not train_only):
            free[i].append(i)  # read by nobody: drop it at once
    return free


def _inplace_safe(node, network, consumers, outputs, aliasing, memo=None) -> bool:
    """Overwriting ``node``'s input is safe iff nobody else reads that storage: walking back
    through ops that may alias their input (views, identity dropout, activations), every
    tensor on the way has this chain as its only reader, is not an output, and the chain
    does not reach the network input (the caller's tensor).

    Every tensor on one walk has the same answer; with ``memo`` (a dict kept across the nodes
    of one network) each is walked once, so a chain of n in-place layers is O(n), not O(n**2).
    """
    if not node.inputs:  # a source (a learned tensor) writes nothing over anything
        return False
    memo = {} if memo is None else memo
    cur = node.inputs[0]
    walked = []
    while True:
        known = memo.get(id(cur))
        if known is not None:
            answer = known
            break
        walked.append(id(cur))
        if cur is network.input or cur.op == "input" or not cur.inputs:
            answer = False
            break
        if len(consumers[id(cur)]) != 1 or id(cur) in outputs:
            answer = False
            break
        if cur.op not in aliasing:
            answer = True
            break
        cur = cur.inputs[0]
    for key in walked:
        memo[key] = answer
    return answer


def build_module(network, device=None) -> ArchcostNet:
    """A torch module computing ``network`` (built with ``archcost.spec.build``).

    Each primitive node becomes one submodule named after its node id (sanitised; see
    ``.names``). In eval mode ``forward(x)`` returns the main output; when the Network was
    built with ``train=True`` and the module is in training mode (or ``return_aux = True``),
    it returns ``(main_output, [aux outputs in row order])``.

    ``device="meta"``: parameters without storage. torch's shape functions and
    FlopCounterMode's formulas still give every shape, numel and FLOP (:func:`measure` on
    the meta device), so a network of any size is checked in seconds; nothing is computed.
    """
    if network.nodes and any(not isinstance(d, int) for d in network.input.shape):
        raise SpecError("build_module needs numbers, not symbols")
    return ArchcostNet(network, meta=str(device) == "meta")


# ---------------------------------------------------------------- measuring


_MAC_OPS = ("convolution", "mm", "addmm", "bmm", "baddbmm")


def _device(name: str) -> torch.device:
    if str(name) == "cuda" and not torch.cuda.is_available():
        raise SpecError("--device cuda: no CUDA GPU is available to torch "
                        "(torch.cuda.is_available() is False)")  # fmt: skip
    return torch.device(name)


def device(name: str) -> torch.device:
    """``cpu`` or ``cuda``; a SpecError for cuda without a GPU."""
    return _device(name)


def running_stat_buffers(module: nn.Module, recurse=True) -> tuple[int, int]:
    """(running mean/var elements, num_batches_tracked elements).

    BN's ``num_batches_tracked`` is a 0-d int64 step counter used only for momentum=None;
    archcost's buffers are the statistics (2*C per BN), so the counter is reported apart.
    """
    stats = counters = 0
    for name, buf in module.named_buffers(recurse=recurse):
        if name.rsplit(".", 1)[-1] == "num_batches_tracked":
            counters += buf.numel()
        else:
            stats += buf.numel()
    return stats, counters


def measure(model: ArchcostNet, network, dev="cpu", dtype=torch.float32, batch=1, seed=0):
    """One real forward pass: per node params, bias, buffers, MACs and output shape.

    Returns {"nodes": {node_id: {...}}, "params", "buffers", "counters", "macs",
    "other_flops"}. MACs are FlopCounterMode's convolution + matmul FLOPs / 2, per submodule
    (its module hierarchy) and in total ("Global"); other_flops is anything else it counted.
    """
    dev = torch.device(dev)
    model = model.to(dev, dtype)
    model.eval()
    shapes: dict[str, tuple] = {}
    hooks = []
    for node_id, name in model.names.items():

        def hook(mod, args, out, node_id=node_id):
            shapes[node_id] = tuple(out.shape[1:])

        hooks.append(model._modules[name].register_forward_hook(hook))
    gen = torch.Generator().manual_seed(seed)
    x = model.example_input(batch, dev, dtype, gen)
    for mod in model.modules():
        if hasattr(mod, "explicit"):  # fused kernels FlopCounterMode cannot see
            mod.explicit = True
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(x)
    finally:
        for h in hooks:
            h.remove()
        for mod in model.modules():
            if hasattr(mod, "explicit"):
                mod.explicit = False
    counts = counter.get_flop_counts()
    prefix = type(model).__name__ + "."

    def mac_flops(table):
        return sum(v for op, v in table.items() if str(op).split(".")[-1] in _MAC_OPS)

    nodes = {}
    seen: set[int] = set()  # a shared tensor (tied weights) counts for its first owner only
    for node_id, name in model.names.items():
        mod = model._modules[name]
        own = [(pname, p) for pname, p in mod.named_parameters() if id(p) not in seen]
        seen.update(id(p) for _, p in own)
        flops = mac_flops(counts.get(prefix + name, {}))
        # archcost's "bias" is a conv/linear layer's bias; BN's beta (torch's bn.bias) is a
        # weight in its convention
        stats, _ = running_stat_buffers(mod)
        nodes[node_id] = {
            "module": name,
            "params": sum(p.numel() for _, p in own),
            "bias": 0 if isinstance(mod, nn.modules.batchnorm._BatchNorm) else sum(
                p.numel() for pname, p in own if pname.rsplit(".", 1)[-1].startswith("bias")),
            "buffers": stats,
            "flops": flops // batch,
            "macs": flops // (2 * batch) if flops % (2 * batch) == 0 else flops / (2 * batch),
            "shape": shapes.get(node_id),
            "numel": math.prod(shapes[node_id]) if node_id in shapes else None,
            "inplace": model.inplace[node_id],
        }
    total = counts.get("Global", {})
    stats, counters = running_stat_buffers(model)
    mac_total = mac_flops(total)
    return {
        "nodes": nodes,
        "params": sum(p.numel() for p in model.parameters()),
        "buffers": stats,
        "counters": counters,
        "macs": mac_total // (2 * batch),
        "other_flops": sum(total.values()) - mac_total,
        "batch": batch,
    }


def static_row(node) -> dict:
    return {"params": node.params, "bias": node.bias, "buffers": node.buffers,
            "macs": node.macs, "shape": list(node.shape), "numel": L.elements(node.shape)}  # fmt: skip


# ops whose counts torch cannot measure: a user-defined primitive's are the spec's own
# expressions (its torch stand-in has the declared shape and nothing else)
UNCHECKED = ("custom",)


def _static_totals(network, exclude=frozenset()) -> dict:
    """params, MACs, buffers, and the activations that are layer outputs: archcost's total
    activations less the intermediates it counts inside a node (attention's q, k, v and
    scores: ``extra``), which torch's per-node outputs cannot show. Nodes in ``exclude``
    (unchecked user primitives) are left out of params, MACs and buffers."""
    extra = sum(getattr(n, "extra", 0) or 0 for n in network.nodes)
    skip = [n for n in network.nodes if n.id in exclude]
    return {"params": network.total("params") - sum(n.params for n in skip),
            "macs": network.total("macs") - sum(n.macs for n in skip),
            "buffers": network.total("buffers") - sum(n.buffers for n in skip),
            "activations": network.total("activations") - extra}  # fmt: skip


def _torch_activations(network, measured):
    """Activation elements per sample as torch writes them: the output numel of every node
    that archcost does not mark in place (the in-place marks are archcost's convention; the
    sizes are torch's)."""
    total = 0
    for node in network.nodes:
        got = measured["nodes"].get(node.id)
        if got is not None and got["numel"] is not None and not node.inplace:
            total += got["numel"]
    return total


def compare(network, measured) -> dict:
    """Set the static per-node numbers beside the measured ones.

    A node agrees when params, bias, buffers and MACs are equal exactly and the output shape
    is the static per-sample shape. Returns {"ok", "rows", "static", "torch"}.
    """
    rows = []
    unchecked = []
    for node in network.nodes:
        got = measured["nodes"].get(node.id)
        static = static_row(node)
        if node.op in UNCHECKED and got is not None:
            unchecked.append(node.id)
            rows.append({"node": node.id, "op": node.op, "module": got["module"],
                         "row": node.row.id if node.row is not None else None,
                         "static": static, "torch": None, "ok": True, "differs": [],
                         "unchecked": True})  # fmt: skip
            continue
        if got is None:
            real = None
            diff = ["missing"]
        else:
            real = {k: got[k] for k in ("params", "bias", "buffers", "macs", "numel")}
            real["shape"] = list(got["shape"]) if got["shape"] is not None else None
            diff = [k for k in static if static[k] != real[k]]
        rows.append({"node": node.id, "op": node.op, "module": got and got["module"],
                     "row": node.row.id if node.row is not None else None,
                     "static": static, "torch": real, "ok": not diff, "differs": diff})  # fmt: skip
    static_totals = _static_totals(network, exclude=set(unchecked))
    torch_totals = {"params": measured["params"], "macs": measured["macs"],
                    "buffers": measured["buffers"],
                    "activations": _torch_activations(network, measured),
                    "num_batches_tracked": measured["counters"],
                    "other_flops": measured["other_flops"]}  # fmt: skip
    totals_ok = all(static_totals[k] == torch_totals[k] for k in static_totals)
    return {"ok": totals_ok and all(r["ok"] for r in rows), "rows": rows,
            "static": static_totals, "torch": torch_totals, "unchecked": unchecked}  # fmt: skip


def compare_failed(network, err: BuildError) -> dict:
    """compare()'s result when torch could not run the network (a BuildError): the nodes
    before the failing one are compared on shape (torch's shapes from the meta pass), the
    failing node carries torch's message, and the rest were not reached. Never ok."""
    rows = []
    for node in network.nodes:
        static = static_row(node)
        real, diff = None, ["not reached"]
        if node.id in err.shapes:
            shape = list(err.shapes[node.id])
            real = {"shape": shape, "numel": math.prod(shape)}
            diff = [k for k in ("shape", "numel") if static[k] != real[k]]
        elif node.id == err.node:
            real, diff = {"error": err.message}, ["torch error"]
        rows.append({"node": node.id, "op": node.op, "module": None,
                     "row": node.row.id if node.row is not None else None,
                     "static": static, "torch": real, "ok": not diff, "differs": diff})  # fmt: skip
    static_totals = _static_totals(network)
    return {"ok": False, "rows": rows, "static": static_totals, "torch": None,
            "error": str(err)}  # fmt: skip


# ---------------------------------------------------------------- batch-norm folding


def randomise_bn(model: nn.Module, seed=0) -> None:
    """Give every BN non-trivial affine parameters and running statistics (at init they are
    1, 0, 0, 1 and folding them would be a no-op test)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                c = mod.num_features
                mod.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                mod.bias.copy_(torch.randn(c, generator=gen) * 0.2)
                mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
                mod.running_var.copy_(torch.rand(c, generator=gen) + 0.5)


def fold_module(model: ArchcostNet, network):
    """(folded Network, folded module) with the BN weights absorbed into conv/linear:

    s = gamma / sqrt(running_var + eps); w' = w * s (per output channel);
    b' = (b - running_mean) * s + beta, with b = 0 where the layer had no bias.
    Other weights are copied. The module is built from :func:`archcost.fold.fold_bn`'s
    Network, so its counts can be checked against the static folded counts.
    """
    folded = fold_bn(network)
    new = build_module(folded)
    pairs = folded.meta.get("folded_bn", {})
    with torch.no_grad():
        for node in folded.nodes:
            src, dst = model.module_for(node.id), new.module_for(node.id)
            if node.id not in pairs:
                dst.load_state_dict(src.state_dict())
                continue
            bn = model.module_for(pairs[node.id])
            scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
            w = src.weight.double()
            dst.weight.copy_(w * scale.reshape(-1, *([1] * (w.dim() - 1))))
            b = src.bias.double() if src.bias is not None else torch.zeros_like(scale)
            dst.bias.copy_((b - bn.running_mean.double()) * scale + bn.bias.double())
    new.return_aux = model.return_aux
    return folded, new.to(next(model.parameters(), torch.empty(0)).device)


@contextlib.contextmanager
def _no_tf32():
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


FOLD_RTOL = 1e-4
FOLD_ATOL = 1e-5


def check_fold(model, folded_model, dev="cpu", batch=1, seed=1) -> dict:
    """Outputs of the unfolded and folded modules in eval mode, float32, on one random batch.

    Agreement: |a - b| <= FOLD_ATOL * max|a| + FOLD_RTOL * |a| elementwise (the absolute part
    scaled to the output's magnitude; TF32 is switched off on GPU).
    """
    dev = torch.device(dev)
    model, folded_model = model.to(dev).eval(), folded_model.to(dev).eval()
    gen = torch.Generator().manual_seed(seed)
    x = model.example_input(batch, dev, torch.float32, gen)
    with torch.no_grad(), _no_tf32():
        ref, got = model(x), folded_model(x)
    ref = [ref[0], *ref[1]] if isinstance(ref, tuple) else [ref]
    got = [got[0], *got[1]] if isinstance(got, tuple) else [got]
    worst_abs = worst_rel = 0.0
    ok = True
    for a, b in zip(ref, got, strict=True):
        scale = a.abs().max().item() or 1.0
        err = (a - b).abs()
        ok &= bool((err <= FOLD_ATOL * scale + FOLD_RTOL * a.abs()).all())
        worst_abs = max(worst_abs, err.max().item())
        worst_rel = max(worst_rel, err.max().item() / scale)
    return {"ok": ok, "max_abs_diff": worst_abs, "max_diff_over_max_output": worst_rel,
            "rtol": FOLD_RTOL, "atol_relative_to_max": FOLD_ATOL}  # fmt: skip


# ---------------------------------------------------------------- benchmarking

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def environment(dev: torch.device) -> dict:
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev)
    else:
        name = _cpu_name()
    return {"device_name": name, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "python": platform.python_version()}  # fmt: skip


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} CPUs)"
    return platform.processor() or platform.machine()


class _CpuPeak:
    """Peak resident-memory growth of this process over a block of work.

    Linux: free what can be freed (gc, glibc ``malloc_trim(0)`` hands cached free memory
    back to the OS so it cannot hide the growth), reset the high-water mark by writing 5
    to /proc/self/clear_refs, note VmRSS, run, then read VmHWM: growth = VmHWM - VmRSS at
    the start. Elsewhere: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` before and after,
    which cannot be reset, so it is a lower bound (0 when an earlier peak was higher).
    """

    method_linux = ("peak RSS growth over the timed passes: VmHWM (reset via "
                    "/proc/self/clear_refs after gc + malloc_trim) minus VmRSS before them")  # fmt: skip
    method_rusage = "peak RSS growth: ru_maxrss delta (a lower bound; cannot be reset)"

    def __enter__(self):
        gc.collect()
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        self.linux = False
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.start = _status_kib("VmRSS")
            self.linux = self.start is not None
        except OSError:
            pass
        if not self.linux:
            self.start = _maxrss_kib()
        self.peak = None
        return self

    def __exit__(self, *exc):
        end = _status_kib("VmHWM") if self.linux else _maxrss_kib()
        self.peak = max(0, end - self.start) * 1024
        return False

    @property
    def method(self):
        return self.method_linux if self.linux else self.method_rusage


def _status_kib(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _maxrss_kib():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS


def _is_oom(err: BaseException) -> bool:
    if isinstance(err, torch.OutOfMemoryError):
        return True
    text = str(err).lower()
    return isinstance(err, (RuntimeError, MemoryError)) and (
        "out of memory" in text or "can't allocate memory" in text or isinstance(err, MemoryError)
    )


def _percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def bench(network, dev="cpu", batches=(1,), dtype="float32", channels_last=False, compile=False,
          warmup=3, repeat=10, progress=None, budget=None):  # fmt: skip
    """Time forward passes of ``network`` under torch.inference_mode, one configuration per
    batch size. Returns (environment dict, [result dicts]).

    Timing: ``warmup`` untimed passes, then ``repeat`` timed ones; on GPU each is timed with
    CUDA events, on CPU with time.perf_counter around the pass (torch.cpu.synchronize first
    and after). throughput = batch / median seconds; tflops = 2 * MACs * batch / median / 1e12
    with the static MACs (which verify checks against torch).
    Peak memory, over the timed passes (after warm-up): GPU: torch.cuda.max_memory_allocated()
    minus the memory allocated before them (weights, the input batch and anything warm-up left
    allocated). CPU: peak RSS growth, see _CpuPeak.
    An out-of-memory error marks that configuration "oom" and the next one runs.
    ``progress(advance)`` is called after each pass. ``budget`` (seconds, None: none): once
    spent, warm-up stops, a configuration ends after the timed passes done (at least one),
    and the later configurations are "skipped" (the first always runs); ``passes`` says how
    many passes were timed.
    """
    deadline = None if budget is None else time.monotonic() + budget
    dev = _device(dev)
    tdtype = DTYPES[dtype]
    env = environment(dev)
    env["memory_method"] = ("torch.cuda.max_memory_allocated() during the timed passes minus "
                            "memory allocated before them (weights + input)") if dev.type == "cuda" \
        else (_CpuPeak.method_linux if os.path.exists("/proc/self/clear_refs")
              else _CpuPeak.method_rusage)  # fmt: skip
    macs = network.total("macs")
    model = build_module(network).eval()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(dev, tdtype, memory_format=fmt) if channels_last else model.to(dev, tdtype)
    runner = torch.compile(model) if compile else model
    env["weights_bytes"] = sum(p.numel() * p.element_size() for p in model.parameters()) + sum(
        b.numel() * b.element_size() for b in model.buffers()
    )
    results = []
    for batch in batches:
        res = {"network": network.name, "device": dev.type, "dtype": dtype, "batch": batch,
               "median_ms": None, "min_ms": None, "p90_ms": None, "throughput": None,
               "tflops": None, "peak_memory_bytes": None, "status": "ok", "passes": 0}  # fmt: skip
        if results and deadline is not None and time.monotonic() > deadline:
            res["status"] = "skipped"  # the time budget is spent (the first always runs)
            if progress:
                progress(None)
            results.append(res)
            continue
        try:
            times, peak = _time_one(runner, model, dev, tdtype, fmt, batch, warmup,
                                    repeat, progress, deadline)  # fmt: skip
        except Exception as err:  # noqa: BLE001 - reported per configuration
            if _is_oom(err):
                res["status"] = "oom"
            else:
                first = str(err).splitlines()[0] if str(err) else ""
                res["status"], res["error"] = "error", f"{type(err).__name__}: {first}"
            times = None
        if times is None:
            # outside the except block, so the traceback no longer holds the failed batch
            gc.collect()
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            if progress:
                progress(None)
            results.append(res)
            continue
        med = statistics.median(times)
        res["passes"] = len(times)
        res.update(median_ms=med * 1e3, min_ms=min(times) * 1e3, p90_ms=_percentile(times, 0.9) * 1e3,
                   throughput=batch / med, tflops=2 * macs * batch / med / 1e12,
                   peak_memory_bytes=peak)  # fmt: skip
        results.append(res)
    return env, results


def _time_one(runner, model, dev, dtype, fmt, batch, warmup, repeat, progress, deadline=None):
    """Warm-up passes, then the timed passes; peak memory is taken over the timed passes only
    (steady state: one-time allocations of the first passes, such as oneDNN/cuDNN caches and
    workspaces, are part of the baseline once warm-up ran)."""
    times = []
    with torch.inference_mode():
        x = model.example_input(batch, dev, dtype)
        if fmt is torch.channels_last:
            x = x.contiguous(memory_format=fmt)
        for _ in range(warmup):
            if deadline is not None and time.monotonic() > deadline:
                break
            runner(x)
            if progress:
                progress(1)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
            torch.cuda.reset_peak_memory_stats(dev)
            base = torch.cuda.memory_allocated(dev)
            tracker = contextlib.nullcontext()
        else:
            tracker = _CpuPeak()
        with tracker:
            for _ in range(repeat):
                if times and deadline is not None and time.monotonic() > deadline:
                    break
                if dev.type == "cuda":
                    start = torch.cuda.Event(enable_timing=True)
                    end = torch.cuda.Event(enable_timing=True)
                    start.record()
                    runner(x)
                    end.record()
                    end.synchronize()
                    times.append(start.elapsed_time(end) / 1e3)
                else:
                    torch.cpu.synchronize()
                    t0 = time.perf_counter()
                    runner(x)
                    torch.cpu.synchronize()
                    times.append(time.perf_counter() - t0)
                if progress:
                    progress(1)
        if dev.type == "cuda":
            peak = torch.cuda.max_memory_allocated(dev) - base
        else:
            peak = tracker.peak
        del x
    return times, peak
