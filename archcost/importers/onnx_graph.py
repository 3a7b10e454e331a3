"""An ONNX graph made ready for the importer, statically (no runtime): shapes everywhere, and
the exporters' decompositions of one layer fused back into one node.

1. **Shape arithmetic is folded.** Exporters compute reshape targets, slice bounds and split
   sizes from ``Shape`` of activations (torch's ``chunk`` on a map, ``view(n, -1)``);
   ``onnx.shape_inference`` cannot give a shape after such a node. With the batch axis set
   to 1, every integer tensor computed from shapes and constants is evaluated here with
   numpy (``Shape``, ``Gather``, ``Concat``, ``Slice``, ``Div``, ... on a few integers) and
   written as a ``Constant``; shape inference runs again, until nothing changes. Float
   tensors (weights and activations) are never evaluated.
2. **Decompositions are fused** into one node of the domain ``archcost`` (or ONNX's own op),
   from the exact pattern torch's exporters write, and nothing else:

   * ``InstanceNormalization`` between two ``Reshape`` (N, G, -1) and back, then ``Mul`` by
     a per-channel scale and ``Add`` of a shift (torch's GroupNorm) -> ``GroupNormalization``
     (num_groups = G);
   * ``Div(x, Pow(Add(Mul(P, alpha), k), beta))`` where P is ``Mul(x, x)`` through views,
     ``Pad``, one ``AveragePool`` of kernel (size, 1, ...) and an ``If`` that squeezes
     (torch's ``local_response_norm``) -> ONNX ``LRN``;
   * ``Mul(x, Reciprocal(Sqrt(Add(ReduceMean(Pow(x, 2), -1), eps))))`` times an optional
     per-feature scale (torch's RMSNorm) -> ``RMSNormalization``;
   * ``x * Tanh(Softplus(x))`` -> ONNX ``Mish``; torch's softplus with beta 1,
     ``Where(x > threshold, x, Softplus(x))`` -> ONNX ``Softplus``;
   * nn.MultiheadAttention's graph: Softmax of ``MatMul(q, k^T)`` (q scaled by a constant),
     ``MatMul`` with v, where q, k and v are views (Reshape/Transpose/Gather of the packed
     projection) of projections ``x W^T + b`` of a sequence-first view of the tokens, and the
     heads' output, merged by views, goes through the out projection and back to batch
     first -> ``MultiHeadAttention`` (heads from q's shape; the projections' MACs, read
     from the nodes' shapes, as an attribute). The same with batch-first tokens and no
     Transposes (a module's own attention: one Linear for q, k, v split by
     Reshape/Permute/Split or Slice, torch's SDPA, an out Linear), and with ONNX's
     ``Attention`` op (opset 23) in place of the Softmax and the two MatMuls. A constant
     mask added to the scores that is -inf exactly above the diagonal is ``causal``; any
     other mask is not fused.

   A node a pattern needs that is read outside the pattern, or any other variation, leaves the
   nodes as they are: the importer then names the first node it has no primitive for.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

DOMAIN = "archcost"
VIEWS = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Flatten"}
MAX_INT = 4096  # elements of an integer tensor evaluated here (shape vectors are short)
MAX_MASK = 1 << 20  # elements of a tensor made from Constant nodes alone (a causal mask)


def _attrs(node) -> dict:
    values = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}


def _infer(model):
    try:
        return shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # noqa: BLE001 - data propagation is an extra; plain inference decides
        return shape_inference.infer_shapes(model)


class Graph:
    """Shapes, small constant values, producers and consumers of one inferred model."""

    def __init__(self, model):
        self.model = model
        g = model.graph
        self.g = g
        self.shapes = {}
        for vi in (*g.value_info, *g.input, *g.output):
            t = vi.type.tensor_type
            if t.HasField("shape"):
                self.shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                             for d in t.shape.dim)  # fmt: skip
        self.values = {}
        self.inits = {i.name for i in g.initializer}
        for i in g.initializer:
            self.shapes[i.name] = tuple(int(d) for d in i.dims)
            if _count(i.dims) <= MAX_INT:
                self.values[i.name] = numpy_helper.to_array(i)
        self.nodes = list(g.node)  # one wrapper per node: identity is stable below
        self.producer = {}
        self.consumers = defaultdict(list)
        for n in self.nodes:
            for o in n.output:
                self.producer[o] = n
            for i in n.input[:1] if n.op_type == "CastLike" else n.input:  # the 2nd: a type
                self.consumers[i].append(n)
            for i in _outer(n):
                self.consumers[i].append(n)
            if n.op_type == "Constant":
                v = _constant(n)
                if v is not None:
                    self.values[n.output[0]] = v
        self.literal = {n.output[0] for n in self.nodes if n.op_type == "Constant"}
        self.const = set(self.inits) | self.literal
        for n in self.nodes:  # made from constants only: weights reordered, a zero bias
            reads = n.input[:1] if n.op_type == "CastLike" else n.input  # the 2nd: a type only
            if n.op_type != "Constant" and all(i in self.const for i in reads if i) \
                    and not _outer(n):  # fmt: skip
                self.const.update(n.output)

    def shape(self, name):
        s = self.shapes.get(name)
        return s if s is not None and None not in s else None

    def scalar(self, name):
        v = self.values.get(name)
        return float(v.reshape(-1)[0]) if v is not None and v.size == 1 else None

    def only_consumer(self, name):
        c = self.consumers.get(name, [])
        outs = {o.name for o in self.g.output}
        return c[0] if len(c) == 1 and name not in outs else None

    def other(self, node, name):
        """The input of a two-input node that is not ``name``."""
        ins = list(node.input)
        if len(ins) != 2 or name not in ins:
            return None
        return ins[1] if ins[0] == name else ins[0]


def _outer(node) -> list:
    """Tensors an If/Loop body reads from the enclosing graph."""
    names = []
    for a in node.attribute:
        if a.type == onnx.AttributeProto.GRAPH:
            made = {o for n in a.g.node for o in n.output} | {i.name for i in a.g.input} | \
                {i.name for i in a.g.initializer}  # fmt: skip
            for n in a.g.node:
                names += [i for i in (*n.input, *_outer(n)) if i and i not in made]
    return list(dict.fromkeys(names))


def _constant(node):
    for a in node.attribute:
        if a.name == "value":
            return numpy_helper.to_array(a.t)
        if a.name in ("value_int", "value_ints", "value_float", "value_floats"):
            return np.array(helper.get_attribute_value(a))
    return None


def _count(dims) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


# ------------------------------------------------------------------ folding
def _evaluate(node, vals, g: Graph):
    """The integer output of a node from its inputs' values, or None."""
    t = node.op_type
    a = _attrs(node)
    if t in ("Shape", "Size"):
        s = g.shape(node.input[0])
        if s is None:
            return None
        if t == "Size":
            return np.array(_count(s), dtype=np.int64)
        start, end = a.get("start", 0), a.get("end", len(s))
        return np.array(s[slice(start, end)], dtype=np.int64)
    if any(v is None for v in vals):
        return None
    x = vals[0] if vals else None
    if t == "Cast":
        return x.astype(helper.tensor_dtype_to_np_dtype(a["to"]))
    if t in ("Identity", "CastLike"):
        return x
    if t == "Transpose":
        return np.transpose(x, a.get("perm"))
    if t == "Gather":
        return np.take(x, vals[1], axis=a.get("axis", 0))
    if t == "Concat":
        return np.concatenate([np.atleast_1d(v) for v in vals], axis=a.get("axis", 0))
    if t == "Unsqueeze":
        axes = a.get("axes") or [int(d) for d in vals[1].reshape(-1)]
        out = x
        for ax in sorted(d % (x.ndim + len(axes)) for d in axes):
            out = np.expand_dims(out, ax)
        return out
    if t == "Squeeze":
        axes = a.get("axes") or ([int(d) for d in vals[1].reshape(-1)] if len(vals) > 1 else None)
        return np.squeeze(x, tuple(axes)) if axes else np.squeeze(x)
    if t == "Reshape":
        target = [int(d) for d in vals[1].reshape(-1)]
        target = [x.shape[i] if d == 0 and not a.get("allowzero") else d
                  for i, d in enumerate(target)]  # fmt: skip
        return x.reshape(target)
    if t == "Slice":
        starts, ends = vals[1].reshape(-1), vals[2].reshape(-1)
        axes = vals[3].reshape(-1) if len(vals) > 3 else range(len(starts))
        steps = vals[4].reshape(-1) if len(vals) > 4 else [1] * len(starts)
        index = [slice(None)] * x.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps):
            index[int(ax)] = slice(int(s), int(e), int(st))
        return x[tuple(index)]
    if t in ("Add", "Sub", "Mul", "Max", "Min", "Equal", "Less", "Greater"):
        f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Max": np.maximum,
             "Min": np.minimum, "Equal": np.equal, "Less": np.less, "Greater": np.greater}[t]
        return f(vals[0], vals[1])
    if t == "Div":
        if np.issubdtype(vals[0].dtype, np.integer):
            return (np.trunc(vals[0] / vals[1])).astype(vals[0].dtype)
        return vals[0] / vals[1]
    if t == "Mod":
        return np.fmod(vals[0], vals[1]) if a.get("fmod") else np.mod(vals[0], vals[1])
    if t == "Neg":
        return -x
    if t == "Trilu":
        k = int(vals[1].reshape(-1)[0]) if len(vals) > 1 else 0
        return np.triu(x, k) if a.get("upper", 1) else np.tril(x, k)
    if t == "Not":
        return np.logical_not(x)
    if t in ("Sqrt", "Reciprocal"):  # SDPA's scale from Constant nodes (head_dim: int64)
        f = x.astype(np.float32) if np.issubdtype(x.dtype, np.integer) else x
        return np.sqrt(f) if t == "Sqrt" else 1 / f
    if t == "Pow" and not np.issubdtype(x.dtype, np.integer):
        return np.power(x, vals[1]).astype(x.dtype)
    if t == "Abs":
        return np.abs(x)
    if t == "Range":
        return np.arange(vals[0], vals[1], vals[2]).astype(vals[0].dtype)
    if t == "Where":
        return np.where(vals[0], vals[1], vals[2])
    if t == "Expand":
        shape = np.broadcast_shapes(x.shape, tuple(int(d) for d in vals[1].reshape(-1)))
        return np.broadcast_to(x, shape).copy()
    if t == "ConstantOfShape":
        value = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
        return np.full([int(d) for d in x.reshape(-1)], value.reshape(-1)[0], value.dtype)
    if t in ("ReduceProd", "ReduceSum") and len(vals) == 1 and not a.get("axes"):
        f = np.prod if t == "ReduceProd" else np.sum
        return np.array(f(x), dtype=x.dtype).reshape([1] * x.ndim if a.get("keepdims", 1) else [])
    return None


def _fold(g: Graph) -> bool:
    """Integer tensors computable from shapes and constants -> Constant nodes."""
    changed = False
    values = g.values
    for k, node in enumerate(g.g.node):
        if node.op_type == "Constant" or len(node.output) != 1 or _outer(node):
            continue
        reads = node.input[:1] if node.op_type == "CastLike" else node.input  # 2nd: a type
        try:
            out = _evaluate(node, [values.get(i) if i else None for i in reads], g)
        except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError):
            out = None
        if out is None:
            continue
        out = np.asarray(out)
        literal = all(i in g.literal for i in reads if i)  # no initializer in it
        if not (out.dtype in (np.int64, np.int32, np.bool_) or literal) or \
                out.size > (MAX_MASK if literal else MAX_INT):  # fmt: skip
            continue
        g.literal.add(node.output[0])
        values[node.output[0]] = out
        g.g.node[k].CopyFrom(helper.make_node("Constant", [], [node.output[0]], name=node.name,
                                              value=numpy_helper.from_array(out)))  # fmt: skip
        changed = True
    return changed


def _prune(model) -> None:
    """Nodes whose outputs nobody reads (what a fusion left behind: shape arithmetic)."""
    g = model.graph
    outs = {o.name for o in g.output}
    while True:
        read = set(outs)
        for n in g.node:
            read.update(i for i in (*n.input, *_outer(n)) if i)
        keep = [n for n in g.node if any(o in read for o in n.output)]
        if len(keep) == len(g.node):
            return
        del g.node[:]
        g.node.extend(keep)


def _apply(model, graph, matches):
    """Each match (nodes, fused node, shape): its nodes removed and the fused node put where
    the last of them was; the fused output's shape given (ops of the archcost domain, which
    shape inference does not know)."""
    g = model.graph
    owner = {}
    for k, (remove, node, _shape) in enumerate(matches):
        for n in remove:
            owner[id(n)] = k
        meta = next((n.metadata_props for n in remove if n.metadata_props), [])
        node.metadata_props.extend(meta)  # the module path torch's dynamo exporter records
    last = {}
    for pos, n in enumerate(graph.nodes):
        if id(n) in owner:
            last[owner[id(n)]] = pos
    nodes = []
    for pos, n in enumerate(graph.nodes):
        k = owner.get(id(n))
        if k is None:
            nodes.append(n)
        elif last[k] == pos:
            nodes.append(matches[k][1])
    nodes = [onnx.NodeProto.FromString(n.SerializeToString()) for n in nodes]
    gone = {}
    for remove, node, _shape in matches:
        for o in (o for n in remove for o in n.output if o != node.output[0]):
            gone[o] = node.input[0]
    for n in nodes:  # a CastLike reading a removed tensor for its type: the fused input's
        if n.op_type == "CastLike" and n.input[1] in gone:
            n.input[1] = gone[n.input[1]]
    del g.node[:]
    g.node.extend(nodes)
    shaped = {node.output[0]: shape for _r, node, shape in matches if shape is not None}
    keep = [vi for vi in g.value_info if vi.name not in shaped]
    del g.value_info[:]
    g.value_info.extend(keep)
    for name, shape in shaped.items():
        g.value_info.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT,
                                                          list(shape)))  # fmt: skip


def settle(model):
    """The model with the batch axis 1, shape arithmetic folded, layer patterns fused and
    shapes inferred (module docstring)."""
    if not any(o.domain == DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(DOMAIN, 1))
    for vi in model.graph.input:
        dims = vi.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_value = 1
    for _ in range(200):
        model = _infer(model)
        g = Graph(model)
        changed = _fold(g)
        if not changed:
            taken, matches = set(), []
            for fuse in FUSIONS:
                for found in fuse(g):
                    ids = {id(n) for n in found[0]}
                    if not ids & taken:
                        taken |= ids
                        matches.append(found)
            if matches:
                _apply(model, g, matches)
                _prune(model)
                changed = True
        if not changed:
            return model
    return model


# ------------------------------------------------------------------ fusions
def _node(op, inputs, output, name, domain=DOMAIN, **attrs):
    return helper.make_node(op, inputs, [output], name=name, domain=domain, **attrs)


def _closed(g: Graph, nodes, last) -> bool:
    """Every tensor the nodes make, but the last's output, is read only inside them."""
    inside = {id(n) for n in nodes}
    outs = {o.name for o in g.g.output}
    for n in nodes:
        for o in n.output:
            if o == last.output[0]:
                continue
            if o in outs or any(id(c) not in inside and c.op_type not in ("Shape", "Size")
                                for c in g.consumers.get(o, [])):  # fmt: skip
                return False
    return True


def _fuse_groupnorm(g: Graph):
    for inorm in g.nodes:
        if inorm.op_type != "InstanceNormalization":
            continue
        r1 = g.producer.get(inorm.input[0])
        if r1 is None or r1.op_type != "Reshape" or any(i not in g.const for i in inorm.input[1:]):
            continue
        x = r1.input[0]
        xs, gs = g.shape(x), g.shape(r1.output[0])
        if xs is None or gs is None or len(gs) != 3 or len(xs) < 3:
            continue
        groups = gs[1]
        nodes = [r1, inorm]
        r2 = g.only_consumer(inorm.output[0])
        if r2 is None or r2.op_type != "Reshape":
            continue
        nodes.append(r2)
        out, scale, bias = r2.output[0], "", ""
        for op in ("Mul", "Add"):
            nxt = g.only_consumer(out)
            while nxt is not None and nxt.op_type in ("CastLike", "Cast") and nxt.input[0] == out:
                nodes.append(nxt)
                out = nxt.output[0]
                nxt = g.only_consumer(out)
            if nxt is not None and nxt.op_type == op:
                other = g.other(nxt, out)
                if other in g.const and _count(g.shapes.get(other) or (0,)) == xs[1]:
                    nodes.append(nxt)
                    out = nxt.output[0]
                    if op == "Mul":
                        scale = other
                    else:
                        bias = other
        if not _closed(g, nodes, nodes[-1]):
            continue
        eps = float(_attrs(inorm).get("epsilon", 1e-5))
        node = _node("GroupNormalization", [x, scale, bias], out, inorm.name, num_groups=groups,
                     epsilon=eps)  # fmt: skip
        yield nodes, node, xs


def _fuse_lrn(g: Graph):
    for div in g.nodes:
        if div.op_type != "Div":
            continue
        x, p = div.input
        pow_ = g.producer.get(p)
        if pow_ is None or pow_.op_type != "Pow" or g.scalar(pow_.input[1]) is None:
            continue
        add = g.producer.get(pow_.input[0])
        if add is None or add.op_type != "Add":
            continue
        mul = next((g.producer.get(i) for i in add.input if i not in g.const), None)
        k = next((g.scalar(i) for i in add.input if i in g.const), None)
        if mul is None or mul.op_type != "Mul" or k is None:
            continue
        alpha = next((g.scalar(i) for i in mul.input if i in g.const), None)
        cur = next((i for i in mul.input if i not in g.const), None)
        nodes, size = [div, pow_, add, mul], None
        while cur is not None:
            n = g.producer.get(cur)
            if n is None:
                break
            nodes.append(n)
            if n.op_type == "Mul" and list(n.input) == [x, x]:
                break
            if n.op_type == "AveragePool" and size is None:
                size = int(_attrs(n)["kernel_shape"][0])
            elif n.op_type == "If":
                refs = [i for i in _outer(n) if i not in g.const]
                cur = refs[0] if len(refs) == 1 else None
                continue
            elif n.op_type not in VIEWS | {"Pad"}:
                break
            cur = n.input[0]
        if nodes[-1].op_type != "Mul" or list(nodes[-1].input) != [x, x] or size is None \
                or alpha is None or g.shape(x) is None:  # fmt: skip
            continue
        if not _closed(g, nodes, div):
            continue
        node = _node("LRN", [x], div.output[0], div.name, domain="", size=size, alpha=alpha,
                     beta=g.scalar(pow_.input[1]), bias=k)  # fmt: skip
        yield nodes, node, None


def _fuse_rmsnorm(g: Graph):
    for mean in g.nodes:
        if mean.op_type != "ReduceMean":
            continue
        sq = g.producer.get(mean.input[0])
        if sq is None or not ((sq.op_type == "Pow" and g.scalar(sq.input[1]) == 2.0) or
                              (sq.op_type == "Mul" and sq.input[0] == sq.input[1])):  # fmt: skip
            continue
        x = sq.input[0]
        xs = g.shape(x)
        axes = _attrs(mean).get("axes") or (
            [int(d) for d in g.values[mean.input[1]].reshape(-1)]
            if len(mean.input) > 1 and mean.input[1] in g.values else None)  # fmt: skip
        if xs is None or axes is None or [d % len(xs) for d in axes] != [len(xs) - 1]:
            continue
        add = g.only_consumer(mean.output[0])
        eps = next((g.scalar(i) for i in add.input if i in g.const), None) \
            if add is not None and add.op_type == "Add" else None  # fmt: skip
        sqrt = g.only_consumer(add.output[0]) if eps is not None else None
        if sqrt is None or sqrt.op_type != "Sqrt":
            continue
        nodes = [sq, mean, add, sqrt]
        nxt = g.only_consumer(sqrt.output[0])
        if nxt is not None and nxt.op_type == "Reciprocal":
            nodes.append(nxt)
            mul = g.only_consumer(nxt.output[0])
            if mul is None or mul.op_type != "Mul" or g.other(mul, nxt.output[0]) != x:
                continue
        elif nxt is not None and nxt.op_type == "Div" and list(nxt.input) == [x, sqrt.output[0]]:
            mul = nxt
        else:
            continue
        nodes.append(mul)
        out, scale = mul.output[0], ""
        nxt = g.only_consumer(out)
        if nxt is not None and nxt.op_type == "Mul":
            other = g.other(nxt, out)
            if other in g.const and _count(g.shapes.get(other) or (0,)) == xs[-1]:
                nodes.append(nxt)
                out, scale = nxt.output[0], other
                nxt = g.only_consumer(out)
        if nxt is not None and nxt.op_type in ("CastLike", "Cast") and nxt.input[0] == out:
            nodes.append(nxt)
            out = nxt.output[0]
        if not _closed(g, nodes, nodes[-1]):
            continue
        node = _node("RMSNormalization", [x, scale], out, mean.name, epsilon=eps, axis=-1)
        yield nodes, node, xs


def _fuse_mish(g: Graph):
    """x * tanh(softplus(x)) (the legacy exporter's Mish) -> ONNX Mish."""
    for mul in g.nodes:
        if mul.op_type != "Mul" or len(mul.input) != 2:
            continue
        for x, t in (mul.input, mul.input[::-1]):
            tanh = g.producer.get(t)
            sp = g.producer.get(tanh.input[0]) if tanh is not None and tanh.op_type == "Tanh" \
                else None  # fmt: skip
            if sp is not None and sp.op_type == "Softplus" and sp.input[0] == x and \
                    _closed(g, [sp, tanh, mul], mul):  # fmt: skip
                yield [sp, tanh, mul], _node("Mish", [x], mul.output[0], mul.name, domain=""), None
                break


def _fuse_softplus(g: Graph):
    """torch's softplus with beta 1 as dynamo writes it: Where(Greater(x*1, threshold), x,
    Softplus(x*1) / 1) (linear above the threshold; the optimizer drops the *1 and /1)
    -> ONNX Softplus."""

    def unit(node, op):  # a Mul / Div by the constant 1
        return node is not None and node.op_type == op and g.scalar(node.input[1]) == 1.0 or \
            node is not None and op == "Mul" and node.op_type == op and \
            g.scalar(node.input[0]) == 1.0  # fmt: skip

    def unscaled(name, nodes):
        n = g.producer.get(name)
        if unit(n, "Mul"):
            nodes.append(n)
            return next(i for i in n.input if i not in g.const)
        return name

    for where in g.nodes:
        if where.op_type != "Where":
            continue
        cond, x, y = where.input
        gt, div = g.producer.get(cond), g.producer.get(y)
        nodes = [where]
        if unit(div, "Div"):
            nodes.append(div)
            y = div.input[0]
        sp = g.producer.get(y)
        if gt is None or gt.op_type != "Greater" or sp is None or sp.op_type != "Softplus" or \
                g.scalar(gt.input[1]) is None:  # fmt: skip
            continue
        nodes += [gt, sp]
        if unscaled(sp.input[0], nodes) != x or unscaled(gt.input[0], nodes) != x:
            continue
        if _closed(g, nodes, where):
            yield nodes, _node("Softplus", [x], where.output[0], where.name, domain=""), None


FUSIONS = [_fuse_groupnorm, _fuse_lrn, _fuse_rmsnorm, _fuse_mish, _fuse_softplus]


def _prod(dims) -> int:
    return _count(dims)


def _matmul_macs(g: Graph, node):
    """MACs of a MatMul / Gemm from its shapes: (leading elements) x K x N."""
    a, b = g.shape(node.input[0]), g.shape(node.input[1])
    if a is None or b is None:
        return None
    if node.op_type == "Gemm":
        at = _attrs(node)
        m, k = (a[1], a[0]) if at.get("transA") else (a[0], a[1])
        n = b[0] if at.get("transB") else b[1]
        return m * k * n
    return _prod(a[:-1]) * a[-1] * b[-1]


def _weight(g: Graph, name) -> bool:
    s = g.shapes.get(name)
    return name in g.const and s is not None and len(s) == 2


def _projection(g: Graph, name):
    """(nodes, input, weight, bias) when ``name`` is x W (+ b): MatMul by a constant matrix
    and an Add of a constant, or a Gemm; else None."""
    n = g.producer.get(name)
    if n is None:
        return None
    bias = ""
    nodes = []
    if n.op_type == "Add":
        b = next((i for i in n.input if i in g.const), None)
        other = g.other(n, b) if b else None
        m = g.producer.get(other) if other else None
        if m is None or m.op_type != "MatMul":
            return None
        nodes, bias, n = [n], b, m
    if n.op_type == "MatMul" and _weight(g, n.input[1]) and n.input[0] not in g.const:
        return [*nodes, n], n.input[0], n.input[1], bias
    if n.op_type == "Gemm" and not nodes and _weight(g, n.input[1]) and \
            n.input[0] not in g.const and not _attrs(n).get("transA"):  # fmt: skip
        b = n.input[2] if len(n.input) > 2 and n.input[2] in g.const else ""
        return [n], n.input[0], n.input[1], b
    return None


def _view_back(g: Graph, name, region):
    """Walk back from ``name`` through views, constant selections (Gather of one index) and
    scalings by a constant to a projection; (projection, nodes walked) or None."""
    cur = name
    for _ in range(32):
        proj = _projection(g, cur)
        if proj is not None:
            return proj
        n = g.producer.get(cur)
        if n is None:
            return None
        data = [i for i in n.input if i and i not in g.const]
        if len(data) != 1 or data[0] != n.input[0] and n.op_type not in ("Mul", "Div"):
            return None
        if n.op_type in VIEWS or n.op_type == "Gather" and g.values.get(n.input[1]) is not None \
                and g.values[n.input[1]].size == 1 or n.op_type in ("Split", "Slice"):  # fmt: skip
            pass  # Split's sizes and Slice's bounds are constants: data[0] is the only tensor
        elif n.op_type in ("Mul", "Div") and g.scalar(g.other(n, data[0]) or "") is not None:
            pass
        else:
            return None
        region.append(n)
        cur = data[0]
    return None


def _source(g: Graph, x, region):
    """The batch-first tokens (1, L, D) a projection reads: through torch's Transpose
    (1, 0, 2) to sequence first (nn.MultiheadAttention), or directly; (tokens, moved)."""
    n = g.producer.get(x)
    if n is not None and n.op_type == "Transpose" and _attrs(n).get("perm") == [1, 0, 2]:
        region.append(n)
        return n.input[0], True
    s = g.shape(x)
    return (x, False) if s is not None and len(s) == 3 and s[0] == 1 else (None, False)


def _cores(g: Graph):
    """Scaled dot-product attention, as (nodes, q, k, v, output, heads, MACs, causal): Softmax
    of MatMul(q, k^T) (scaled by constants) and MatMul with v, or ONNX's Attention op."""
    for sm in g.nodes:
        if sm.op_type == "Attention":
            a = _attrs(sm)
            qs = g.shape(sm.input[0])
            ks, vs = g.shape(sm.input[1]), g.shape(sm.input[2])
            if len([i for i in sm.input if i]) != 3 or any(o for o in sm.output[1:]) or \
                    qs is None or ks is None or vs is None or len(qs) != 4:  # fmt: skip
                continue
            macs = qs[1] * qs[2] * ks[2] * qs[3] + qs[1] * qs[2] * vs[2] * vs[3]
            yield [sm], sm.input[0], sm.input[1], sm.input[2], sm.output[0], qs[1], macs, \
                bool(a.get("is_causal", 0))
            continue
        if sm.op_type != "Softmax" or _attrs(sm).get("axis", -1) != -1:
            continue
        nodes = [sm]
        qk = g.producer.get(sm.input[0])
        causal = False
        while qk is not None and qk.op_type in ("Mul", "Div", "Add") and \
                len([i for i in qk.input if i in g.const]) == 1:  # fmt: skip
            c = next(i for i in qk.input if i in g.const)
            if qk.op_type == "Add" and not causal and _causal(g.values.get(c)):
                causal = True  # -inf above the diagonal: a causal mask
            elif qk.op_type == "Add" or g.scalar(c) is None:
                break
            nodes.append(qk)
            qk = g.producer.get(next(i for i in qk.input if i not in g.const))
        if qk is None or qk.op_type != "MatMul":
            continue
        nodes.append(qk)
        av = g.only_consumer(sm.output[0])
        while av is not None and av.op_type in ("Identity", "Dropout"):
            nodes.append(av)
            av = g.only_consumer(av.output[0])
        if av is None or av.op_type != "MatMul" or av.input[1] in g.const:
            continue
        nodes.append(av)
        qs = g.shape(qk.input[0])
        if qs is None or len(qs) not in (3, 4):
            continue
        macs = (_matmul_macs(g, qk) or 0) + (_matmul_macs(g, av) or 0)
        yield nodes, qk.input[0], qk.input[1], av.input[1], av.output[0], \
            qs[0] if len(qs) == 3 else qs[1], macs, causal


def _causal(mask) -> bool:
    """A mask added to the scores that is -inf (or below -1e9) exactly above the diagonal."""
    if mask is None or mask.ndim < 2 or mask.shape[-1] != mask.shape[-2]:
        return False
    m = mask.reshape(-1, *mask.shape[-2:])[0]
    upper = np.triu(np.ones(m.shape, dtype=bool), 1)
    return bool(np.all(m[upper] < -1e9) and np.all(m[~upper] == 0))


def _fuse_attention(g: Graph):
    for core, q_end, k_end, v_end, core_out, heads, macs, causal in _cores(g):
        region = list(core)
        sides = []
        for side in (q_end, k_end, v_end):
            proj = _view_back(g, side, region)
            if proj is None:
                break
            sides.append(proj)
        if len(sides) != 3:
            continue
        projections = {}
        for nodes, x, w, b in sides:
            projections[id(nodes[-1])] = (nodes, x, w, b)
        for nodes, x, _w, _b in projections.values():
            region += nodes
            macs += _matmul_macs(g, nodes[-1]) or 0
            _source(g, x, region)
        (q_src, moved), (kv_src, kv_moved) = (_source(g, sides[k][1], []) for k in (0, 1))
        if q_src is None or kv_src is None or moved != kv_moved or \
                _source(g, sides[2][1], [])[0] != kv_src:  # fmt: skip
            continue
        # forward: views, the out projection (+ bias), views back to batch first
        out = core_out
        o_proj = None
        for _ in range(16):
            nxt = g.only_consumer(out)
            if nxt is None or (o_proj is not None and not moved):
                break
            if o_proj is None and nxt.op_type in ("MatMul", "Gemm") and nxt.input[0] == out and \
                    _weight(g, nxt.input[1]):  # fmt: skip
                b = nxt.input[2] if nxt.op_type == "Gemm" and len(nxt.input) > 2 else ""
                region.append(nxt)
                macs += _matmul_macs(g, nxt) or 0
                out = nxt.output[0]
                o_proj = (nxt.input[1], b)
                add = g.only_consumer(out)
                if nxt.op_type == "MatMul" and add is not None and add.op_type == "Add" and \
                        g.other(add, out) in g.const:  # fmt: skip
                    region.append(add)
                    o_proj = (nxt.input[1], g.other(add, out))
                    out = add.output[0]
                continue
            if nxt.op_type not in VIEWS:
                break
            region.append(nxt)
            out = nxt.output[0]
            if o_proj is not None and nxt.op_type == "Transpose" and \
                    _attrs(nxt).get("perm") == [1, 0, 2]:  # fmt: skip
                break
        end = g.shape(out)
        back = region[-1].op_type == "Transpose" and _attrs(region[-1]).get("perm") == [1, 0, 2]
        if o_proj is None or end is None or len(end) != 3 or end[0] != 1 or back != moved:
            continue
        if not _closed(g, region, region[-1]):
            continue
        q, k, v = sides
        inputs = [q_src, kv_src if kv_src != q_src else "", q[2], q[3], k[2], k[3], v[2], v[3],
                  o_proj[0], o_proj[1]]  # fmt: skip
        packed = q[0][-1] is k[0][-1]
        width = g.shape(q[0][0].output[0])[-1] // (3 if packed else 1)
        kv_width = width if packed else g.shape(k[0][0].output[0])[-1]
        if width % heads or (packed and (q[0][-1] is not v[0][-1])):
            continue
        node = _node("MultiHeadAttention", inputs, out, core[0].name, num_heads=heads, macs=macs,
                     inner=width, kv_width=kv_width, packed=int(packed), causal=int(causal))  # fmt: skip
        yield region, node, end


FUSIONS.append(_fuse_attention)
