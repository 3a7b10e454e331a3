"""The Python API: what the CLI prints, as objects for scripts and notebooks.

    >>> import archcost
    >>> net = archcost.load("googlenet")              # a built-in name, NAME:VARIANT or a path
    >>> net.totals["params"], net.totals["macs"]      # exact ints
    (6998552, 1582671872)
    >>> net.rows[0]["id"], net.rows[0]["macs"]
    ('conv 7x7/2', 118013952)
    >>> print(net.to_markdown())                      # the table, one row per spec row

``load(spec, **params)`` sets spec parameters (``archcost.load("mobilenet", alpha=0.5)``);
``train=True`` includes training-only rows. The CLI is a thin layer over the same functions:
:meth:`Result.table`, :meth:`Result.memory` and :meth:`Result.predict` return exactly what
``archcost table|memory|predict SPEC --format json`` print, :meth:`Result.render` and
:meth:`Result.to_markdown` the text, :func:`compare` what ``archcost compare`` prints, and
:meth:`Result.formulas` the per-row formulas of ``archcost formula`` (sympy, imported
then). With the ``import`` extra, :func:`import_torch` and :func:`import_onnx` turn a model
into a spec and load it. Numbers are those of the static engine: plain integer arithmetic,
no torch; the same conventions as the CLI (params are trainable, BN running statistics are
``buffers``; MACs of conv, linear and matrix-product (attention) layers only, FLOPs = 2 x
MACs; other work in ``ops``). A count archcost cannot give (a row of type ``unknown``, an op it
has no formula for, as ``import_torch(..., allow_unknown=True)`` writes) is ``None``, never 0,
and so is every total that includes it (:mod:`archcost.unknown`); :attr:`Result.unknown_rows`
lists those rows.
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
        t["flops"] = None if t["macs"] is None else 2 * t["macs"]  # None: unknown
        return t

    @property
    def unknown_rows(self) -> list[str]:
        """Ids of the layers of type ``unknown`` (an op archcost has no formula for): their
        MACs and other ops are None, and so is every total that includes them."""
        from .unknown import unknown_nodes

        return [n.id for n in unknown_nodes(self.network)]

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

    # -- what each command prints as JSON: the same functions build it, so the API and the
    # -- CLI cannot disagree (tests/test_api.py compares them)

    def table(self, batch: int = 1, dtype: str = "float32", expand: bool = False,
              convention: str | None = None) -> dict:
        """``archcost table SPEC --format json``: rows (or layers with ``expand``), totals,
        the inference peak, and with ``convention`` another tool's count per row."""
        from .commands.table import network_json

        return network_json(self.network, batch, dtype, expand, convention)

    def memory(self, batch: int = 1, dtype: str = "float32", device: str | None = None,
               optimizer: str = "adam", expand: bool = False, framework: str = "torch-eager",
               autocast: bool = False, workspace: str = "none") -> dict:
        """``archcost memory SPEC --format json``: bytes per row, live bytes, the inference
        peak and where (``peak_layer``), and training memory when loaded with ``train=True``.
        ``device`` defaults to the CLI's (cpu)."""
        from .commands.memory import memory_json
        from .options import DEFAULT_DEVICE

        return memory_json(self.network, batch, dtype, device or DEFAULT_DEVICE, optimizer,
                           expand, framework, autocast, workspace)  # fmt: skip

    def predict(self, profile: str = "h100", batch: int = 1, dtype: str = "float32",
                expand: bool = False, autocast: bool = False, channels_last: bool = False,
                compile: bool = False) -> dict:  # noqa: A002
        """``archcost predict SPEC --profile PROFILE --format json``: predicted time per row
        (host, compute, memory, which bound) and in total, on a built-in profile or a file."""
        from .commands.predict import predict_json
        from .latency import load_profile

        return predict_json(self.network, load_profile(profile), batch, dtype, expand,
                            autocast, channels_last, compile)  # fmt: skip

    def render(self, fmt: str = "text", batch: int = 1, dtype: str = "float32",
               expand: bool = False) -> str:
        """The table as ``archcost table SPEC --format FMT`` prints it (text, md, csv, json,
        latex)."""
        from .commands.table import render_table
        from .report import to_json

        if fmt == "json":
            return to_json(self.table(batch, dtype, expand))
        return render_table(self.network, fmt, batch, dtype, expand)

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
        """The table as ``archcost table SPEC --format md`` prints it."""
        return self.render("md")

    def __repr__(self):
        from .unknown import fmt

        t = self.totals
        return (f"<archcost.Result {self.name}: {len(self.network.rows)} rows, "
                f"params {fmt(t['params'])}, MACs {fmt(t['macs'])}>")  # fmt: skip


def load(spec: str, train: bool = False, **params) -> Result:
    """Evaluate a built-in name, ``NAME:VARIANT`` or a YAML path; ``params`` set the spec's
    parameters (as ``--set``)."""
    from .spec import build

    values = {k: str(v) for k, v in params.items()} or None
    return Result(build(spec, params=values, train=train))


def from_text(text: str, name: str = "spec") -> Result:
    """Evaluate spec text (YAML) held in memory."""
    from .spec import build_text

    net = build_text(text, prefix=f"archcost-{name}-")
    if net.name.startswith(("/", "archcost-")) or net.name.endswith(".yaml"):
        net.name = name  # a spec without `name:` is named after its (temporary) file
    return Result(net, spec_text=text)


def compare(*specs: str, batch: int = 1, dtype: str = "float32", train: bool = False,
            baseline: str | None = None, convention: str | None = None,
            sort: str | None = None) -> dict:  # fmt: skip
    """``archcost compare SPEC ... --format json``: ``networks``, one record per network
    (params, MACs, activations, the inference peak, ratios to the baseline). A spec may carry
    its own settings as on the command line: ``compare("mobilenet", "--set", "alpha=0.5")``."""
    from .commands.compare import compare_data

    return compare_data(list(specs), batch, dtype, train, baseline, False, convention, sort)


def import_torch(model, input=(3, 224, 224), kwargs=None, flat=False,  # noqa: A002
                 allow_unknown=False) -> Result:  # fmt: skip
    """Import an ``nn.Module`` (or ``package.module:factory``) and evaluate the written spec.
    ``result.spec_text`` is the spec; needs torch. An op archcost has no primitive for is an
    error (:class:`archcost.errors.SpecError` naming the op, module path and source line);
    with ``allow_unknown=True`` it becomes a row of type ``unknown`` whose MACs are None
    (:attr:`Result.unknown_rows`)."""
    from .importers.run import import_torch as run

    text, imported = run(model, kwargs, tuple(input), flat, allow_unknown=allow_unknown)
    result = from_text(text, "import")
    result.notes = list(imported.notes)
    return result


def import_onnx(path: str, flat=False, allow_unknown=False) -> Result:
    """Import an ONNX file and evaluate the written spec; needs ``archcost[import]``.
    ``allow_unknown`` as for :func:`import_torch`."""
    from .importers.run import import_onnx as run

    text, imported = run(path, flat, allow_unknown=allow_unknown)
    result = from_text(text, "import")
    result.notes = list(imported.notes)
    return result
