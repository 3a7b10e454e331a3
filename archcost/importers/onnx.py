"""An ONNX graph as archcost primitives: static, with the ``onnx`` package only (no runtime).

:mod:`.onnx_graph` first makes the graph ready: the batch axis 1, the integer shape
arithmetic exporters write (``Shape``, ``Gather``, ``Concat``, ... feeding a Reshape or a
Slice) evaluated to constants, and torch's decompositions of GroupNorm, LRN, RMSNorm and
nn.MultiheadAttention fused back into one node each; ``onnx.shape_inference`` then gives
every tensor's shape. Initializers are the weights. Nodes that depend only on initializers
and constants (a zero bias built with ``Expand``, LSTM weights reordered by Slice/Concat)
are folded away, remembering which initializers each constant is made from; every other
node maps to one archcost primitive from its attributes and its weights' dimensions
(``Conv`` -> ``conv`` with ``out`` = W's first dim, ``k`` = ``kernel_shape``, ``s``, ``p``,
``d``, ``g`` = ``group``, ``bias`` when B is an initializer).

Mapped: Conv/ConvTranspose of rank 1-3 (``conv1d``, ``conv_transpose3d``, ...), Max/Average
pools of rank 1-3, GlobalAveragePool and ReduceMean over H, W, BatchNormalization, the
activations (Relu, Clip as ``relu6``, LeakyRelu, Sigmoid, Tanh, HardSwish, HardSigmoid, Elu,
Gelu, Softplus, Mish, x * Sigmoid(x) as ``silu``), Softmax, Gemm and MatMul by a weight with
its bias Add (``linear``; a weight already used, through a Transpose, e.g. the embedding's
table, is ``tied: true``), MatMul of two activations (``matmul``), LayerNormalization,
GroupNormalization (opset 21, or torch's Reshape/InstanceNormalization/Reshape/Mul/Add),
RMSNormalization (opset 23, or torch's Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul), LRN (or
torch's Mul/Pad/AveragePool/Pow/Div), LSTM and GRU (``lstm``/``gru``; the Transposes of the
batch axis around them and their output views are followed, stacked layers of one module are
one row), nn.MultiheadAttention's graph and a module's own attention through torch's SDPA or
ONNX's Attention op (``attention``, or ``cross_attention`` when keys and values come from
another tensor; ``causal`` for a constant causal mask), Gather from a table (``embedding``,
ids input), Resize (``upsample``), Pad (``pad``/``zero_pad``), Split and SplitToSequence/SequenceAt (``chunk``
for equal pieces, channel ``slice`` otherwise), channel Slice, Concat, Add, Mul by a
(C, 1, 1) gate (``scale``), Transpose (``transpose``/``permute``), Reshape/Flatten, and an
initializer added to or joined with an activation (``parameter``). Anything else, or one of
these in a form archcost has no primitive for, is an error naming the ONNX op and the node; a
shape that shape inference cannot give is an error, not a guess.

Labels and the module hierarchy come from torch's dynamo exporter metadata (``namespace``:
``layer1.0: BasicBlock/layer1.0.conv1: Conv2d/...``), else from the legacy exporter's scoped
node names (``/layer1/layer1.0/conv1/Conv``; class names by the rule of
:meth:`_Reader.where_legacy`), else from the weight's name (``layer1.0.conv1.weight``).

The model's own numbers, for the round-trip check, are computed here from the file and not by
archcost's formulas: params = elements of the initializers the mapped ops read (BN mean and
variance are buffers), MACs = Conv: prod(W.shape) x H_out x W_out, Gemm/MatMul: M x K x N
(attention: its projections, QK^T and AV), LSTM/GRU: dirs x L x G*H x (I + H).
"""

from __future__ import annotations

import os
import re

import onnx
from onnx import shape_inference

from ..errors import SpecError
from ..layers import PRIMITIVES
from .ir import Imported, Op, Scope, pad_fields, pair, parameter_fields, reorder, unknown_op
from .onnx_graph import settle

ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "LeakyRelu": "leaky_relu",
               "HardSwish": "hardswish", "HardSigmoid": "hardsigmoid", "Elu": "elu",
               "Gelu": "gelu"}  # fmt: skip
CONTAINER = "torch.nn.modules.container."
FLOATS = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16,
          onnx.TensorProto.DOUBLE}  # weights; integer tensors are shapes and indices
LEAF = "torch.nn.modules."


def _attrs(node) -> dict:
    """A node's attributes; strings (modes, auto_pad) as str, not ONNX's bytes."""
    values = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}


def _pads(pads):
    """ONNX pads [x1_begin, x2_begin, ..., x1_end, x2_end] as archcost's p (symmetric only)."""
    if not pads:
        return 0
    n = len(pads) // 2
    begin, end = [int(p) for p in pads[:n]], [int(p) for p in pads[n:]]
    if begin != end:
        return None
    return pair(begin)


CONV_TYPES = {3: "conv1d", 4: "conv", 5: "conv3d"}  # by the weight's rank
CONV_T_TYPES = {3: "conv_transpose1d", 4: "conv_transpose", 5: "conv_transpose3d"}
POOL_TYPES = {("MaxPool", 1): "maxpool1d", ("MaxPool", 2): "maxpool", ("MaxPool", 3): "maxpool3d",
              ("AveragePool", 1): "avgpool1d", ("AveragePool", 2): "avgpool",
              ("AveragePool", 3): "avgpool3d"}  # fmt: skip
MAP_READERS = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "BatchNormalization"}


class _Reader:
    def __init__(self, path):
        if not os.path.isfile(path):
            raise SpecError(f"{path}: no such file")
        try:
            model = onnx.load_model(path)  # a model file, not YAML: no spec reaches it
            shape_inference.infer_shapes(model)
        except Exception as err:  # noqa: BLE001 - a broken file is the user's to fix
            raise SpecError(f"{path}: not a readable ONNX model ({type(err).__name__}: {err})") from None
        try:
            model = settle(model)
        except Exception as err:  # noqa: BLE001 - said in one line, as the error it is
            raise SpecError(f"{path}: archcost could not fold or fuse this graph "
                            f"({type(err).__name__}: {err})") from None  # fmt: skip
        self.path = path
        self.graph = model.graph
        self.inits = {i.name: tuple(int(d) for d in i.dims) for i in self.graph.initializer}
        self.values = {i.name: onnx.numpy_helper.to_array(i) for i in self.graph.initializer
                       if _size(i.dims) <= 64}  # small constants: pads, slice bounds, scales
        self.const = set(self.inits)
        self.shapes = {}
        for vi in (*self.graph.value_info, *self.graph.input, *self.graph.output):
            dims = vi.type.tensor_type.shape.dim
            # a dim shape inference cannot give is None: a view to it is an error, not a guess
            self.shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                         for d in dims)  # fmt: skip
        self.alias = {}
        self.origin = {}  # a tensor made from initializers alone -> those initializers
        self.consumers = {}
        for node in self.graph.node:
            for i in node.input:
                self.consumers.setdefault(i, []).append(node)
        self.tmajor = {}  # a sequence-first (L, N, D) view -> the op of the tokens (L, D)
        self.rnn_out = {}  # an LSTM/GRU's Y (L, dirs, N, H) or a view of it -> (op, dirs)
        self.sequences = {}  # SplitToSequence's output -> (node, input, axis, piece sizes)
        self.learned = {}  # a constant that is an initializer broadcast (Expand) -> it
        self.canon = {}  # a transposed initializer -> the initializer
        self.ops: list[Op] = []
        self.scopes: dict = {}
        self.legacy_paths = None  # every module path the legacy exporter's node names hold
        self.ns_paths = None  # every module path of the dynamo exporter's metadata
        self.params_used: set = set()
        self.buffers_used: set = set()
        self.macs = 0

    # ------------------------------------------------------------ helpers
    def src(self, name):
        return self.alias.get(name, name)

    def shape(self, name):
        return self.shapes.get(name)

    def where(self, node):
        md = {p.key: p.value for p in node.metadata_props}
        chain, leaf = [], None
        parts = [p for p in md.get("namespace", "").split("/") if p]
        comps = []
        for part in parts:
            path, _, cls = part.partition(": ")
            comps.append((path.strip(), cls.strip()))
        comps = comps[1:-1]  # the root module, and the aten op itself
        if not parts and node.name.startswith("/"):
            return self.where_legacy(node)
        if comps and comps[-1][1].startswith(LEAF) and not comps[-1][1].startswith(CONTAINER) \
                and not self.has_submodules(comps[-1][0]):  # nn.TransformerEncoderLayer is not
            leaf = comps[-1][0]
            comps = comps[:-1]
        for path, cls in comps:
            scope = self.scopes.get(path)
            if scope is None:
                scope = Scope(path, cls.rsplit(".", 1)[-1], cls.startswith(CONTAINER))
                self.scopes[path] = scope
            chain.append(scope)
        return chain, leaf, md.get("pkg.torch.onnx.stack_trace", "")

    def has_submodules(self, path) -> bool:
        """A module of the dynamo exporter's metadata that holds other modules."""
        if self.ns_paths is None:
            self.ns_paths = set()
            for n in self.graph.node:
                for p in n.metadata_props:
                    if p.key == "namespace":
                        self.ns_paths.update(part.partition(": ")[0].strip()
                                             for part in p.value.split("/"))  # fmt: skip
        return any(p.startswith(path + ".") for p in self.ns_paths)

    def where_legacy(self, node):
        """The module chain from the legacy exporter's scoped node name
        ('/layer1/layer1.0/conv1/Conv': modules layer1 > layer1.0 > layer1.0.conv1).

        The file holds no class names, so they are given by a rule: a module whose
        submodules are numbered (layer1.0, layer1.1) is a container (nn.Sequential,
        nn.ModuleList); a module with no submodule in the file is the leaf that made the op
        (else the op is a function called in its forward, as ``add``); any other module's
        class is ``<name>_block``, from its attribute name without digits, or for a numbered
        item its container's (layer1.0, layer2.1 -> ``layer_block``; features.3 ->
        ``features_block``), so calls of one container with one structure are one block, and
        one with another structure its variant (``layer_block_downsample``). A second call
        of a module, which the exporter names ``relu_1`` beside ``relu``, is ``relu``."""
        if self.legacy_paths is None:
            self.legacy_paths = set()
            for n in self.graph.node:
                if n.name.startswith("/"):
                    self.legacy_paths.update(_name_paths(n.name))
        paths = _name_paths(node.name)
        known = self.legacy_paths
        leaf = None
        if paths and not any(p.startswith(paths[-1] + ".") for p in known):
            leaf = paths.pop()
            again = re.match(r"(.+)_\d+$", leaf)  # the exporter's name for a second call
            if again and again.group(1) in known:
                leaf = again.group(1)
        chain = []
        for path in paths:
            scope = self.scopes.get(path)
            if scope is None:
                numbered = any(p.startswith(path + ".") and p[len(path) + 1:].isdigit()
                               for p in known)  # fmt: skip
                last = path.rsplit(".", 2)
                stem = last[-2] if last[-1].isdigit() and len(last) > 1 else last[-1]
                cls = "Sequential" if numbered else re.sub(r"\d+$", "", stem) + "_block"
                scope = Scope(path, cls, numbered)
                self.scopes[path] = scope
            chain.append(scope)
        return chain, leaf, ""

    def emit(self, node, type_, fields, inputs, weights=(), short=None, out=None, at=None):
        chain, leaf, _ = self.where(node)
        if at is not None:  # (enclosing scopes, the op's module path)
            chain, leaf = at
        weight = next((w for w in weights if w in self.inits), None)
        if leaf:
            path = leaf
        elif not chain and node.name.startswith("/"):
            path = _name_path(node.name) or type_
        elif weight and weight.rsplit(".", 1)[-1] in ("weight", "bias") and "." in weight:
            path = weight.rsplit(".", 1)[0]
        else:
            name = short or type_
            path = f"{chain[-1].path}.{name}" if chain else name
        out = out or node.output[0]
        full = self.shape(out)
        op = Op(out, type_, fields, [self.src(i) for i in inputs], full[1:] if full else None,
                path.rsplit(".", 1)[-1], path, chain, node.name)  # fmt: skip
        self.ops.append(op)
        return op

    def fail(self, node, what=None):
        chain, leaf, trace = self.where(node)
        path = leaf or (chain[-1].path if chain else "")
        source = node.name or ""
        raise unknown_op(what or f"ONNX op {node.op_type}", path, source)

    def tensor_inputs(self, node):
        return [i for i in node.input if i and i not in self.const]

    # ------------------------------------------------------------ walk
    def run(self):
        graph_inputs = [i for i in self.graph.input if i.name not in self.inits]
        if len(graph_inputs) != 1:
            raise SpecError(f"{self.path}: the graph has {len(graph_inputs)} inputs; archcost "
                            "specs have one")  # fmt: skip
        first = graph_inputs[0].name
        self.alias[first] = "input"
        self.shapes[first] = (1, *self.shapes[first][1:])  # the batch axis may be symbolic
        self.shapes["input"] = self.shapes[first]
        input_shape = tuple(self.shapes[first][1:])
        elem = graph_inputs[0].type.tensor_type.elem_type
        ids = elem in (onnx.TensorProto.INT64, onnx.TensorProto.INT32) and len(input_shape) == 1
        readers = [n.op_type for n in self.graph.node if first in n.input]
        tokens = len(input_shape) == 2 and not any(r in MAP_READERS for r in readers)
        for node in self.graph.node:
            if node.op_type == "Identity" and node.input[0] in self.inits:
                # torch's exporter shares *equal* initializers through Identity copies: each
                # copy is a weight of its own
                self.inits[node.output[0]] = self.inits[node.input[0]]
            if node.op_type == "Transpose" and node.input[0] in self.inits:
                dims = self.inits[node.input[0]]
                perm = _attrs(node).get("perm", list(range(len(dims)))[::-1])
                self.inits[node.output[0]] = tuple(dims[i] for i in perm)
                self.canon[node.output[0]] = self.canon.get(node.input[0], node.input[0])
            shape_only = node.op_type in ("Shape", "Size", "ConstantOfShape") or (
                node.op_type == "CastLike" and node.input[0] in self.const)  # a type, not data
            if node.op_type == "Constant":
                value = _constant(node)
                if value is not None and value.size <= 64:
                    self.values[node.output[0]] = value
            if node.op_type == "Constant" or shape_only or all(i in self.const for i in node.input if i):
                self.const.update(node.output)
                reads = node.input[:1] if node.op_type == "CastLike" else node.input
                made = set().union(*(self.weights(i) for i in reads if i)) \
                    if node.op_type not in ("Shape", "Size", "ConstantOfShape") else set()  # fmt: skip
                if node.op_type == "Identity" and node.input[0] in self.inits:
                    made = {node.output[0]}  # an equal tensor shared by the exporter: its own
                for o in node.output:
                    self.origin[o] = made  # shape arithmetic, constant folding
                self.fold(node)
                continue
            if not getattr(self, "allow_unknown", False):
                self.convert(node)
                continue
            from .ir import UnknownOp
            from .unknown_ops import onnx_before, onnx_unknown

            before = onnx_before(self, node)
            try:  # --allow-unknown: a node with no primitive becomes a row of type unknown
                self.convert(node)
            except UnknownOp as err:
                onnx_unknown(self, node, err, before)
        # a weight used by two ops under one name is tied (counted once); torch's exporter
        # also shares *equal* tensors through Identity copies: those are separate weights
        params = sum(_size(self.inits[n]) for n in {self.canon.get(n, n) for n in self.params_used})
        buffers = sum(_size(self.inits[n]) for n in {self.canon.get(n, n) for n in self.buffers_used})
        used = {self.canon.get(n, n) for n in self.params_used | self.buffers_used}
        floats = {i.name for i in self.graph.initializer if i.data_type in FLOATS}
        unused = [n for n in self.inits if n not in used and n not in self.canon and n in floats
                  and len(self.inits[n]) > 0 and _size(self.inits[n]) > 1]  # fmt: skip
        notes = []
        if unused:
            notes.append(f"{len(unused)} initializer(s) are not weights of a mapped op and are "
                         f"not counted: {', '.join(unused[:3])}")  # fmt: skip
        return Imported(self.ops, input_shape, os.path.basename(self.path), params, self.macs,
                        buffers, notes, ids, tokens if len(input_shape) == 2 else None)  # fmt: skip

    def weights(self, name) -> set:
        """The initializers a constant tensor is made from (a reordered LSTM weight: its
        torch weights; a bias sliced from a packed one: that one)."""
        if name in self.origin:
            return self.origin[name]
        return {self.canon.get(name, name)} if name in self.inits else set()

    def convert(self, node):
        t = node.op_type
        a = _attrs(node)
        ins = self.tensor_inputs(node)
        if any(i in self.tmajor or i in self.rnn_out for i in ins):
            return self.sequence_first(node, a, ins)
        if t in ("LSTM", "GRU"):
            return self.rnn(node, a, ins)
        if t == "SequenceAt":
            return self.sequence_at(node, ins)
        if t in ("Split", "SplitToSequence"):
            return self.split(node, a, ins, sequence=t == "SplitToSequence")
        if t == "Transpose" and a.get("perm") == [1, 0, 2] and len(ins) == 1 and \
                any(c.op_type in ("LSTM", "GRU") for c in self.consumers.get(node.output[0], [])):
            self.tmajor[node.output[0]] = self.src(ins[0])  # tokens, sequence first
            return None
        out_shape = self.shape(node.output[0])
        if out_shape is None or None in out_shape[1:]:
            self.fail(node, f"{t} with an output shape that shape inference cannot give")
        if t == "GroupNormalization":
            return self.groupnorm(node, a, ins)
        if t == "RMSNormalization":
            return self.rmsnorm(node, a, ins)
        if t == "MultiHeadAttention" and node.domain == "archcost":
            return self.attention(node, a, ins)
        if t in ("Conv", "ConvTranspose"):
            return self.conv(node, a, ins, out_shape)
        if t == "BatchNormalization":
            scale, bias, mean, var = node.input[1:5]
            self.params_used.update([scale, bias])
            self.buffers_used.update([mean, var])
            eps = float(a.get("epsilon", 1e-5))
            fields = {} if abs(eps - 1e-5) < 1e-12 else {"eps": float(f"{eps:.6g}")}
            return self.emit(node, "bn", fields, ins[:1], (scale,), "bn")
        if t in ("Gemm", "MatMul"):
            return self.linear(node, a, ins)
        if t in ACTIVATIONS:
            return self.emit(node, ACTIVATIONS[t], {}, ins[:1], short=ACTIVATIONS[t])
        if t == "Clip":
            return self.emit(node, "relu6", {}, ins[:1], short="relu6")
        if t in ("MaxPool", "AveragePool"):
            k = a["kernel_shape"]
            p = _pads(a.get("pads"))
            kind = POOL_TYPES.get((t, len(k)))
            if p is None or kind is None or (t == "AveragePool" and
                                             any(d != 1 for d in a.get("dilations", [1]))):
                self.fail(node, f"{t} with asymmetric padding or dilation")
            fields = {"k": pair(k), "s": pair(a.get("strides", [1] * len(k))), "p": p,
                      "ceil": bool(a.get("ceil_mode", 0))}  # fmt: skip
            if any(d != 1 for d in a.get("dilations", [1])):
                fields["d"] = pair(a["dilations"])
            return self.emit(node, kind, fields, ins[:1], short=kind)
        if t == "GlobalAveragePool":
            return self.emit(node, "global_avgpool", {}, ins[:1], short="avgpool")
        if t == "ReduceMean":
            x = self.shape(ins[0])
            if len(x) == 4 and out_shape in ((x[0], x[1], 1, 1), (x[0], x[1])):
                op = self.emit(node, "global_avgpool", {}, ins[:1], short="mean")
                if len(out_shape) == 2:
                    op.shape = (x[1], 1, 1)
                    op.id = node.output[0] + "/pool"
                    self.ops.append(Op(node.output[0], "flatten", {}, [op.id], (x[1],),
                                       "flatten", op.path + ".flatten", op.scopes, node.name))  # fmt: skip
                return op
            axes = a.get("axes") or (self.value(node.input[1]) if len(node.input) > 1 else None)
            if axes and "mean" in PRIMITIVES and all(d % len(x) for d in axes):
                fields = {"axis": sorted(d % len(x) - 1 for d in axes)}
                if a.get("keepdims", 1):
                    fields["keepdim"] = True
                return self.emit(node, "mean", fields, ins[:1], short="mean")
            self.fail(node, "ReduceMean other than over H and W")
        if t in ("Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Identity"):
            return self.view(node, ins)
        if t == "Concat":
            rank = len(out_shape)
            axis = int(a.get("axis", 0)) % rank - 1
            parts = []
            for i in node.input:
                if i in ins:
                    parts.append(i)
                elif i in self.learned:  # a class token joins the sequence
                    parts.append(self.learned_op(node, self.learned[i]))
                elif i in self.inits and i not in self.params_used:  # one already expanded
                    parts.append(self.learned_op(node, i))
                else:
                    self.fail(node, "Concat with a constant")
            if axis < 0:
                self.fail(node, f"Concat along axis {a.get('axis')}")
            return self.emit(node, "concat", {"axis": axis} if axis else {}, parts, short="cat")
        if t == "Add" and len(ins) == 2 and self.shape(ins[0]) == self.shape(ins[1]):
            return self.emit(node, "add", {}, ins, short="add")
        if t == "Add" and len(ins) == 1:
            if self.bias_add(node, ins):
                return None
            learned = self.parameter(node, ins)
            if learned is not None:
                return self.emit(node, "add", {}, [ins[0], learned], short="add")
        if t in ("Mul", "Div") and len(ins) == 1 and self.one(node, ins):
            self.alias[node.output[0]] = self.src(ins[0])  # times 1 (a softplus's beta)
            return None
        if t in ("Mul", "Div") and len(ins) == 1 and "mul_const" in PRIMITIVES and \
                (t == "Mul" or node.input[0] == ins[0]):  # x / c, not c / x  # fmt: skip
            c = self.values.get(next(i for i in node.input if i and i not in ins))
            if c is not None and c.size == 1 and float(c.reshape(-1)[0]) != 0:
                by = float(c.reshape(-1)[0])
                return self.emit(node, "mul_const", {"by": _eps(by if t == "Mul" else 1 / by)},
                                 ins, short="mul")  # fmt: skip
        if t == "Mish":
            return self.emit(node, "mish", {}, ins[:1], short="mish")
        if t == "Mul" and len(ins) == 2:
            silu = self.silu(node, ins)
            if silu:
                return silu
            x, g = (self.shape(i) for i in ins)
            if len(x) == 4 and g == (x[0], x[1], 1, 1):
                return self.emit(node, "scale", {}, ins, short="scale")
            if len(g) == 4 and x == (g[0], g[1], 1, 1):
                return self.emit(node, "scale", {}, ins[::-1], short="scale")
        if t in ("Softmax", "LogSoftmax"):
            return self.emit(node, "softmax", {}, ins[:1], short="softmax")
        if t == "Dropout":
            self.alias[node.output[0]] = self.src(ins[0])
            return None
        if t == "LRN":
            return self.emit(node, "lrn", {"size": int(a["size"]), "alpha": _eps(a.get("alpha", 1e-4)),
                                           "beta": _eps(a.get("beta", 0.75)),
                                           "k_const": _eps(a.get("bias", 1.0))}, ins[:1],
                             short="lrn")  # fmt: skip
        if t == "LayerNormalization":
            x = self.shape(ins[0])
            if a.get("axis", -1) not in (-1, len(x) - 1):
                self.fail(node, "LayerNormalization over more than the last axis")
            scale = node.input[1] if len(node.input) > 1 and node.input[1] in self.inits else None
            bias = node.input[2] if len(node.input) > 2 and node.input[2] in self.inits else None
            self.params_used.update(n for n in (scale, bias) if n)
            fields = {"eps": float(f"{float(a.get('epsilon', 1e-5)):.6g}"),
                      "affine": scale is not None, "bias": bias is not None}  # fmt: skip
            return self.emit(node, "layernorm", fields, ins[:1], (scale or "",), "layernorm")
        if t == "Softplus":
            return self.emit(node, "softplus", {}, ins[:1], short="softplus")
        if t == "Gather" and node.input[0] in self.inits and len(self.inits[node.input[0]]) == 2 \
                and ins == [node.input[1]] and int(a.get("axis", 0)) == 0:  # fmt: skip
            table = self.inits[node.input[0]]
            self.params_used.add(node.input[0])
            return self.emit(node, "embedding", {"vocab": table[0], "dim": table[1]}, ins,
                             (node.input[0],), "embedding")  # fmt: skip
        if t == "Resize":
            x, y = self.shape(ins[0]), out_shape
            mode = a.get("mode", "nearest")
            modes = {"nearest": "nearest", "linear": {3: "linear", 4: "bilinear",
                                                      5: "trilinear"}.get(len(x))}  # fmt: skip
            scales = {yi // xi for xi, yi in zip(x[2:], y[2:])}
            if modes.get(mode) is None or len(scales) != 1 or \
                    any(yi % xi for xi, yi in zip(x[2:], y[2:])):  # fmt: skip
                return self.emit(node, "upsample", {"size": pair(y[2:]),
                                                    "mode": modes.get(mode) or self.fail(node)},
                                 ins[:1], short="upsample")  # fmt: skip
            return self.emit(node, "upsample", {"scale": scales.pop(), "mode": modes[mode]},
                             ins[:1], short="upsample")  # fmt: skip
        if t == "Pad":
            pads = self.value(node.input[1]) if len(node.input) > 1 else a.get("pads")
            mode = a.get("mode", "constant")
            x = self.shape(ins[0])
            value = self.values.get(node.input[2]) if len(node.input) > 2 and node.input[2] \
                else None  # fmt: skip
            value = float(value.reshape(-1)[0]) if value is not None else 0.0
            if pads is None or mode != "constant" or len(pads) != 2 * len(x) or \
                    pads[0] or pads[len(x)]:  # fmt: skip
                self.fail(node, "Pad other than constant padding of the channels and space")
            n = len(x)
            row = pad_fields(list(zip(pads[1:n], pads[n + 1:])), value)
            if row is None:
                self.fail(node, f"Pad {pads} of the channels")
            return self.emit(node, *row, ins[:1], short="pad")
        if t == "Slice" and len(node.input) >= 4:
            starts, ends = self.value(node.input[1]), self.value(node.input[2])
            axes = self.value(node.input[3]) if len(node.input) > 3 and node.input[3] else None
            steps = self.value(node.input[4]) if len(node.input) > 4 and node.input[4] else [1]
            x = self.shape(ins[0])
            if starts and ends and axes == [1] and steps == [1] and len(x) == 4:
                c = x[1]
                start, end, _ = slice(starts[0], ends[0]).indices(c)
                return self.emit(node, "slice", {"start": start, "end": end}, ins[:1],
                                 short="slice")  # fmt: skip
        self.fail(node)

    def groupnorm(self, node, a, ins):
        """GroupNormalization (ONNX opset 21, or torch's InstanceNormalization pattern fused by
        onnx_graph): ``groupnorm`` with groups = num_groups; scale and shift per channel."""
        x = self.shape(ins[0])
        scale, bias = (node.input[k] if len(node.input) > k else "" for k in (1, 2))
        made = [self.weights(w) if w else set() for w in (scale, bias)]
        if len(x) < 3 or (bool(made[0]) != bool(made[1])) or any(
                w and _size(self.shape(n) or self.inits.get(n, (0,))) != x[1]
                for w, n in zip(made, (scale, bias))):  # fmt: skip
            self.fail(node, "GroupNormalization with a scale or shift other than one per channel")
        for w in made:
            self.params_used.update(w)
        fields = {"groups": int(a["num_groups"]), "eps": _eps(a.get("epsilon", 1e-5)),
                  "affine": bool(made[0])}  # fmt: skip
        return self.emit(node, "groupnorm", fields, ins[:1], sorted(made[0]), "groupnorm")

    def rmsnorm(self, node, a, ins):
        """RMSNormalization over the last axis (ONNX opset 23, or torch's decomposition fused by
        onnx_graph): ``rmsnorm``, affine when a scale of one per feature is read."""
        x = self.shape(ins[0])
        axis = int(a.get("axis", -1))
        scale = node.input[1] if len(node.input) > 1 else ""
        made = self.weights(scale) if scale else set()
        if axis % len(x) != len(x) - 1 or (scale and not made):
            self.fail(node, "RMSNormalization over more than the last axis, or with a computed "
                            "scale")  # fmt: skip
        self.params_used.update(made)
        fields = {"eps": _eps(a.get("epsilon", 1e-5)), "affine": bool(made)}
        return self.emit(node, "rmsnorm", fields, ins[:1], sorted(made), "rmsnorm")

    def attention(self, node, a, ins):
        """nn.MultiheadAttention as onnx_graph fused it: ``attention`` (queries, keys and values
        from one tensor) or ``cross_attention`` (in: [x, context]); heads from the score
        MatMul's shape; params: the projections' initializers; MACs: the region's MatMul and
        Gemm nodes (four projections, QK^T and AV), from their shapes."""
        q_src, kv_src = node.input[0], node.input[1]
        q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b = node.input[2:10]
        made = {n: self.weights(n) if n else set() for n in node.input[2:10]}
        if not all(made[w] for w in (q_w, k_w, v_w, o_w)):
            self.fail(node, "attention whose projections are not initializers")
        for w in made.values():
            self.params_used.update(w)
        self.macs += int(a["macs"])
        x = self.shape(q_src)
        y = self.shape(node.output[0])
        heads, inner = int(a["num_heads"]), int(a["inner"])
        fields = {"heads": heads}
        if inner != x[-1]:
            fields["dim"] = inner
        kv = int(a.get("kv_width", inner))
        if kv != inner:  # grouped-query attention: fewer key/value heads
            if kv % (inner // heads):
                self.fail(node, f"attention with key/value width {kv} not a multiple of the "
                                f"head width {inner // heads}")  # fmt: skip
            fields["kv_heads"] = kv // (inner // heads)
        if y[-1] != x[-1]:
            fields["out"] = y[-1]
        biases = [bool(made[b]) if b else False for b in (q_b, k_b, v_b)]
        if len(set(biases)) != 1:
            self.fail(node, "attention with biases on some of q, k, v only")
        if not biases[0]:
            fields["qkv_bias"] = False
        if not (o_b and made[o_b]):
            fields["out_bias"] = False
        if int(a.get("causal", 0)):
            fields["causal"] = True
        kind = "cross_attention" if kv_src else "attention"
        inputs = [q_src, kv_src] if kv_src else [q_src]
        # a module of its own (q, k, v and out Linears inside, SDPA in its forward) is the row
        modules = [n.rsplit(".", 1)[0].split(".") for w in made.values() for n in w if "." in n]
        common = ".".join(os.path.commonprefix(modules)) if modules else ""
        modules = [".".join(m) for m in modules]
        chain, leaf, _ = self.where(node)
        at = None
        scope = chain[-1].path if chain else ""
        if not leaf and common == scope and \
                all(m.startswith(common + ".") or not common for m in modules):  # fmt: skip
            at = (chain[:-1], common or kind)  # (the model itself: the row is the attention)
        return self.emit(node, kind, fields, inputs, sorted(made[o_w]), kind, at=at)

    def rnn(self, node, a, ins):
        """ONNX LSTM / GRU (one layer, one or both directions) over tokens: ``lstm``/``gru``.
        Sequence-first (layout 0) reads a sequence-first view of tokens (torch's exporters
        transpose batch_first input); consecutive layers of one module are one row with
        ``layers``. Params: the W, R and B initializers (B holds torch's two bias vectors);
        MACs = dirs x L x G*H x (I + H), G = 4 gates (LSTM) or 3 (GRU)."""
        t = node.op_type
        kind, gates = ("lstm", 4) if t == "LSTM" else ("gru", 3)
        direction = a.get("direction", "forward")
        layout = int(a.get("layout", 0))
        extra = [i for i in node.input[4:] if i and i not in self.const]
        extra += [i for i in node.input[4:5] if i]  # sequence lengths
        extra += [i for i in node.input[7:8] if i]  # peepholes: not torch's LSTM
        if len(ins) != 1 or extra or direction not in ("forward", "bidirectional") or \
                a.get("clip") is not None or a.get("input_forget", 0):  # fmt: skip
            self.fail(node, f"{t} with sequence lengths, an initial state read from the input, "
                            "peepholes, clipping or reverse direction only")  # fmt: skip
        if any(o and self.consumers.get(o) for o in node.output[1:]):
            self.fail(node, f"{t} whose last hidden or cell state is read")
        x = ins[0]
        if layout == 0:
            if x not in self.tmajor:
                self.fail(node, f"{t} reading a tensor that is not a sequence-first view of "
                                "tokens")  # fmt: skip
            src = self.tmajor[x]
        else:
            src = self.src(x)
        tokens = self.op_shape(src)
        if tokens is None or len(tokens) != 2:
            self.fail(node, f"{t} reading a tensor of shape {tokens}, not tokens (L, D)")
        steps, features = tokens
        dirs = 2 if direction == "bidirectional" else 1
        hidden = int(a["hidden_size"])
        w, r = node.input[1], node.input[2]
        b = node.input[3] if len(node.input) > 3 else ""
        wd, rd = (self.shape(n) or self.inits.get(n) for n in (w, r))
        if wd is None or tuple(wd) != (dirs, gates * hidden, features) or \
                rd is None or tuple(rd) != (dirs, gates * hidden, hidden):  # fmt: skip
            self.fail(node, f"{t} whose weights W {wd}, R {rd} are not "
                            f"{(dirs, gates * hidden, features)}, {(dirs, gates * hidden, hidden)}")
        made = [self.weights(n) if n else set() for n in (w, r, b)]
        if not made[0] or not made[1]:
            self.fail(node, f"{t} whose weights are not initializers")
        self.macs += dirs * steps * gates * hidden * (features + hidden)
        fields = {"hidden": hidden, "layers": 1, "bidirectional": dirs == 2, "bias": bool(made[2])}
        last = self.ops[-1] if self.ops else None
        chain, leaf, _ = self.where(node)
        path = leaf or (_name_path(node.name) if node.name.startswith("/") else None)
        for m in made:
            self.params_used.update(m)
        if last is not None and last.id == src and last.type == kind and path and \
                last.path == path and all(last.fields[k] == fields[k] for k in
                                          ("hidden", "bidirectional", "bias")):  # fmt: skip
            last.fields["layers"] += 1  # the next layer of one nn.LSTM
            op = last
        else:
            op = self.emit(node, kind, fields, [src], sorted(made[0]), kind)
            op.shape = (steps, dirs * hidden)
            op.inputs = [src]
        self.rnn_out[node.output[0]] = (op.id, dirs, layout)
        return op

    def op_shape(self, op_id):
        """The per-sample shape of an op already made (or of the input)."""
        if op_id == "input":
            return self.shapes["input"][1:]
        for op in reversed(self.ops):
            if op.id == op_id:
                return op.shape
        full = self.shape(op_id)
        return full[1:] if full else None

    def sequence_first(self, node, a, ins):
        """Views that move the batch axis around an LSTM/GRU: (N, L, D) <-> (L, N, D), and the
        RNN output (L, dirs, N, H) back to (L, N, dirs*H). Nothing else may read a
        sequence-first tensor."""
        t = node.op_type
        x = ins[0]
        out = node.output[0]
        y = self.shape(out)
        if t == "Transpose" and x in self.tmajor and a.get("perm") == [1, 0, 2]:
            self.alias[out] = self.tmajor[x]
            return None
        if x in self.rnn_out and len(ins) == 1:
            op_id, dirs, layout = self.rnn_out[x]
            if t == "Transpose" and layout == 0 and a.get("perm") == [0, 2, 1, 3]:
                self.rnn_out[out] = (op_id, dirs, 2)  # (L, N, dirs, H)
                return None
            steps, width = self.op_shape(op_id)
            merged = (steps, 1, width) if layout in (0, 2) else (1, steps, width)
            if t in ("Reshape", "Squeeze") and y == merged and (t == "Reshape" or dirs == 1):
                if layout in (0, 2):
                    self.tmajor[out] = op_id
                else:
                    self.alias[out] = op_id
                return None
        if t in ("Identity", "Dropout") and x in self.tmajor:
            self.tmajor[out] = self.tmajor[x]
            return None
        if t in ("LSTM", "GRU") and x in self.tmajor:
            return self.rnn(node, a, ins)
        self.fail(node, f"{t} of a sequence-first tensor (the batch axis moved), other than "
                        "an LSTM or GRU reading it")  # fmt: skip

    def split(self, node, a, ins, sequence=False):
        """Split (or SplitToSequence, read by SequenceAt) into pieces: ``chunk`` (equal pieces,
        any axis) or a channel ``slice``."""
        x = self.shape(ins[0]) if len(ins) == 1 else None
        if x is None or None in x:
            self.fail(node, f"{node.op_type} of one tensor of a known shape, by constant sizes")
        rank = len(x)
        axis = int(a.get("axis", 0)) % rank
        if axis == 0:
            self.fail(node, f"{node.op_type} along the batch axis")
        n = x[axis]
        given_name = node.input[1] if len(node.input) > 1 and node.input[1] else None
        given = self.value(given_name) if given_name else a.get("split")
        if given is not None and sequence and self.values[given_name].ndim == 0:
            size = given[0]  # one scalar: pieces of that size, the last the rest
            sizes = [size] * (-(-n // size))
            sizes[-1] = n - size * (len(sizes) - 1)
        elif given is not None:
            sizes = [int(v) for v in given]
        else:
            parts = n if sequence else int(a.get("num_outputs", len(node.output)))
            size = -(-n // parts)
            sizes = [size] * (parts - 1) + [n - size * (parts - 1)]
        if sum(sizes) != n:
            self.fail(node, f"{node.op_type} into {sizes} of {n}")
        if sequence:
            if not a.get("keepdims", 1) and given is None:
                self.fail(node, "SplitToSequence without keepdims")
            self.sequences[node.output[0]] = (ins[0], axis, sizes)
            return None
        last = None
        for k, out in enumerate(node.output):
            if out and self.consumers.get(out):
                last = self.piece(node, ins[0], axis, sizes, k, out)
        return last

    def sequence_at(self, node, ins):
        index = self.value(node.input[1])
        if node.input[0] not in self.sequences or index is None:
            self.fail(node, "SequenceAt of a sequence that is not a split")
        x, axis, sizes = self.sequences[node.input[0]]
        return self.piece(node, x, axis, sizes, index[0] % len(sizes), node.output[0])

    def piece(self, node, x, axis, sizes, k, out):
        """Piece k of a split: ``chunk`` when the pieces are equal, else a channel ``slice``."""
        start = sum(sizes[:k])
        rank = len(self.shape(x))
        if len(set(sizes)) == 1:
            fields = {"chunks": len(sizes), "index": k}
            if axis != 1:
                fields["axis"] = axis - 1
            return self.emit(node, "chunk", fields, [x], short="chunk", out=out)
        if axis == 1 and rank in (3, 4, 5):
            return self.emit(node, "slice", {"start": start, "end": start + sizes[k]}, [x],
                             short="slice", out=out)  # fmt: skip
        self.fail(node, f"{node.op_type} into unequal pieces {sizes} along axis {axis}")

    def conv(self, node, a, ins, out_shape):
        """Conv / ConvTranspose of any rank: the weight's dims give out and k; MACs =
        W elements x output positions (Conv), x input positions (ConvTranspose)."""
        w = node.input[1]
        wd = self.inits.get(w)
        transposed = node.op_type == "ConvTranspose"
        kinds = CONV_T_TYPES if transposed else CONV_TYPES
        if wd is None or len(wd) not in kinds:
            self.fail(node, f"{node.op_type} without a weight initializer")
        n = len(wd) - 2
        b = node.input[2] if len(node.input) > 2 and node.input[2] in self.inits else None
        auto = a.get("auto_pad", "NOTSET")
        # SAME_UPPER is TensorFlow's rule (odd padding at the end): archcost's 'same'
        p = {"NOTSET": _pads(a.get("pads")), "SAME_UPPER": "same", "VALID": "valid"}.get(auto)
        pads = a.get("pads")
        if p is None and auto == "NOTSET" and not transposed and pads:
            # asymmetric padding (an optimizer merged a Pad into the Conv): a pad row first
            m = len(pads) // 2
            pad_op = self.emit(node, *pad_fields([(0, 0), *zip(pads[:m], pads[m:])], 0.0),
                               ins[:1], short="pad", out=node.output[0] + "/pad")  # fmt: skip
            x = self.shape(ins[0])
            pad_op.shape = (x[1], *(d + b + e for d, b, e in zip(x[2:], pads[:m], pads[m:])))
            ins = [pad_op.id]
            p = 0
        if p is None or (transposed and isinstance(p, str)):
            self.fail(node, f"{node.op_type} with asymmetric or automatic padding")
        self.params_used.update([w] + ([b] if b else []))
        g = int(a.get("group", 1))
        positions = self.shape(ins[0])[2:] if transposed else out_shape[2:]
        self.macs += _size(wd) * _size(positions)
        fields = {"out": wd[1] * g if transposed else wd[0], "k": pair(wd[2:]),
                  "s": pair(a.get("strides", [1] * n)), "p": p,
                  "d": pair(a.get("dilations", [1] * n)), "g": g, "bias": b is not None}  # fmt: skip
        if transposed and any(a.get("output_padding", [0])):
            fields["output_padding"] = pair(a["output_padding"])
        return self.emit(node, kinds[len(wd)], fields, ins[:1], (w,))

    def fold(self, node):
        """The values of small constants made from constants (a Slice's bounds are Cast and
        Reshape of Constants), and the initializer an Expand of one broadcasts (a class
        token)."""
        import numpy as np

        t = node.op_type
        if t in ("Expand", "Identity") and node.input[0] in self.inits:
            self.learned[node.output[0]] = self.learned.get(node.input[0], node.input[0])
        reads = node.input[:1] if t == "CastLike" else node.input  # the 2nd: a type only
        vals = [self.values.get(i) for i in reads if i]
        if not vals or any(v is None for v in vals):
            return
        a = _attrs(node)
        try:
            if t in ("Cast", "Identity", "CastLike"):
                out = vals[0]
            elif t == "Reshape":
                out = vals[0].reshape([int(d) for d in vals[1]])
            elif t == "Concat":
                out = np.concatenate(vals, axis=int(a.get("axis", 0)))
            elif t == "Unsqueeze":
                axes = a.get("axes") or [int(d) for d in vals[1]]
                out = np.expand_dims(vals[0], tuple(axes))
            elif t == "Squeeze":
                out = vals[0].reshape(-1) if vals[0].size == 1 else vals[0]
            else:
                return
        except (ValueError, TypeError, IndexError):
            return
        if out.size <= 64:
            self.values[node.output[0]] = out

    def one(self, node, ins) -> bool:
        """The other operand is the constant 1 (x * 1, x / 1)."""
        other = [i for i in node.input if i and i not in ins]
        v = self.values.get(other[0]) if len(other) == 1 else None
        return v is not None and v.size == 1 and float(v.reshape(-1)[0]) == 1.0

    def value(self, name):
        """A small constant's values as a list of ints, or None."""
        v = self.values.get(name)
        return None if v is None else [int(x) for x in v.reshape(-1)]

    def parameter(self, node, ins):
        """An initializer added to an activation of its shape (a position embedding): a
        ``parameter`` row; None when it is not one (a bias after a linear layer)."""
        init = next((i for i in node.input if i in self.inits), None)
        x = self.shape(ins[0])
        if init is None or init in self.params_used:
            return None
        dims = self.inits[init]
        if len(dims) == len(x) and dims[0] == 1:
            dims = dims[1:]
        if tuple(dims) != tuple(x[1:]):
            return None
        return self.learned_op(node, init)

    def learned_op(self, node, init):
        """A ``parameter`` row for an initializer read as an activation."""
        dims, fields = parameter_fields(self.inits[init])
        self.params_used.add(init)
        chain, _, _ = self.where(node)
        name = init.rsplit(".", 1)[-1]
        path = f"{chain[-1].path}.{name}" if chain else name
        self.ops.append(Op(init, "parameter", fields, [], dims, name, path, chain,
                           node.name))  # fmt: skip
        return init

    def bias_add(self, node, ins):
        """MatMul then Add of a bias vector (torch's export of nn.Linear on tokens): the
        linear layer's bias."""
        op = self.ops[-1] if self.ops else None
        b = next((i for i in node.input if i in self.inits), None)
        if op is None or op.type != "linear" or op.fields.get("bias") or ins != [op.id] \
                or b is None or self.inits[b] != (op.fields["out"],):  # fmt: skip
            return None
        op.fields["bias"] = True
        self.params_used.add(b)
        self.alias[node.output[0]] = op.id
        return op

    def silu(self, node, ins):
        """x * sigmoid(x), torch's export of SiLU: the sigmoid op becomes the silu."""
        for a, b in (ins, ins[::-1]):
            op = self.ops[-1] if self.ops else None
            if op is not None and op.id == b and op.type == "sigmoid" and op.inputs == [self.src(a)]:
                op.type, op.name = "silu", "silu"
                self.alias[node.output[0]] = op.id
                return op
        return None

    def linear(self, node, a, ins):
        w = node.input[1]
        if node.op_type == "MatMul" and len(ins) == 2:  # two activations: archcost's matmul
            x, y = self.shape(ins[0]), self.shape(ins[1])
            if len(x) != len(y) or len(x) < 3 or x[:-2] != y[:-2] or x[-1] != y[-2]:
                self.fail(node, f"MatMul of shapes {x} and {y}")
            self.macs += _size(x[1:]) * y[-1]
            return self.emit(node, "matmul", {}, ins, short="matmul")
        if w not in self.inits or len(self.inits[w]) != 2 or len(ins) != 1:
            self.fail(node, f"{node.op_type} that is not a layer with a weight initializer")
        x = self.shape(ins[0])
        if x is None or len(x) < 2 or (len(x) > 2 and node.op_type != "MatMul"):
            self.fail(node, f"{node.op_type} on a {len(x or ())}-d tensor")
        wd = self.inits[w]
        trans = node.op_type == "Gemm" and a.get("transB", 0)
        k, n = (wd[1], wd[0]) if trans else (wd[0], wd[1])
        if node.op_type == "Gemm" and (a.get("alpha", 1.0) != 1.0 or a.get("transA", 0)):
            self.fail(node, "Gemm with alpha or transA")
        b = node.input[2] if len(node.input) > 2 and node.input[2] in self.inits else None
        # a weight already used (through a Transpose: an embedding's table) is tied
        tied = self.canon.get(w, w) in {self.canon.get(u, u) for u in self.params_used}
        self.params_used.update([w] + ([b] if b else []))
        self.macs += _size(x[1:-1]) * k * n  # per token of a sequence (L, K)
        fields = {"out": n, "bias": b is not None}
        if tied:
            fields["tied"] = True
        return self.emit(node, "linear", fields, ins, (w,), "linear")

    def view(self, node, ins):
        """Views: the identity when the shape stays; Transpose keeping the batch axis first:
        ``transpose`` (two axes) or ``permute``; a flat result: ``flatten``; else ``reshape``
        (rank 2 per sample is tokens)."""
        x = self.shape(ins[0])
        y = self.shape(node.output[0])
        if node.op_type == "Transpose":
            perm = [int(p) for p in _attrs(node).get("perm", list(range(len(x)))[::-1])]
            if perm[0] != 0:
                self.fail(node, f"Transpose {perm} that moves the batch axis")
            dims = [p - 1 for p in perm[1:]]
            if dims == sorted(dims):
                self.alias[node.output[0]] = self.src(ins[0])
                return None
            kind, fields = reorder(dims)
            return self.emit(node, kind, fields, ins[:1], short=kind)
        if y == x:
            self.alias[node.output[0]] = self.src(ins[0])
            return None
        if y is not None and len(y) == 2:
            return self.emit(node, "flatten", {}, ins[:1], short="flatten")
        if y is None or None in y or y[0] != x[0]:
            self.fail(node, f"{node.op_type} to a shape that shape inference cannot give ({y})")
        fields = {"shape": list(y[1:])}
        if len(y) == 3:
            fields["layout"] = "tokens"
        return self.emit(node, "reshape", fields, ins[:1], short="reshape")


def _constant(node):
    """A Constant node's value as an array (value, value_int(s), value_float(s))."""
    import numpy as np

    for a in node.attribute:
        if a.name == "value":
            return onnx.numpy_helper.to_array(a.t)
        if a.name in ("value_int", "value_ints", "value_float", "value_floats"):
            return np.array(onnx.helper.get_attribute_value(a))
    return None


def _name_paths(name: str) -> list:
    """The module paths of a legacy node name, outermost first:
    '/features/features.2/conv/conv.0/Conv' -> features, features.2, features.2.conv,
    features.2.conv.0 (a part that extends the previous one names a child of its parent)."""
    full: list = []
    paths = []
    for part in name.strip("/").split("/")[:-1]:
        if full and part.startswith(full[-1] + "."):
            full[-1] = part
        else:
            full.append(part)
        paths.append(".".join(full))
    return paths


def _name_path(name: str) -> str:
    """torch's older exporter names nodes by scope: '/layer1/layer1.0/conv1/Conv' is the
    module layer1.0.conv1."""
    full: list = []
    for part in name.strip("/").split("/")[:-1]:
        if full and part.startswith(full[-1] + "."):
            full[-1] = part
        else:
            full.append(part)
    return ".".join(full)


def _eps(value) -> float:
    return float(f"{float(value):.6g}")


def _size(dims) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def read(path: str, allow_unknown: bool = False) -> Imported:
    """The ONNX file at ``path`` as archcost ops, with the file's own counts; with
    ``allow_unknown`` a node with no primitive is a row of type unknown, not an error."""
    reader = _Reader(path)
    reader.allow_unknown = allow_unknown
    return reader.run()
