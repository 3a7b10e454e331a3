"""Rendering of tabular results: rich text, Markdown, CSV, LaTeX (booktabs) and JSON.

Commands build a list of :class:`Column` and a list of row dicts, then call :func:`render`.
rich is imported only when text output is asked for, so scripts that want JSON stay fast.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import sys
from dataclasses import dataclass

from . import safeio
from .limits import MAX_RICH_ROWS
from .unknown import Unknown

FORMATS = ("text", "json", "csv", "md", "latex")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    numeric: bool = True
    style: str | None = None


def human(value, exact: bool = False) -> str:
    """6,998,552 -> '7.00M'; 1,582,671,872 -> '1.58G'; 138,357,544 -> '138M'.

    Three significant digits, K = 1000, M = 10^6, G = 10^9.
    """
    if value is None:
        return "?"
    if exact or not isinstance(value, int):
        return f"{value:,}" if isinstance(value, int) else str(value)
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(value) >= scale:
            x = value / scale
            digits = 2 if abs(x) < 10 else 1 if abs(x) < 100 else 0
            return f"{x:.{digits}f}{unit}"
    return str(value)


_BYTE_UNITS = (("PiB", 1 << 50), ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20),
               ("KiB", 1 << 10))  # fmt: skip


def human_bytes(n: int) -> str:
    """Bytes in binary units with two decimals (1.50 GiB, 3.00 TiB); past 1024 PiB the count
    of PiB grows. Exact integer arithmetic, rounded as ``.2f`` rounds, so no size overflows a
    float. None: '?'."""
    if n is None:
        return "?"
    for unit, scale in _BYTE_UNITS:
        if n >= scale:
            hundredths, rest = divmod(n * 100, scale)
            if 2 * rest > scale or (2 * rest == scale and hundredths % 2):  # half to even,
                hundredths += 1  # as f"{n / scale:.2f}" rounds
            return f"{hundredths // 100}.{hundredths % 100:02d} {unit}"
    return f"{n} B"


def printable(text: str, keep_newlines: bool = False) -> str:
    """Text from a spec, safe for a terminal: control characters (escape sequences that clear
    the screen, set the title or the clipboard) are shown escaped, as \\x1b."""
    return safeio.terminal(text, keep_newlines)


def _cell_text(value, fmt: str) -> str:
    if value is None:
        return "" if fmt == "csv" else "-"
    if type(value) is Unknown:  # unknown, never 0 (archcost.unknown)
        return "" if fmt == "csv" else "?"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value) if fmt == "csv" else f"{value:,}"
    return printable(str(value))


def csv_safe(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP "CSV injection"): see
    :func:`archcost.safeio.csv_cell`, the one place this rule lives."""
    return safeio.csv_cell(text)


def _latex_escape(text: str) -> str:
    return safeio.latex(text)


def render(columns, rows, fmt, title=None, footer=None, notes=()) -> str:
    """Render rows (dicts keyed by column key) with an optional footer row (totals)."""
    title = printable(title) if title else title
    notes = [printable(n, keep_newlines=True) for n in notes]
    columns = [Column(c.key, printable(c.header), c.numeric, c.style) for c in columns]
    every = list(rows) + ([footer] if footer else [])
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([safeio.csv_cell(c.header) for c in columns])
        for row in every:
            writer.writerow([safeio.csv_cell(_cell_text(row.get(c.key), "csv")) for c in columns])
        return buf.getvalue()
    if fmt == "md":
        lines = []
        if title:
            lines += [f"**{safeio.markdown(title)}**", ""]
        lines.append("| " + " | ".join(safeio.markdown(c.header) for c in columns) + " |")
        lines.append("|" + "|".join("---:" if c.numeric else "---" for c in columns) + "|")
        for row in every:
            cells = [safeio.markdown(_cell_text(row.get(c.key), "md")) for c in columns]
            if row is footer:
                cells = [f"**{x}**" if x not in ("", "-") else x for x in cells]
            lines.append("| " + " | ".join(cells) + " |")
        for note in notes:
            lines += ["", note]
        return "\n".join(lines) + "\n"
    if fmt == "latex":
        spec = "".join("r" if c.numeric else "l" for c in columns)
        lines = [f"% {title}" if title else "% archcost", f"\\begin{{tabular}}{{{spec}}}",
                 "\\toprule",
                 " & ".join(_latex_escape(c.header) for c in columns) + " \\\\",
                 "\\midrule"]  # fmt: skip
        for row in rows:
            lines.append(" & ".join(_latex_escape(_cell_text(row.get(c.key), "latex"))
                                    for c in columns) + " \\\\")  # fmt: skip
        if footer:
            lines.append("\\midrule")
            lines.append(" & ".join(_latex_escape(_cell_text(footer.get(c.key), "latex"))
                                    for c in columns) + " \\\\")  # fmt: skip
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    if fmt == "text":
        if len(rows) > MAX_RICH_ROWS or not have_rich():
            return _plain_table(columns, rows, title, footer, notes)
        return _rich_table(columns, rows, title, footer, notes)
    raise ValueError(fmt)


@functools.lru_cache(maxsize=1)
def have_rich() -> bool:
    """rich draws the text tables, bars and progress; without it (``python -m archcost`` from a
    checkout with only click and PyYAML) every command still prints, as plain text."""
    import importlib.util

    return importlib.util.find_spec("rich") is not None


def _rich_table(columns, rows, title, footer, notes) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, box=box.SIMPLE_HEAD, show_footer=footer is not None,
                  title_justify="left", header_style="bold")  # fmt: skip
    for c in columns:
        table.add_column(c.header, justify="right" if c.numeric else "left",
                         footer=_cell_text(footer.get(c.key), "text") if footer else "",
                         style=c.style, footer_style="bold")  # fmt: skip
    for row in rows:
        style = row.get("_style")
        # cells are plain text: a label such as 'mobilenet[alpha=0.5]' is not rich markup
        table.add_row(*(Text(_cell_text(row.get(c.key), "text")) for c in columns), style=style)
    width = None if sys.stdout.isatty() else 200
    # markup and emoji off: labels and titles come from specs, and '[/x]' in a label raised
    # rich's MarkupError (exit 3) while '[link=...]' or ':smile:' would be interpreted
    console = Console(file=io.StringIO(), width=width, force_terminal=sys.stdout.isatty(),
                      color_system="auto" if sys.stdout.isatty() else None, markup=False,
                      emoji=False)  # fmt: skip
    console.print(table)
    for note in notes:
        console.print(note, highlight=False, soft_wrap=True)
    text = console.file.getvalue()
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _plain_table(columns, rows, title, footer, notes) -> str:
    """The text table without rich: for tables too long for it (``--expand`` of a big net), and
    where rich is not installed."""
    every = list(rows) + ([footer] if footer else [])
    keys = [c.key for c in columns]
    cells = [_text_cells(row, keys) for row in every]
    widths = [max([len(c.header)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    # each cell padded as str.rjust / str.ljust would, the whole line in one format call
    template = "  ".join(f"{{:{'>' if c.numeric else '<'}{w}}}"
                         for w, c in zip(widths, columns))  # fmt: skip

    def line(values):
        return template.format(*values).rstrip()

    out = [title, ""] if title else []
    out += [line([c.header for c in columns]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[: len(rows)]]
    if footer:
        out += ["  ".join("-" * w for w in widths), line(cells[-1])]
    return "\n".join(out + ([""] + list(notes) if notes else [])) + "\n"


def _text_cells(row, keys) -> list:
    """``[_cell_text(row.get(k), "text") for k in keys]``, the common values inline: a
    printable str is its own text, an int its digits with commas, None '-'."""
    out = []
    get = row.get
    for k in keys:
        value = get(k)
        kind = type(value)
        if kind is str:
            out.append(value if value.isprintable() else _cell_text(value, "text"))
        elif kind is int:
            out.append(f"{value:,}")
        elif value is None:
            out.append("-")
        else:
            out.append(_cell_text(value, "text"))
    return out


def to_json(obj) -> str:
    """``json.dumps(obj, indent=2)`` + newline, character for character, in one pass.

    The standard library drops to its pure-Python encoder (a generator per nesting level)
    whenever ``indent`` is set; on a 100,000-layer table that was the largest single cost
    (BENCHMARKS.md). This writes the same text with plain recursion; strings go through the
    same C escaper. tests/test_scale.py checks the output against ``json.dumps``.
    """
    parts: list[str] = []
    _encode(obj, "\n", parts)
    parts.append("\n")
    return "".join(parts)


_escape = json.encoder.encode_basestring_ascii  # what json.dumps uses (ensure_ascii=True)


def _scalar(value):
    """The JSON text of a str, None, bool, int or float, else None (mirrors json.encoder)."""
    if isinstance(value, str):
        return _escape(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), -float("inf")):
            return "null"  # NaN and Infinity are not JSON (issue 14): unknown, never a number
        return float.__repr__(value)
    return None


def _key(key):
    if isinstance(key, str):
        return _escape(key)
    if isinstance(key, (float, bool, int)) or key is None:
        text = _scalar(key)  # json.dumps turns such keys into strings: '"1"', '"true"'
        return _escape(text)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


# exact types whose text needs no checks
_PLAIN = {str: _escape, int: int.__repr__, bool: lambda v: "true" if v else "false",
          type(None): lambda v: "null"}


class Encoded:
    """A value that writes its own JSON text: ``write(newline, parts)`` appends the pieces of
    what :func:`to_json` would write for the value it stands for, ``newline`` being the line
    break and indentation it starts at (a 100,000-record list written without building
    100,000 dicts first)."""

    __slots__ = ("write",)

    def __init__(self, write):
        self.write = write


def encode_at(value, newline: str) -> str:
    """The JSON text of ``value`` as :func:`to_json` writes it at indentation ``newline``."""
    return _nested(value, newline)


_TEMPLATES: dict = {}  # (indent, keys) -> the mapping's text with %s for each value
_MAX_TEMPLATES = 4096


def _encode(value, newline, parts) -> None:
    kind = type(value)
    plain = _PLAIN.get(kind)
    if plain is not None:
        parts.append(plain(value))
        return
    if kind is Encoded:
        value.write(newline, parts)
        return
    text = None if kind is dict or kind is list else _scalar(value)
    if text is not None:
        parts.append(text)
        return
    if isinstance(value, (list, tuple)):
        if not value:
            parts.append("[]")
            return
        inner = newline + "  "
        if all(type(item) is int for item in value):  # a shape: one string
            parts.append(f"[{inner}{(',' + inner).join(map(int.__repr__, value))}{newline}]")
            return
        parts.append("[")
        sep = inner
        for item in value:
            parts.append(sep)
            sep = "," + inner
            _encode(item, inner, parts)
        parts.append(newline)
        parts.append("]")
        return
    if isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = newline + "  "
        keys = tuple(value)
        template = _TEMPLATES.get((inner, keys))
        if template is None:
            # '{\n  "a": %s,\n  "b": %s\n}': every record of a table has the same keys
            text = "".join(f",{inner}{_key(key)}: ".replace("%", "%%") + "%s" for key in keys)
            template = "{" + text[1:] + newline + "}"
            if len(_TEMPLATES) < _MAX_TEMPLATES and all(type(k) is str for k in keys):
                _TEMPLATES[(inner, keys)] = template
        get = _PLAIN.get
        parts.append(template % tuple([plain(item) if (plain := get(type(item))) is not None
                                       else _nested(item, inner) for item in value.values()]))
        return
    _encode(_json_default(value), newline, parts)


def _nested(value, newline) -> str:
    parts: list[str] = []
    _encode(value, newline, parts)
    return "".join(parts)


def _json_default(value):
    from fractions import Fraction

    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value).__name__)


def write_atomic(path: str, write, binary: bool = False) -> None:
    """Write a file through a temporary sibling and a rename: nothing half-written on error.

    ``write(handle)`` fills the file; it gets the permissions a plain open() would (umask).
    A symlink is followed to its target; a device or pipe (``-o /dev/null``) is written to,
    never replaced (``os.replace`` would swap /dev/null for a regular file when run as root).
    A file that cannot be written is the user's error (exit 2), not a traceback.
    """
    import os
    import tempfile

    from .errors import SpecError

    mode = "wb" if binary else "w"
    encoding = None if binary else "utf-8"
    from .safeio import output_target

    target, direct = output_target(path)
    try:
        if direct is not None:  # a device, a pipe, /dev/stdout: written in place
            with os.fdopen(direct, mode, encoding=encoding) as handle:
                write(handle)
            return
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".archcost-",
                                   suffix=".tmp")  # fmt: skip
    except OSError as err:
        raise SpecError(f"cannot write {path}: {err.strerror or err}") from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            write(handle)
        os.replace(tmp, target)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise SpecError(f"cannot write {path}: {err.strerror or err}") from None
        raise


def emit(text: str, output: str | None = None) -> None:
    """Write to stdout or atomically to a file (nothing half-written on error)."""
    if output is None or output == "-":
        sys.stdout.write(text)
        return
    write_atomic(output, lambda handle: handle.write(text))
