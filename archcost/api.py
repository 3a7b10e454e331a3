"""The Python API: what the CLI prints, as objects for scripts and notebooks.

    >>> import archcost
    >>> net = archcost.load("googlenet")              # a built-in name, NAME:VARIANT or a path
    >>> net.totals["params"], net.totals["macs"]      # exact ints
    (6998552, 1582671872)
    >>> net.rows[0]["id"], net.rows[0]["macs"]
    ('conv 7x7/2', 118013952)
    >>> print(net.to_markdown())                      # the table, one row per spec row

``load(spec, **params)`` sets spec parameters (``archcost.load("mobilenet", alpha=0.5)``);
``train=True`` includes training-only rows. :meth:`Result.memory` is the inference memory
view (peak live activations by liveness, as ``archcost memory``), :meth:`Result.formulas`
the per-row formulas (sympy, imported then). With the ``import`` extra, :func:`import_torch`
and :func:`import_onnx` turn a model into a spec and load it. Numbers are those of the
static engine: plain integer arithmetic, no torch; the same conventions as the CLI (params
are trainable, BN running statistics are ``buffers``; MACs of conv and linear layers only,
FLOPs = 2 x MACs; other work in ``ops``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUANTITIES = ("params", "buffers", "macs", "ops", "activations")


@dataclass
class Result:
    """One evaluated network: rows and totals as exact ints, and views of it."""

    network: object  # archcost.graph.Network
    spec_text: str | None = None  # the spec an import wrote
    notes: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def title(self) -> str:
        return self.network.title

    @property
    def input(self) -> tuple:
        return tuple(self.network.input.shape)

    @property
    def totals(self) -> dict:
        """params, bias, weights, buffers, macs, ops, activations and flops (= 2 x macs)."""
        t = dict(self.network.totals())
        t["flops"] = 2 * t["macs"]
        return t

    @property
    def rows(self) -> list[dict]:
        """One dict per spec row: id, type, output shape, depth and its costs."""
        out = []
        for row in self.network.rows:
            sums = row.sums()
            out.append({"id": row.id, "type": row.type, "shape": list(row.shape),
                        "repeat": row.repeat, "train_only": row.train_only,
                        **{q: sums[q] for q in QUANTITIES}})  # fmt: skip
        return out

    @property
    def layers(self) -> list[dict]:
        """One dict per primitive layer (node): id, op, row, output shape and costs."""
        return [{"id": n.id, "op": n.op, "row": n.row.id if n.row else None,
                 "shape": list(n.shape), "params": n.params, "buffers": n.buffers,
                 "macs": n.macs, "ops": n.ops, "activations": n.activations}
                for n in self.network.nodes]  # fmt: skip

    def memory(self, batch: int = 1, dtype: str = "float32") -> dict:
        """Inference memory in bytes: weights, buffers, peak live activations and where."""
        from .memory import inference

        live = inference(self.network, batch, dtype)
        return {"batch": batch, "dtype": dtype, "weights_bytes": live.weights_bytes,
                "buffers_bytes": live.buffers_bytes, "peak_activation_bytes": live.peak_bytes,
                "peak_at": live.peak_layer, "total_bytes": live.total_bytes,
                "rows": live.row_live()}  # fmt: skip

    def formulas(self) -> list[dict]:
        """Per row: the params and MACs formulas in the layer's own dimensions, with values
        (what ``archcost formula SPEC`` prints). Imports sympy."""
        from .commands.formula import row_formulas

        return row_formulas(self.network, None)

    def to_dict(self) -> dict:
        """JSON-ready: spec parameters (exact fractions as 'p/q'), totals and rows."""
        from .commands._common import jsonable

        return {"name": self.name, "title": self.title, "input": list(self.input),
                "params": jsonable(dict(self.network.params)), "totals": self.totals,
                "rows": self.rows}  # fmt: skip

    def to_markdown(self) -> str:
        head = "| row | type | output | params | MACs | other ops | activations |"
        lines = [f"**{self.title}** (input {'x'.join(str(d) for d in self.input)})", "",
                 head, "|---|---|---|---:|---:|---:|---:|"]  # fmt: skip
        for r in self.rows:
            shape = "x".join(str(d) for d in r["shape"])
            label = r["id"].replace("|", "\\|")
            lines.append(f"| {label} | {r['type']} | {shape} | {r['params']:,} | {r['macs']:,} "
                         f"| {r['ops']:,} | {r['activations']:,} |")  # fmt: skip
        t = self.totals
        lines.append(f"| **total** | | | {t['params']:,} | {t['macs']:,} | {t['ops']:,} "
                     f"| {t['activations']:,} |")  # fmt: skip
        return "\n".join(lines) + "\n"

    def __repr__(self):
        t = self.totals
        return (f"<archcost.Result {self.name}: {len(self.network.rows)} rows, "
                f"params {t['params']:,}, MACs {t['macs']:,}>")  # fmt: skip


def load(spec: str, train: bool = False, **params) -> Result:
    """Evaluate a built-in name, ``NAME:VARIANT`` or a YAML path; ``params`` set the spec's
    parameters (as ``--set``)."""
    from .spec import build

    values = {k: str(v) for k, v in params.items()} or None
    return Result(build(spec, params=values, train=train))


def from_text(text: str, name: str = "spec") -> Result:
    """Evaluate spec text (YAML) held in memory."""
    from .spec import build_text

    return Result(build_text(text, prefix=f"archcost-{name}-"), spec_text=text)


def import_torch(model, input=(3, 224, 224), kwargs=None, flat=False) -> Result:  # noqa: A002
    """Import an ``nn.Module`` (or ``package.module:factory``) and evaluate the written spec.
    ``result.spec_text`` is the spec; needs torch."""
    from .importers.run import import_torch as run

    text, imported = run(model, kwargs, tuple(input), flat)
    result = from_text(text, "import")
    result.notes = list(imported.notes)
    return result


def import_onnx(path: str, flat=False) -> Result:
    """Import an ONNX file and evaluate the written spec; needs ``archcost[import]``."""
    from .importers.run import import_onnx as run

    text, imported = run(path, flat)
    result = from_text(text, "import")
    result.notes = list(imported.notes)
    return result
