"""Activation memory: which tensors are alive at each layer, in inference and in training.

Everything here is static (no torch): the numbers come from the evaluated
:class:`~archcost.graph.Network` and a model of what PyTorch allocates when it runs the
network the way :func:`archcost.torch_backend.build_module` does (one module per node, each
intermediate tensor dropped after its last reader, activations in place where that is safe).

Inference (:func:`inference`), one step per node in execution order:

* A tensor lives from the node that makes it to its last reader. The network input is the
  caller's tensor and lives for the whole pass; so do the outputs (the caller receives them).
  Live bytes at step i = every tensor made at or before i and read at or after i, plus the
  node's transient buffers (below). The peak is the largest such sum.
* **Views and in-place nodes allocate nothing** and extend the life of their input's storage
  to their own last reader: ``flatten`` and ``slice`` are views; ``dropout`` at inference
  returns its input
  itself; activations that torch can run in place (``nn.ReLU(inplace=True)`` and likewise
  relu6, leaky_relu, elu, hardswish, hardsigmoid, silu) write over their input when that is
  safe: the input is not the network input, not a network output and has no other reader (the
  same rule as the torch backend; otherwise the activation writes a new tensor). torch's
  ``nn.Sigmoid``, ``nn.Tanh`` and ``nn.GELU`` have no in-place form, so those always write a
  new tensor here (the table's activations column counts them as in place: it counts what the
  architecture needs, this module what torch allocates).
* **concat** materialises its output (``torch.cat`` copies); its inputs die after it unless
  read later.
* **Transient buffers** a node allocates and frees while it runs, counted at its step:
  max pooling also computes int64 indices of the output's size (``max_pool2d`` goes through
  ``max_pool2d_with_indices`` on CUDA, and on CPU too in our measurements); LRN, as
  ``F.local_response_norm`` computes it, holds three input-sized temporaries (x*x, the
  channel-padded copy, the pooled sum, scaled ...) before it writes its output: at most
  ``max(3C, 2C + size - 1) * H * W`` elements, i.e. ``max(2C, C + size - 1) * H * W`` beyond the
  output. With ``device="cpu"`` a convolution also holds a reordered copy of the larger of
  its input and output and of its weights (oneDNN converts between torch's NCHW and its
  blocked layouts; measured with torch 2.13: a copy of the input or of the output, sometimes
  of both, and of the weights). Self-attention, as ``nn.MultiheadAttention`` runs it at
  inference, holds the packed q/k/v projection and the per-head copies of q, k and v, and on
  CPU then q, k, v and the heads x L x L scores, the larger of the two
  (:func:`_attention_transient`).
* **Not modelled**: values a module's ``forward`` keeps in Python locals past their last use
  (torchvision's ViT EncoderBlock keeps the attention output ``y`` alive while its MLP runs:
  ViT-B/16 measures 28.6 % above this model at batch 2 and 8 on CPU, BENCHMARKS.md); the spec
  does not say which intermediates a forward holds. Nor convolution workspaces (cuDNN picks
  algorithms by workspace; on GPU they come from the same caching allocator and add to
  ``max_memory_allocated``), the CUDA context and library handles, allocator fragmentation
  and cached-but-free blocks (``memory_reserved`` is larger than ``memory_allocated``).
* **Allocator granularity**: with ``device="cuda"`` every tensor is rounded up to 512 bytes,
  the caching allocator's block size, which is what ``torch.cuda.max_memory_allocated``
  counts. CPU: exact bytes.

Training (:func:`training`): forward, then backward in reverse execution order (the order
torch's autograd engine runs a single-device graph), then the optimizer step, with
``zero_grad(set_to_none=True)`` (torch's default), so gradients exist from the backward step
of their layer until the optimizer step. Saved tensors are references: a tensor saved by two
layers (a ReLU's output read by the next convolution) is counted once. What each layer saves
for backward is one rule per primitive (:data:`SAVED_RULES`; a primitive without a rule fails
tests/test_memory_saved.py). Each rule was measured with ``saved_tensors_hooks`` on torch
2.13, CPU, float32 (each storage once, parameters and buffers excluded), and the test checks
every primitive against torch modules written there:

* conv, conv1d, conv3d, conv_transpose (1-D, 2-D, 3-D), linear, matmul (both inputs), scale
  (SE gating: both inputs), avgpool (any rank), adaptive_avgpool (any rank; to 1 it is a mean:
  nothing): their input (and the weight, a parameter anyway). A linear after a flatten saves
  the flattened view, i.e. the same storage. An input that is a learned tensor (``parameter``)
  is a parameter: not counted.
* maxpool, adaptive_maxpool (any rank): their input (``self``, not only its size) and the int64
  indices of the output's size.
* bn (training mode): its input, plus the batch mean and inverse std (2*C values, float32 or
  wider). layernorm: its input, and the mean and rstd per position (elements / C each, float32
  or wider). groupnorm: its input, mean and rstd per group. rmsnorm: its input, rstd per
  position, and with its scale also x * rstd (input-sized).
* relu, leaky_relu, elu in place: their output, which is the input's storage (free). Out of
  place: relu, sigmoid and tanh save their output; relu6, leaky_relu, elu, hardswish,
  hardsigmoid, silu, gelu, softplus and mish their input.
* relu6, hardswish, hardsigmoid, silu **in place**: a *copy* of the original input (their
  backward needs it and the in-place op destroys it), i.e. a new input-sized tensor.
* lrn: its input, and three of F.local_response_norm's intermediates: the channel-padded
  square ((C + size - 1) * H * W), the scaled sum and its power (C*H*W each).
* dropout (training): writes a new output and saves its mask: CUDA's fused kernel keeps a
  bool mask (1 byte per element); the CPU path keeps a scaled noise tensor of the dtype.
  With p = 0 torch returns its input: nothing saved, nothing allocated. drop_path (p > 0):
  torchvision's per-sample noise (one value per sample); p = 0: its input, as dropout.
* softmax: its output. embedding: the int64 indices.
* attention (``nn.MultiheadAttention``, batch first, ``need_weights=False``: the flash kernel
  torch runs in training): the in-projection's input copied sequence-first (L x D), the packed
  q/k/v (L x (D' + 2 kv)), the heads' output (L x D'; the out-projection reads it as it is)
  and the log-sum-exp (heads x L, float32 or wider). cross_attention: the query input's copy,
  the context's copy (once when its width is D, else once per k and v projection), q, k and v,
  the heads' output and the log-sum-exp. With ``need_weights=True`` (nn.MultiheadAttention's
  default) torch takes the math path and saves the heads x L x L probabilities instead of the
  log-sum-exp (and, self-attention, the scaled q): not modelled (the spec does not say).
  Attention dropout is not modelled either (the primitive has no dropout field).
* window_attention (torchvision's shifted_window_attention, P padded positions): the windows'
  copy, q scaled, contiguous k and v, the projection's input (P x C each) and the softmax
  output (heads x P x w^2).
* lstm (oneDNN's fused kernel on CPU): per layer its input (the first layer's a sequence-first
  copy), per direction its output, h_n and c_n and the workspace, counted as the gates and
  cell states it holds (L x 6H; oneDNN pads it: torch's is larger, by up to the kilobytes of
  its padding, more at tiny sizes), h_0 and c_0. gru (one cell per step on CPU): the input
  (the first layer's copy once per direction) and 7H per step, layer and direction.
* add, concat, flatten, slice, zero_pad, pad, reshape, permute, transpose, patchify, chunk,
  channel_shuffle, space_to_depth, upsample, mean, mul_const, global_avgpool, parameter:
  nothing (their backward needs only sizes, a constant, or the gradient itself).
* custom (a user primitive) and unknown: **unknown** (None, never 0): what they save is not
  known, so every training total that includes them is unknown (:mod:`archcost.unknown`).
* Layers whose output needs no gradient (nothing with parameters before them, e.g. a pool
  on the network input) save nothing. An unknown row whose params are unknown may have some.

Backward allocates a gradient for each tensor that needs one: every layer's backward writes
a new input-sized gradient (slice too: zeros with the gradient copied in), except flatten,
add, concat, zero_pad, reshape, permute and transpose, which pass the output's gradient (or a
view of it) through; when a tensor feeds several layers its gradients are summed (in
place when torch can, otherwise into a new tensor). Parameter gradients: one copy of the
parameters, each allocated at its layer's backward step. Optimizer state: sgd none, momentum
one copy of the parameters, adam two (exp_avg, exp_avg_sq; its per-tensor step counters are
ignored); torch's default (foreach) Adam step also allocates one parameter-sized temporary
(sqrt of exp_avg_sq), counted at the optimizer step. Everything is at ``dtype`` (pure
low-precision training; AMP's float32 master weights are not modelled). Not modelled either:
cuDNN workspaces in backward, the intermediates of LRN's and attention's backward, BN's int64
``num_batches_tracked`` counters, cuDNN's LSTM reserve space (the CPU rule is used on CUDA).

Backward MACs: a conv or linear layer costs its forward MACs for the weight gradient and
again for the input gradient, except where its input needs no gradient (the first layer).
"""

from __future__ import annotations

from dataclasses import dataclass

from .layers import ACTIVATIONS, elements
from .layers_attention import node_widths
from .layers_tensor import _features
from .nesting import row_spans
from .options import DEFAULT_DEVICE, DTYPE_BYTES  # the one --device default: table, compare, memory
from .unknown import add, mul  # an unknown row's None (archcost.unknown)

INDEX_BYTES = 8  # int64 max-pool indices
CUDA_BLOCK = 512  # the CUDA caching allocator rounds every block up to this many bytes
DEVICES = ("cuda", "cpu")
OPTIMIZER_COPIES = {"sgd": 0, "momentum": 1, "adam": 2}

# activations torch can run in place (their nn module takes inplace=True)
TORCH_INPLACE = frozenset({"relu", "relu6", "leaky_relu", "elu", "hardswish", "hardsigmoid",
                           "silu"})  # fmt: skip
# in place, autograd saves a copy of the original input (their backward needs it)
INPLACE_SAVES_COPY = frozenset({"relu6", "hardswish", "hardsigmoid", "silu"})
# out of place: what the activation's backward saves ("out" = result, "in" = input)
ACTIVATION_SAVES = {"relu": "out", "sigmoid": "out", "tanh": "out", "relu6": "in",
                    "leaky_relu": "in", "elu": "in", "hardswish": "in", "hardsigmoid": "in",
                    "silu": "in", "gelu": "in", "softplus": "in", "mish": "in"}  # fmt: skip
# ops whose torch output may share storage with their input (the torch backend's rule)
_MAY_ALIAS = frozenset({"flatten", "slice", "dropout", *ACTIVATIONS})
# views: the output is the input's storage
VIEWS = frozenset({"flatten", "slice"})
# backward passes the output gradient (or a view of it) to the inputs
_GRAD_PASSTHROUGH = frozenset({"flatten", "add", "concat", "zero_pad", "reshape", "permute",
                               "transpose"})
# backward writes a new input-sized gradient for each input that needs one (every other
# primitive; a parameter has no input). tests/test_memory_saved.py checks that the two sets
# cover the registry, so a new primitive is decided, never defaulted.
GRAD_NEW = frozenset({
    "conv", "conv1d", "conv3d", "conv_transpose", "conv_transpose1d", "conv_transpose3d",
    "linear", "matmul", "scale", "bn", "layernorm", "rmsnorm", "groupnorm", "lrn", "dropout",
    "drop_path", "softmax", *ACTIVATIONS, "maxpool", "maxpool1d", "maxpool3d", "avgpool",
    "avgpool1d", "avgpool3d", "adaptive_avgpool", "adaptive_avgpool1d", "adaptive_avgpool3d",
    "adaptive_maxpool", "adaptive_maxpool1d", "adaptive_maxpool3d", "global_avgpool", "mean",
    "mul_const", "slice", "chunk", "pad", "upsample", "channel_shuffle", "space_to_depth",
    "patchify", "embedding", "attention", "cross_attention", "window_attention", "lstm", "gru",
    "parameter", "custom", "unknown"})  # fmt: skip


def dtype_bytes(dtype: str) -> int:
    return DTYPE_BYTES[dtype]


# ---------------------------------------------------------------- graph facts


def _sizer(batch, nbytes, device):
    """size(elements per sample, bytes per element) -> bytes of one tensor at this batch,
    rounded up to the allocator's block on CUDA."""
    block = CUDA_BLOCK if device == "cuda" else 1

    def size(n_elements, per_element=nbytes, batched=True):
        raw = n_elements * (batch if batched else 1) * per_element
        return -(-raw // block) * block if raw else 0

    return size


def _transient(node, size, device, training) -> int:
    """Bytes a node allocates and frees while it runs (see the module docstring)."""
    op = node.op
    if op == "maxpool" and not training:  # in training the indices are saved instead
        return size(elements(node.shape), INDEX_BYTES)
    if op == "lrn" and not training:
        c, h, w = node.inputs[0].shape
        extra = max(2 * c, c + node.fields["size"] - 1) * h * w
        return size(extra)
    if op == "conv" and device == "cpu":
        weights = size(node.params - node.bias, batched=False)
        return max(size(elements(node.inputs[0].shape)), size(elements(node.shape))) + weights
    if op == "attention" and not training:
        return _attention_transient(node, size, device)
    return 0


def _attention_transient(node, size, device) -> int:
    """What nn.MultiheadAttention's inference path holds beyond its output while it runs.

    First the packed q/k/v projection (L x (D' + 2 kv)) and the per-head copies of q, k and v
    made from it (as much again): 2 L (D' + 2 kv). On CPU the math path then holds q, k, v
    and the scores (heads x L x L): L (D' + 2 kv) + heads L^2. The output (L x O) comes after
    both. Measured with torch 2.13 on CPU, torch.profiler's allocation record of one call
    (benchmarks: L 50 to 1000, D 256 to 768, 1 to 12 heads: the larger of the two, to 0.1%).
    On CUDA the fused kernels hold no scores: only the first term is counted (not measured).
    """
    lq = node.inputs[0].shape[0]
    inner, kv = node_widths(node)
    packed = lq * (inner + 2 * kv)
    held = 2 * packed
    if device == "cpu":
        held = max(held, packed + node.fields["heads"] * lq * lq)
    return max(0, size(held) - size(elements(node.shape)))


def largest_parameter(network) -> int:
    """Elements of the largest parameter tensor (a layer's weight, or its bias)."""
    return max((max(n.params - n.bias, n.bias) for n in network.nodes), default=0)


def adam_step_bytes(network, nbytes: int, device: str) -> int:
    """Temporaries of ``torch.optim.Adam``'s default step: on CUDA the foreach implementation
    makes ``sqrt(exp_avg_sq)`` for every parameter at once (one copy of the parameters); on CPU
    the default is the single-tensor loop, where ``exp_avg_sq.sqrt() / bias_correction2_sqrt``
    holds two temporaries of one parameter's size at a time: two copies of the largest."""
    if device == "cuda":
        return network.total("params") * nbytes
    return 2 * largest_parameter(network) * nbytes


def _workspace(node, size) -> int:
    """cuDNN's fastest float32 NCHW algorithms for k x k convolutions (FFT, Winograd) work in a
    transformed domain: a workspace of about the input plus the output (VGG-16 at batch 64 was
    measured at twice the model without it, issue 18). A bound, not cuDNN's exact choice."""
    if node.op != "conv" or all(k == 1 for k in _kernel(node)):
        return 0
    return size(elements(node.inputs[0].shape)) + size(elements(node.shape))


def _kernel(node) -> tuple:
    k = node.fields.get("k", 1)
    return tuple(k) if isinstance(k, (list, tuple)) else (k,)


# ---------------------------------------------------------------- inference


@dataclass
class NodeLive:
    node: object
    alloc_bytes: int  # new storage this node allocates for its output (0: view / in place)
    transient_bytes: int
    live_bytes: int  # bytes alive while this node runs (incl. its output and transients)
    in_place: bool


@dataclass
class Liveness:
    """Inference liveness of one network at one batch size and dtype."""

    network: object
    batch: int
    dtype: str
    device: str
    nodes: list[NodeLive]
    peak_bytes: int
    peak_index: int  # index into nodes (-1: the network input alone, a network of no nodes)
    input_bytes: int
    output_bytes: int
    weights_bytes: int
    buffers_bytes: int

    @property
    def peak_node(self):
        return self.nodes[self.peak_index].node if self.nodes else self.network.input

    @property
    def peak_layer(self) -> str:
        node = self.peak_node
        return node.row.id if node.row is not None else node.id

    @property
    def total_bytes(self) -> int:
        """Weights + buffers + peak activations: what inference needs, workspaces aside."""
        return add(self.weights_bytes, self.buffers_bytes, self.peak_bytes)  # None: unknown

    def row_live(self) -> dict:
        """Row id -> the largest live bytes during that row's nodes."""
        out: dict = {}
        for rec in self.nodes:
            row = rec.node.row
            if row is not None:
                out[row.id] = max(out.get(row.id, 0), rec.live_bytes)
        return out


def _module_groups(network) -> list:
    """Nested modules as ``(first, end)`` node-index intervals (end exclusive), outermost first.

    The expander records every row at every depth as an interval of nodes
    (:func:`archcost.nesting.row_spans`): a block instance (``conv2_x.1``), a row inside a block,
    a conv with its bn and activation. Each is a module in eager PyTorch, as torchvision writes
    them. A repeated row as a whole (the stage ``conv2_x``) is left out: torchvision writes
    some stages as one ``nn.Sequential`` (ResNet's ``layer1``) and others as part of a flat one
    (MobileNetV2's ``features``), and the spec does not say which.
    """

    spans = row_spans(network)
    repeated = {sid[:-2] for sid, _, _, _ in spans if sid.endswith(".1")}
    groups = {(start, end) for sid, _, start, end in spans
              if end - start > 1 and sid not in repeated}  # fmt: skip
    return sorted(groups, key=lambda g: (g[0], -g[1]))


def _hold_block_inputs(network, ins, owner, send) -> None:
    """Eager PyTorch keeps a module's input alive until the module returns: the caller's frame
    (``x = self.block(x)``, ``nn.Sequential``'s loop) holds it. Each input that a node of a
    nested module (:func:`_module_groups`) reads from outside the module lives until the
    module's last node. One sweep over the nodes with the stack of modules that contain the
    current one: O(nodes x nesting depth). ``ins``, ``owner`` and ``send`` as in
    :func:`_inference_steps` (storage ends are raised in place)."""
    groups = _module_groups(network)
    if not groups:
        return
    stack: list = []
    g = 0
    for i, ix in enumerate(ins):
        while stack and stack[-1][1] <= i:
            stack.pop()
        while g < len(groups) and groups[g][0] <= i:
            if groups[g][1] > i:
                stack.append(groups[g])
            g += 1
        if not stack:
            continue
        for made in ix:
            for first, end in stack:  # outermost first: the one that ends last
                if not first <= made < end:
                    t = owner[made + 1]
                    if send[t] < end - 1:
                        send[t] = end - 1
                    break


FRAMEWORKS = ("torch-eager", "ideal")
WORKSPACES = ("none", "cudnn")


def inference(network, batch: int = 1, dtype: str = "float32", device: str = "cuda",
              transients: bool = True, framework: str = "torch-eager", autocast: bool = False,
              workspace: str = "none", index=None) -> Liveness:  # fmt: skip
    """Live activation bytes at every node of ``network`` run in inference mode.

    ``framework="torch-eager"`` (the default) holds each nested module's input until the
    module returns (:func:`_hold_block_inputs`), as eager PyTorch does when a network is
    written as modules; ``"ideal"`` frees every tensor after its last reader, as archcost's own
    torch backend (one flat module per node) does.
    """
    steps = _inference_steps(network, batch, dtype, device, transients, framework, autocast,
                             workspace, index)  # fmt: skip
    peak, peak_i, in_place, alloc, extras, heres, in_bytes, out_bytes = steps
    records = [NodeLive(node, alloc[i], extras[i], heres[i], in_place[i])
               for i, node in enumerate(network.nodes)]  # fmt: skip
    wb = 4 if autocast else dtype_bytes(dtype)
    totals = network.totals()
    return Liveness(network, batch, dtype, device, records, peak, peak_i, in_bytes, out_bytes,
                    mul(totals["params"], wb), mul(totals["buffers"], wb))  # fmt: skip


def graph_index(network) -> _Index:
    """The graph facts :func:`inference` and :func:`training` both read (give it to both
    when running both on one network, as ``archcost memory`` does)."""
    return _Index(network)


class _Index:
    """The graph as positions: ``ins[i]`` the positions of node i's inputs (the network input
    is -1), ``readers[p + 1]`` how many inputs of later nodes name position p, ``outputs``
    the network's outputs (main first) and their positions."""

    def __init__(self, network):
        self.network = network
        nodes = network.nodes
        pos = {id(network.input): -1}
        for i, node in enumerate(nodes):
            pos[id(node)] = i
        self.readers = readers = [0] * (len(nodes) + 1)
        self.ins = ins = []
        for node in nodes:
            inputs = node.inputs
            if len(inputs) == 1:
                j = pos[id(inputs[0])]
                ins.append([j])
                readers[j + 1] += 1
                continue
            ix = [pos[id(x)] for x in inputs]
            ins.append(ix)
            for j in ix:
                readers[j + 1] += 1
        main, aux = network.outputs()
        self.outputs = [main, *aux]
        self.out_pos = {pos[id(o)] for o in self.outputs}
        self.pos = pos

    def aliases(self, nodes, training: bool) -> list:
        """Per node: torch's output is its input's storage (a view, dropout at inference, an
        in-place activation where :meth:`inplace_safe`)."""
        memo: dict = {}
        out = []
        for i, node in enumerate(nodes):
            op = node.op
            if op in VIEWS:
                out.append(True)
            elif op == "dropout":  # p = 0 in training: torch returns its input (no mask)
                out.append(not training or not node.fields.get("p"))
            elif op == "drop_path" and training:  # torchvision's StochasticDepth: p = 0 too
                out.append(not node.fields.get("p"))
            elif op in TORCH_INPLACE:
                out.append(self.inplace_safe(nodes, i, memo))
            else:
                out.append(False)
        return out

    def inplace_safe(self, nodes, i, memo) -> bool:
        """Overwriting node i's input is safe iff nothing else reads that storage: walking
        back through ops that may alias their input, each tensor has one reader, is not an
        output, and the walk does not reach the network input (the caller's tensor).

        Every tensor on one walk has the same answer, so each is remembered: a chain of n
        in-place activations costs O(n) in all, not O(n**2) (issue 14)."""
        ins, readers, outs = self.ins, self.readers, self.out_pos
        p = ins[i][0]
        walked = []
        while True:
            known = memo.get(p)
            if known is not None:
                answer = known
                break
            walked.append(p)
            if p == -1 or readers[p + 1] != 1 or p in outs:
                answer = False
                break
            if nodes[p].op not in _MAY_ALIAS:
                answer = True
                break
            p = ins[p][0]
        for key in walked:
            memo[key] = answer
        return answer


_TRANSIENT_OPS = frozenset({"maxpool", "lrn", "conv", "attention"})  # see _transient


def _forward_storages(network, ins, aliases, size, input_bytes, input_end):
    """The forward pass's storages, numbered by the position of the node that allocates it
    plus one (the network input's is 0): ``owner[p + 1]`` the storage of position p (its
    input's when it aliases it: a view, an in-place op), ``sbytes`` each storage's bytes and
    ``send`` the last step it is alive (inclusive), here its last forward reader's."""
    nodes = network.nodes
    n = len(nodes)
    owner = [0] * (n + 1)
    sbytes = [0] * (n + 1)
    send = [0] * (n + 1)
    sbytes[0], send[0] = input_bytes, input_end
    sized: dict = {}  # shape -> bytes of one tensor of that shape
    for i, node in enumerate(nodes):
        ix = ins[i]
        if aliases[i]:
            s = owner[ix[0] + 1]
        else:
            s = i + 1
            shape = node.shape
            b = sized.get(shape)
            if b is None:
                b = sized[shape] = size(elements(shape))
            sbytes[s] = b
            send[s] = i
        owner[i + 1] = s
        for j in ix:
            t = owner[j + 1]
            if send[t] < i:
                send[t] = i
    return owner, sbytes, send


def _inference_steps(network, batch, dtype, device, transients, framework, autocast, workspace,
                     index=None):
    """:func:`inference` on positions and lists of ints (a storage is numbered by the position
    of the node that allocates it, plus one; the network input's is 0). Returns (peak bytes,
    peak position, in place, alloc bytes, transient bytes, live bytes (per node), input
    bytes, output bytes)."""
    if device not in DEVICES:
        raise ValueError(device)
    if framework not in FRAMEWORKS:
        raise ValueError(framework)
    if workspace not in WORKSPACES:
        raise ValueError(workspace)
    nb = dtype_bytes(dtype)
    size = _sizer(batch, nb, device)
    nodes = network.nodes
    n = len(nodes)
    g = index if index is not None and index.network is network else _Index(network)
    ins = g.ins
    end = n  # alive after the last node: held by the caller
    in_bytes = 4 if autocast else nb  # autocast's input stays float32
    in_place = g.aliases(nodes, False)
    owner, sbytes, send = _forward_storages(network, ins, in_place, size,
                                            size(elements(network.input.shape), in_bytes), end)
    casts = [(size(node.params, batched=False), i) for i, node in enumerate(nodes)
             if autocast and node.macs and node.params]  # the cast cache's weight copies
    for p in g.out_pos:
        send[owner[p + 1]] = end
    if framework == "torch-eager":
        _hold_block_inputs(network, ins, owner, send)
    delta = [0] * (n + 2)
    delta[0] += sbytes[0]
    delta[min(send[0], n) + 1] -= sbytes[0]
    for s in range(1, n + 1):
        if not in_place[s - 1]:
            b = sbytes[s]
            delta[s - 1] += b
            delta[min(send[s], n) + 1] -= b
    for b, i in casts:
        delta[i] += b
        delta[n + 1] -= b
    alloc = [0] * n
    extras = [0] * n
    heres = [0] * n
    live = 0
    peak, peak_i = sbytes[0], -1
    cudnn = workspace == "cudnn" and device == "cuda" and nb == 4
    for i, node in enumerate(nodes):
        live += delta[i]
        extra = 0
        if transients and node.op in _TRANSIENT_OPS:
            extra = _transient(node, size, device, False)
        if cudnn:
            extra += _workspace(node, size)
        here = live + extra
        if not in_place[i]:
            alloc[i] = sbytes[i + 1]
        extras[i] = extra
        heres[i] = here
        if here > peak:
            peak, peak_i = here, i
    held = {owner[g.pos[id(o)] + 1] for o in g.outputs}
    out_bytes = sum(sbytes[s] for s in held)
    return peak, peak_i, in_place, alloc, extras, heres, sbytes[0], out_bytes


def peak_assumptions(device: str = DEFAULT_DEVICE) -> str:
    """The assumptions behind the one inference peak, in words, as every command prints them."""
    rounding = ("every tensor rounded up to the CUDA caching allocator's 512-byte blocks"
                if device == "cuda" else "exact bytes; oneDNN's reorder copies of each "
                "convolution's tensors included")  # fmt: skip
    return (f"peak: torch eager inference on {device}, each tensor freed after its last reader "
            f"and a module's input held until the module returns, in-place activations where "
            f"safe, the input held throughout, transient buffers (max-pool indices, LRN "
            f"temporaries) included, {rounding}")


def peak_activations(network, batch: int = 1, dtype: str = "float32",
                     device: str = DEFAULT_DEVICE) -> tuple[int, str]:
    """(bytes, row) of the inference peak: the one number every command shows.

    This is :func:`inference`'s peak (see :func:`peak_assumptions`); ``table``, ``compare``,
    ``memory`` and ``sweep`` all call it with the same defaults, so they cannot disagree.
    """
    steps = _inference_steps(network, batch, dtype, device, True, "torch-eager", False, "none",
                             None)
    peak, peak_i = steps[0], steps[1]
    node = network.nodes[peak_i] if network.nodes else network.input
    return peak, node.row.id if node.row is not None else node.id


def peak_elements(network) -> tuple[int, str]:
    """(elements, node id) of the graph's largest set of tensors alive at once, per sample.

    Graph tensors only, each freed after its last reader (the ideal liveness): no transient
    buffers, no allocator rounding and no framework, so it is a property of the architecture (it does not depend on dtype or device). The bytes the commands print come
    from :func:`peak_activations`.
    """
    live = inference(network, 1, "int8", "cpu", transients=False, framework="ideal")
    return live.peak_bytes, live.peak_node.id


# ---------------------------------------------------------------- training


@dataclass
class NodeTrain:
    node: object
    saved_bytes: int  # storages this node is the first to save for backward
    saved_extra_bytes: int  # of which tensors made only to be saved (indices, masks, copies)
    live_bytes: int  # bytes of activations alive while its forward runs
    backward_live_bytes: int  # activations + activation gradients alive during its backward
    backward_macs: int  # per sample: weight gradient + input gradient
    needs_grad: bool


@dataclass
class Training:
    """Memory of one training step: forward, backward, optimizer step."""

    network: object
    batch: int
    dtype: str
    device: str
    optimizer: str
    nodes: list[NodeTrain]
    weights_bytes: int
    buffers_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    optimizer_temp_bytes: int
    saved_bytes: int  # all tensors saved for backward, each storage once
    forward_peak_bytes: int  # activations only, at the end of the forward pass or before
    peak_bytes: int  # everything: weights, buffers, state, grads, activations
    peak_phase: str  # "forward", "backward" or "optimizer"
    peak_node: object  # the node whose forward/backward step holds the peak (None: optimizer)
    backward_macs: int  # per sample

    @property
    def peak_layer(self) -> str:
        node = self.peak_node
        if self.peak_phase is None:  # unknown (an unknown op)
            return None
        if node is None:
            return "optimizer step"
        return node.row.id if node.row is not None else node.id


# ---------------------------------------------------------------- saved for backward
#
# One rule per primitive: rule(node, ctx) -> (storages of existing tensors the node saves,
# [bytes of new tensors it saves]), or None when what it saves is unknown (custom, unknown).
# Each was measured with saved_tensors_hooks on torch 2.13 (CPU, float32, training mode):
# tests/test_memory_saved.py checks every primitive against torch on modules written there.


class _Ctx:
    """What a rule reads: the node's input storages (parameters excluded: torch does not
    count them), its output storage, the sizer, the dtype's bytes, the device, and whether
    the node runs in place."""

    __slots__ = ("inputs", "out", "size", "nb", "device", "alias")


def _nothing(node, c):  # backward needs only sizes (or the gradient alone)
    return (), ()


def _input(node, c):  # conv, linear, pools, matmul, scale: their inputs
    return c.inputs, ()


def _output(node, c):  # softmax, and relu/sigmoid/tanh out of place: their result
    return (c.out,), ()


def _stats(rows, c):
    """Per-row statistics of a norm (mean, rstd): float32, or the dtype if wider."""
    return c.size(rows, max(c.nb, 4))


def _bn(node, c):  # input + batch mean and invstd per channel (not batched)
    stat = c.size(node.shape[0], max(c.nb, 4), batched=False)
    return c.inputs, (stat, stat)


def _layernorm(node, c):  # input + mean and rstd per position (elements / C values)
    rows = elements(node.shape) // _feature_size(node)
    return c.inputs, (_stats(rows, c), _stats(rows, c))


def _rmsnorm(node, c):  # input + rstd per position; with its scale also x * rstd
    rows = elements(node.shape) // _feature_size(node)
    extra = (c.size(elements(node.shape)),) if node.params else ()
    return c.inputs, (_stats(rows, c), *extra)


def _groupnorm(node, c):  # input + mean and rstd per group
    groups = node.fields["groups"]
    return c.inputs, (_stats(groups, c), _stats(groups, c))


def _feature_size(node) -> int:
    return _features(node.shape, node.op)[1]


def _maxpool(node, c):  # input + int64 indices of the output's size
    return c.inputs, (c.size(elements(node.shape), INDEX_BYTES),)


def _adaptive_avg(node, c):  # to 1 (x 1 x 1) it is a mean: nothing
    size = node.fields["size"]
    ones = set(size if isinstance(size, (tuple, list)) else (size,)) == {1}
    return ((() if ones else c.inputs), ())


def _lrn(node, c):
    ch, h, w = node.inputs[0].shape
    return c.inputs, (c.size((ch + node.fields["size"] - 1) * h * w), c.size(ch * h * w),
                      c.size(ch * h * w))  # fmt: skip


def _dropout(node, c):  # CUDA: a bool mask; CPU: a scaled noise tensor of the dtype; p 0: none
    if not node.fields.get("p"):
        return (), ()
    return (), (c.size(elements(node.shape), 1 if c.device == "cuda" else c.nb),)


def _drop_path(node, c):  # torchvision StochasticDepth: x * noise (one value per sample)
    return ((), ()) if not node.fields.get("p") else ((), (c.size(1),))


def _embedding(node, c):  # the int64 indices
    return (), (c.size(elements(node.inputs[0].shape), INDEX_BYTES),)


def _activation(node, c):
    op = node.op
    if c.alias:
        if op in INPLACE_SAVES_COPY:
            return (), (c.size(elements(node.shape)),)
        return (c.out,), ()
    return ((c.out,) if ACTIVATION_SAVES[op] == "out" else c.inputs), ()


def _attention(node, c):
    """nn.MultiheadAttention, batch first, need_weights=False, in training (torch's CPU flash
    kernel, _scaled_dot_product_flash_attention_for_cpu): the in-projection's input copied to
    sequence-first (L x D), the packed q/k/v (L x (D' + 2 kv)), the heads' output (L x D',
    which the out-projection reads as it is) and the log-sum-exp (heads x L, float32)."""
    lq, d = node.inputs[0].shape
    inner, kv = node_widths(node)
    heads = node.fields["heads"]
    if node.op == "attention":
        proj = c.size(lq * d) + c.size(lq * (inner + 2 * kv))
    else:  # queries and a context: q, and k, v from the context (copied once per projection
        # when its width differs from D: torch then projects k and v apart)
        lk, dk = node.inputs[1].shape
        copies = 1 if dk == d else 2
        proj = c.size(lq * d) + copies * c.size(lk * dk) + c.size(lq * inner) + \
            (c.size(2 * lk * kv) if copies == 1 else 2 * c.size(lk * kv))  # fmt: skip
    return (), (proj, c.size(lq * inner), c.size(heads * lq, max(c.nb, 4)))


def _window_attention(node, c):
    """torchvision's shifted_window_attention (math path) over P padded positions: the windows
    copied for the qkv projection, q scaled, contiguous copies of k and v for the two batched
    matrix products, the projection's input (P x C each), and the softmax output
    (heads x P x w^2)."""
    h, w, ch = node.inputs[0].shape
    win = node.fields["window"]
    positions = -(-h // win) * win * -(-w // win) * win
    return (), (*[c.size(positions * ch)] * 5,
                c.size(node.fields["heads"] * positions * win * win))


def _recurrent(node, c):
    """nn.LSTM / nn.GRU, batch first, on CPU. Per layer: its input (the first layer's a
    sequence-first copy, L x I). LSTM (oneDNN's fused kernel): per direction its output
    (L x H; for one direction the last layer's output is the node's), h_n and c_n (H each),
    and the kernel's workspace, counted as the gates and cell states it must hold,
    L x 6H (oneDNN pads it: torch's is larger, tests/test_memory_saved.py); h_0 and c_0
    (layers x dirs x H each). GRU (no fused kernel on CPU, one cell per step): the input
    (the first layer's copied once per direction) and, per layer and direction, 7H per step
    (the 3H hidden-gate products, r, z, n and h)."""
    steps, features = node.inputs[0].shape
    hidden, layers = node.fields["hidden"], node.fields["layers"]
    dirs = 2 if node.fields["bidirectional"] else 1
    new = []
    existing = ()
    width = features
    for k in range(layers):
        if node.op == "gru":  # the first layer copies its input once per direction
            new += [c.size(steps * width)] * (dirs if k == 0 else 1)
            new += [c.size(7 * steps * hidden)] * dirs
        else:
            new.append(c.size(steps * width))
            for _ in range(dirs):
                if k == layers - 1 and dirs == 1:
                    existing = (c.out,)
                else:
                    new.append(c.size(steps * hidden))
                new += [c.size(hidden), c.size(hidden), c.size(6 * steps * hidden)]
        width = dirs * hidden
    if node.op == "lstm":
        new += [c.size(layers * dirs * hidden)] * 2
    return existing, new


def _unknown(node, c):  # a user primitive or an unknown op: what it saves is unknown
    return None


SAVED_RULES = {
    **dict.fromkeys(("conv", "conv1d", "conv3d", "conv_transpose", "conv_transpose1d",
                     "conv_transpose3d", "linear", "avgpool", "avgpool1d", "avgpool3d", "matmul",
                     "scale"), _input),  # fmt: skip
    **dict.fromkeys(("adaptive_avgpool", "adaptive_avgpool1d", "adaptive_avgpool3d"),
                    _adaptive_avg),  # fmt: skip
    **dict.fromkeys(("maxpool", "maxpool1d", "maxpool3d", "adaptive_maxpool",
                     "adaptive_maxpool1d", "adaptive_maxpool3d"), _maxpool),  # fmt: skip
    "bn": _bn, "layernorm": _layernorm, "rmsnorm": _rmsnorm, "groupnorm": _groupnorm,
    "lrn": _lrn, "dropout": _dropout, "drop_path": _drop_path, "embedding": _embedding,
    "softmax": _output, **dict.fromkeys(ACTIVATIONS, _activation),
    "attention": _attention, "cross_attention": _attention,
    "window_attention": _window_attention, "lstm": _recurrent, "gru": _recurrent,
    # backward needs only sizes, a constant, or the gradient itself
    **dict.fromkeys(("add", "concat", "flatten", "slice", "zero_pad", "global_avgpool", "mean",
                     "mul_const", "upsample", "pad", "reshape", "permute", "transpose",
                     "patchify", "chunk", "channel_shuffle", "space_to_depth", "parameter"),
                    _nothing),  # fmt: skip
    "custom": _unknown, "unknown": _unknown,
}


def _saved(node, inputs, out, size, nb, device, alias):
    """(storages of existing tensors this node saves, [bytes of new tensors it saves]), or
    None when unknown: the node's rule in :data:`SAVED_RULES` (a primitive without one is a
    KeyError, never a silent zero; tests/test_memory_saved.py checks the registry).
    ``inputs``: the storages of the node's inputs that are not parameters; ``out``: its own."""
    c = _Ctx()
    c.inputs, c.out = inputs, out
    c.size, c.nb, c.device, c.alias = size, nb, device, alias
    return SAVED_RULES[node.op](node, c)


def backward_macs(node, needs_grad) -> int:
    """Per-sample MACs of a node's backward: weight gradient + input gradient (conv, linear).
    ``needs_grad``: whether any of the node's inputs needs a gradient."""
    if not node.macs:
        return 0
    wgrad = node.macs if node.params else 0
    dgrad = node.macs if needs_grad else 0
    return wgrad + dgrad


def training(network, batch: int = 1, dtype: str = "float32", device: str = "cuda",
             optimizer: str = "adam", index=None) -> Training:  # fmt: skip
    """Simulate one training step of ``network`` (see the module docstring for the model).

    On positions and lists of ints, as :func:`_inference_steps`: a node's storage is numbered
    by the position of the node that allocates it, plus one (the network input's is 0);
    gradients are numbered in the order they are made."""
    if device not in DEVICES:
        raise ValueError(device)
    if optimizer not in OPTIMIZER_COPIES:
        raise ValueError(optimizer)
    nb = dtype_bytes(dtype)
    size = _sizer(batch, nb, device)
    nodes = network.nodes
    n = len(nodes)
    last = 2 * n  # the optimizer step
    g = index if index is not None and index.network is network else _Index(network)
    ins = g.ins
    # which tensors need a gradient: a node with parameters, or one reading such a tensor
    req = [False] * (n + 1)  # by position + 1 (the network input needs none)
    for i, node in enumerate(nodes):
        if node.params is None or node.params:  # None: an unknown row may hold some
            req[i + 1] = True
        else:
            for j in ins[i]:
                if req[j + 1]:
                    req[i + 1] = True
                    break

    # -- forward: storages and what is saved
    aliases = g.aliases(nodes, True)
    owner, sbytes, send = _forward_storages(network, ins, aliases, size,
                                            size(elements(network.input.shape)), last)
    first_saver: dict[int, int] = {}  # storage -> the first node that saves it
    made = []  # (bytes, step, end): tensors made only to be saved
    extra_saved = [0] * n
    unknown_saved: set[int] = set()
    transients = [0] * n
    for i, node in enumerate(nodes):
        ix = ins[i]
        alias = aliases[i]
        s = owner[i + 1]
        if node.op in _TRANSIENT_OPS:
            transients[i] = _transient(node, size, device, True)
        if not req[i + 1]:
            continue
        inputs = [owner[j + 1] for j in ix if j < 0 or nodes[j].op != "parameter"]
        rule = _saved(node, inputs, s, size, nb, device, alias)
        if rule is None:  # unknown: every total that includes it is unknown
            unknown_saved.add(i)
            continue
        existing, new = rule
        for t in existing:
            first = first_saver.setdefault(t, i)
            end = last - 1 - first  # the first saver's backward step
            if send[t] < end:
                send[t] = end
        for nbytes in new:
            made.append((nbytes, i, last - 1 - i))
            extra_saved[i] += nbytes
    for p in g.out_pos:
        send[owner[p + 1]] = last

    # -- backward: gradients of activations, in reverse execution order
    gbytes: list = []
    gstart: list = []
    gend: list = []  # None: alive to the optimizer step
    grefs: list = []
    gview: list = []
    grad_of: dict = {}  # position -> its gradient

    def new_grad(nbytes, step):
        gbytes.append(nbytes)
        gstart.append(step)
        gend.append(None)
        grefs.append(1)  # made for one reference
        gview.append(False)
        return len(gbytes) - 1

    param_grad_at = [0] * (2 * n + 2)
    for out in g.outputs:
        p = g.pos[id(out)]
        if req[p + 1] and p not in grad_of:
            grad_of[p] = new_grad(size(elements(out.shape)), n)
    for i in range(n - 1, -1, -1):
        node = nodes[i]
        step = last - 1 - i
        gout = grad_of.pop(i, None)
        if gout is None or not req[i + 1]:
            continue
        if node.params:
            param_grad_at[step] += node.params * nb
        through = node.op in _GRAD_PASSTHROUGH
        for j in ins[i]:
            if not req[j + 1]:
                continue
            if through:
                contrib = gout
                grefs[gout] += 1
                view = node.op in ("concat", "zero_pad") or gview[gout]
            else:
                contrib = new_grad(size(elements(nodes[j].shape)), step)
                view = False
            old = grad_of.get(j)
            if old is None:
                grad_of[j] = contrib
                gview[contrib] = gview[contrib] or view
                continue
            if grefs[old] == 1 and not gview[old]:  # accumulated in place
                grefs[contrib] -= 1
                if grefs[contrib] == 0:
                    gend[contrib] = step
            else:  # old + new into a new tensor
                total = new_grad(size(elements(nodes[j].shape)), step)
                for k in (old, contrib):
                    grefs[k] -= 1
                    if grefs[k] == 0:
                        gend[k] = step
                grad_of[j] = total
        grefs[gout] -= 1
        if grefs[gout] == 0:
            gend[gout] = step

    # -- the timeline
    delta = [0] * (last + 2)
    delta[0] += sbytes[0]
    delta[send[0] + 1] -= sbytes[0]
    for s in range(1, n + 1):
        if not aliases[s - 1]:
            b = sbytes[s]
            delta[s - 1] += b
            delta[send[s] + 1] -= b
    for b, start, end in made:
        delta[start] += b
        delta[end + 1] -= b
    for k, b in enumerate(gbytes):
        end = gend[k]
        delta[gstart[k]] += b
        delta[(last if end is None else end) + 1] -= b
    totals = network.totals()
    weights = mul(totals["params"], nb)
    buffers = mul(totals["buffers"], nb)
    state = mul(OPTIMIZER_COPIES[optimizer], weights)
    unknown = bool(unknown_saved) or weights is None or buffers is None
    temp = adam_step_bytes(network, nb, device) if optimizer == "adam" and not unknown else 0
    persistent = 0 if unknown else weights + buffers + state
    act = 0
    pgrads = 0
    peak, peak_step = 0, 0
    forward_peak = 0
    live_at = [0] * (last + 1)
    for step in range(last + 1):
        act += delta[step]
        pgrads += param_grad_at[step]
        if step < n:
            extra = transients[step]
        elif step < last and nodes[2 * n - 1 - step].op == "conv" and \
                req[2 * n - step]:  # fmt: skip
            extra = transients[2 * n - 1 - step]  # oneDNN reorders in backward too (cpu)
        else:
            extra = 0
        live_at[step] = act + extra
        total = persistent + pgrads + act + extra + (temp if step == last else 0)
        if step < n and act + extra > forward_peak:
            forward_peak = act + extra
        if total > peak:
            peak, peak_step = total, step
    if peak_step == last:
        phase, where = "optimizer", None
    elif peak_step < n:
        phase, where = "forward", nodes[peak_step]
    else:
        phase, where = "backward", nodes[2 * n - 1 - peak_step]

    saved_first = [0] * n
    for t, i in first_saver.items():
        saved_first[i] += sbytes[t]
    records = []
    total_bwd = 0
    for i, node in enumerate(nodes):
        needs = req[i + 1]
        bm = 0
        if needs and node.macs:
            bm = backward_macs(node, any(req[j + 1] for j in ins[i]))
        total_bwd += bm
        records.append(NodeTrain(node, saved_first[i] + extra_saved[i], extra_saved[i],
                                 live_at[i], live_at[last - 1 - i], bm, needs))  # fmt: skip
    saved_total = sum(saved_first) + sum(extra_saved)
    if unknown:  # an op whose saved tensors (or params) are unknown: so is all that adds them
        for i, rec in enumerate(records):
            rec.live_bytes = rec.backward_live_bytes = None
            if i in unknown_saved:
                rec.saved_bytes = rec.saved_extra_bytes = rec.backward_macs = None
        saved_total = forward_peak = peak = phase = where = total_bwd = None
        temp = None if optimizer == "adam" else 0
    return Training(network, batch, dtype, device, optimizer, records, weights, buffers,
                    weights, state, temp, saved_total, forward_peak, peak, phase, where,
                    total_bwd)  # fmt: skip
