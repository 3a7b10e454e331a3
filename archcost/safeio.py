"""Untrusted text out and untrusted numbers in: one function per target format.

Labels, titles, paths and parameter names come from spec files and the command line. Each
output format gives some characters a meaning, so each gets exactly one escaping function
here, and every writer of that format uses it (issue 14: an OSC 52 clipboard sequence passed
whole through ``formula --format latex``, ``[/x]`` crashed rich, ``$\\undefinedcmd$`` crashed
matplotlib's mathtext):

=================  ==========================================================================
``terminal``       control characters (ESC, BEL, CR, ...) shown as ``\\x1b``: nothing moves
                   the cursor, sets the title or the clipboard; newlines and tabs become spaces
``rich_markup``    ``terminal`` + rich's own markup escape, for text put inside rich markup
``latex``          ``terminal`` + the ten LaTeX specials (``\\ & % $ # _ { } ~ ^``)
``markdown``       ``terminal`` + backslash before ``\\ ` * _ [ ] < > | ~ $``
``csv_cell``       ``terminal`` + a leading ``'`` before ``= + - @`` that starts a non-number
                   (spreadsheets run such cells as formulas); quoting is the csv module's
``mathtext``       ``terminal`` + ``$`` escaped, for matplotlib text (no math mode from labels)
=================  ==========================================================================

Numbers written on the command line are checked as text before any parser sees them
(:func:`number_text`): ``Fraction("1e999999999")`` builds a billion-digit integer.
"""

from __future__ import annotations

import math
import re

from .errors import SpecError
from .limits import MAX_EXPONENT, MAX_NUMBER_CHARS


def terminal(text, keep_newlines: bool = False) -> str:
    """Text safe for a terminal: control and other non-printable characters escaped."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or (keep_newlines and ch == "\n")
                   else " " if ch in "\n\t" else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)  # fmt: skip


def rich_markup(text) -> str:
    """Text to interpolate into a rich markup string: shown as written, never as a tag."""
    from rich.markup import escape

    return escape(terminal(text))


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
          "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
          "×": r"$\times$"}  # fmt: skip
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX))


def latex(text) -> str:
    """Text for a LaTeX document (outside math): specials escaped in one pass."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group(0)], terminal(text))


_MARKDOWN_RE = re.compile(r"([\\`*_\[\]<>|~$])")


def markdown(text) -> str:
    """Text for a Markdown table cell or heading: inline syntax shown as written."""
    return _MARKDOWN_RE.sub(r"\\\1", terminal(text))


_NUMBER_RE = re.compile(r"[+-]?(\d[\d,_]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?")


def csv_cell(text) -> str:
    """Text for a CSV cell (the csv module quotes it): no formula a spreadsheet would run."""
    text = terminal(text)
    if text[:1] in ("=", "+", "-", "@") and len(text) > 1 and not _NUMBER_RE.fullmatch(text):
        return "'" + text
    return text


def mathtext(text) -> str:
    """Text for a matplotlib label: ``$`` shown as a dollar, never as math mode."""
    return terminal(text).replace("$", r"\$")


_EXPONENT_RE = re.compile(r"(?<![A-Za-z_])\d[\d_]*(?:\.\d*)?[eE]([+-]?\d+)|\.\d+[eE]([+-]?\d+)")


def number_text(text: str, what: str, max_chars: int = MAX_NUMBER_CHARS) -> str:
    """``text`` unchanged when it is short and every decimal exponent in it is within
    :data:`~archcost.limits.MAX_EXPONENT`; else a SpecError naming ``what``.

    Python's number parsers take time in the size of the number, not of the text:
    ``Fraction("1e999999999")`` spins for minutes and ``1e5000`` overflows int-to-text.
    """
    if not isinstance(text, str):
        raise SpecError(f"{what}: expected a number")
    if len(text) > max_chars:
        raise SpecError(f"{what}: {len(text):,} characters; a value from the command line has "
                        f"at most {max_chars} (MAX_NUMBER_CHARS)")  # fmt: skip
    for match in _EXPONENT_RE.finditer(text):
        digits = (match.group(1) or match.group(2)).lstrip("+-").lstrip("0") or "0"
        if len(digits) > 4 or int(digits) > MAX_EXPONENT:
            raise SpecError(f"{what}: the exponent in {terminal(match.group(0))[:40]!r} is "
                            f"beyond ±{MAX_EXPONENT} (MAX_EXPONENT)")  # fmt: skip
    return text


def finite(value, what: str):
    """``value`` when it is a finite number (or not a float at all); else a SpecError.
    ``inf`` ms, ``nan%`` and JSON's non-standard ``Infinity``/``NaN`` are never printed."""
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"{what} is not a finite number ({value}); check the inputs that "
                        "produce it")  # fmt: skip
    return value
