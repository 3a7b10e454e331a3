"""``archcost layers [NAME]``: every primitive and block a spec can use, from the registry itself.

The fields, defaults, positional order and formula shown are read from ``archcost.layers``
(each primitive's :class:`Field` list and its docstring) and from the block library
(``specs/blocks/*.yaml``: ``doc``, ``args``, ``defaults``), so the listing cannot drift from
what the expander accepts. docs/spec.md's primitive reference is generated here
(``archcost layers --update-doc docs/spec.md``) and checked by tests/test_layers_command.py.
"""

from __future__ import annotations

import inspect

import click

from .. import layers as L
from ..errors import SpecError, did_you_mean
from ..options import format_option, output_option
from ..report import Column, emit, render, to_json

DOC_BEGIN = ("<!-- primitives: generated from the registry by "
             "`archcost layers --update-doc docs/spec.md`; do not edit by hand -->")
DOC_END = "<!-- end of primitives -->"


def _default_text(f: L.Field) -> str | None:
    if f.default is L.REQUIRED:
        return None
    if f.default is None:
        return "none" if f.name != "s" else "k"
    if isinstance(f.default, bool):
        return str(f.default).lower()
    return str(f.default)


def _field_entry(f: L.Field) -> dict:
    entry = {"name": f.name, "kind": f.kind, "required": f.default is L.REQUIRED,
             "default": _default_text(f), "doc": f.doc}  # fmt: skip
    if f.choices:
        entry["choices"] = list(f.choices)
    return entry


def _inputs(prim: L.Primitive) -> str:
    return {1: "one", 2: "two", None: "two or more"}.get(prim.arity, str(prim.arity))


def primitive_entry(prim: L.Primitive) -> dict:
    fields = [_field_entry(f) for f in prim.fields]
    if prim.weight:
        fields += [_field_entry(f) for f in _weight_sugar()]
    return {
        "name": prim.name,
        "kind": "primitive",
        "aliases": sorted(a for a, t in L.ALIASES.items() if t == prim.name),
        "positional": list(prim.positional),
        "fields": fields,
        "inputs": _inputs(prim),
        "in_place": prim.inplace,
        "weight_layer": prim.weight,
        "formula": inspect.cleandoc(prim.fn.__doc__ or ""),
    }


def _weight_sugar():
    from ..spec.documents import WEIGHT_SUGAR

    return [
        L.Field("bn", "bool", False, doc="a batch norm after it (sugar: a separate bn layer)"),
        L.Field("act", "choice", WEIGHT_SUGAR["act"].default,
                doc="an activation after it: none or an activation type"),
    ]  # fmt: skip


def block_entry(name: str, bdef: dict) -> dict:
    args = list(bdef.get("args", []))
    defaults = bdef.get("defaults") or {}
    fields = [{"name": a, "kind": "argument", "required": True, "default": None, "doc": ""}
              for a in args]  # fmt: skip
    fields += [{"name": str(k), "kind": "argument", "required": False,
                "default": str(v).lower() if isinstance(v, bool) else str(v),
                "doc": ""} for k, v in defaults.items()]  # fmt: skip
    return {
        "name": name,
        "kind": "block",
        "aliases": [],
        "positional": [*args, *map(str, defaults)],
        "fields": fields,
        "inputs": "one (or in: [...])",
        "in_place": False,
        "weight_layer": False,
        "formula": str(bdef.get("doc") or ""),
        "file": getattr(bdef, "file", None),
        "layers": len(bdef.get("layers") or []),
    }


def all_entries() -> list[dict]:
    from ..spec import block_library

    entries = [primitive_entry(p) for p in L.PRIMITIVES.values()]
    entries += [block_entry(n, b) for n, b in sorted(block_library().items())]
    return entries


def find(name: str) -> dict:
    from ..spec import block_library

    prim = L.get(name)
    if prim is not None:
        return primitive_entry(prim)
    library = block_library()
    if name in library:
        return block_entry(name, library[name])
    names = sorted({*L.PRIMITIVES, *L.ALIASES, *library})
    hint = did_you_mean(name, names, digits=True) or "; `archcost layers` lists them all"
    raise SpecError(f"no layer type or block {name!r}{hint}")


def _fields_text(entry: dict) -> str:
    parts = []
    for f in entry["fields"]:
        parts.append(f["name"] if f["required"] else f"{f['name']}={f['default']}")
    return ", ".join(parts)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def listing(entries, fmt: str) -> str:
    if fmt == "json":
        return to_json({"layers": entries})
    columns = [Column("name", "type", numeric=False), Column("kind", "kind", numeric=False),
               Column("fields", "fields (=default), positional first", numeric=False),
               Column("aliases", "aliases", numeric=False)]  # fmt: skip
    if fmt != "text":
        columns.append(Column("formula", "formula", numeric=False))
    rows = []
    for e in entries:
        rows.append({"name": e["name"], "kind": e["kind"], "fields": _fields_text(e),
                     "aliases": ", ".join(e["aliases"]), "formula": _one_line(e["formula"])})
    notes = ()
    if fmt == "text":
        notes = ("archcost layers NAME shows one type: each field, its default, the positional "
                 "order and the formula. Any row also takes type, id, in, repeat, first, train, "
                 "when, else (docs/spec.md).",)  # fmt: skip
    return render(columns, rows, fmt, title="Layer types and blocks", notes=notes)


def detail(entry: dict, fmt: str) -> str:
    if fmt == "json":
        return to_json(entry)
    columns = [Column("name", "field", numeric=False), Column("kind", "kind", numeric=False),
               Column("default", "default", numeric=False), Column("doc", "meaning", numeric=False)]
    rows = [{**f, "default": "required" if f["required"] else f["default"]}
            for f in entry["fields"]]  # fmt: skip
    positional = ", ".join(entry["positional"]) or "none"
    head = f"{entry['name']} ({entry['kind']})"
    lines = [f"positional order: {positional}", f"inputs: {entry['inputs']}"]
    if entry["aliases"]:
        lines.append("aliases: " + ", ".join(entry["aliases"]))
    if entry["in_place"]:
        lines.append("in place: writes over its input (no new activation memory)")
    if entry.get("file"):
        lines.append(f"defined in {entry['file']} ({entry['layers']} rows)")
    formula = entry["formula"] or "(no docstring)"
    if fmt in ("text", "md"):
        notes = (*lines, "", formula)
        return render(columns, rows, fmt, title=head, notes=notes)
    return render(columns, rows, fmt, title=head)


def doc_section() -> str:
    """docs/spec.md's primitive reference: the Markdown of every primitive, from the registry."""
    lines = [DOC_BEGIN, "", "| type | fields (=default), positional first | inputs | aliases | "
             "formula |", "|---|---|---|---|---|"]  # fmt: skip
    for e in all_entries():
        if e["kind"] != "primitive":
            continue
        cells = [f"`{e['name']}`", _fields_text(e).replace("|", "\\|") or "", e["inputs"],
                 ", ".join(f"`{a}`" for a in e["aliases"]),
                 _one_line(e["formula"]).replace("|", "\\|")]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", DOC_END]
    return "\n".join(lines)


def update_doc(path: str) -> bool:
    """Rewrite the generated section of ``path``; True when it changed."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    start, end = text.index(DOC_BEGIN), text.index(DOC_END) + len(DOC_END)
    new = text[:start] + doc_section() + text[end:]
    if new != text:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(new)
    return new != text


@click.command("layers")
@click.argument("name", required=False)
@format_option()
@output_option
@click.option("--update-doc", "update", metavar="FILE", hidden=True,
              help="Rewrite the generated primitive reference in FILE (docs/spec.md).")
def command(name, fmt, output, update):
    """Layer types and blocks a spec can use, with fields, defaults and formulas.

    Without NAME: every primitive (from the registry) and every shared block
    (specs/blocks/*.yaml). With NAME (a type, an alias or a block): its fields, what each
    means, its default, the positional order (`- max pool: [3, 2]` is k=3, s=2) and the
    formula from the layer's own docstring.

    \b
      archcost layers
      archcost layers conv
      archcost layers inception --format json
    """
    if update:
        changed = update_doc(update)
        click.echo(f"{update}: {'updated' if changed else 'already up to date'}")
        return
    if name is None:
        emit(listing(all_entries(), fmt), output)
    else:
        emit(detail(find(name), fmt), output)
