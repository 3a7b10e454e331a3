"""YAML spec -> evaluated :class:`~archcost.graph.Network`, with file:line errors.

A spec reads like the paper's table (see docs/spec.md)::

    input: [3, 224, 224]
    defaults: {conv: {act: relu}, maxpool: {ceil: true}}
    layers:
      - conv 7x7/2:    {out: 64, k: 7, s: 2, p: 3}
      - max pool:      {k: 3, s: 2}
      - inception 3a:  [64, 96, 128, 16, 32, 32]

A row is ``LABEL: FIELDS`` (a mapping, a positional list or one scalar) or a bare type name.
Its type is the label itself or its first word (``conv 7x7/2`` is a conv) unless ``type:`` says
otherwise. Each row feeds the next unless ``in:`` names earlier rows (``input`` is the network's
or block's input). Blocks are macros over primitives defined in YAML (``specs/blocks/*.yaml`` or
the spec's own ``blocks:``). Resolution, variants and ``extends`` are applied to the YAML before
one pass expands rows into nodes and computes every shape and cost.

The package has three parts, each readable in one sitting:

- :mod:`.documents` locates a spec, loads its YAML with lines, reads the block library and
  merges ``extends`` and variants into one effective document;
- :mod:`.fields` resolves a row's type from its label and converts field values;
- :mod:`.expand` expands rows into primitive nodes, computing every shape and cost in one pass.
"""

from .documents import (
    _load_cached,
    _RowIndex,
    _short,
    block_library,
    builtin_names,
    builtin_variants,
    display_name,
    effective,
    load_raw,
    resolve,
    row_ids,
    row_key,
    specs_dir,
)
from .expand import _Expander, build, build_doc, build_text, load, param_values

__all__ = [
    "block_library", "build", "build_doc", "build_text", "builtin_names", "builtin_variants", "display_name", "effective", "load",
    "load_raw", "param_values", "resolve", "row_ids", "row_key", "specs_dir",
    "_Expander", "_RowIndex", "_load_cached", "_short",
]  # fmt: skip
