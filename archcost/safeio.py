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


# ---------------------------------------------------------------- where -o writes


def output_target(path: str):
    """Where ``-o PATH`` writes: ``(real_path, None)`` for a regular file, to be replaced
    atomically, or ``(path, fd)`` with a descriptor open for writing when PATH is a device,
    a pipe or a descriptor of this process (``/dev/null``, a fifo, ``/dev/stdout``).

    Refused, as the user's error: a file this command has read (``-o`` naming the input spec
    overwrote it), a fifo that no process reads (opening it blocked forever), a directory.
    """
    import errno
    import fcntl
    import os
    import stat

    from .yamlio import was_read

    if "\0" in path:
        raise SpecError("-o: a file name cannot contain a NUL character")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as err:
        raise SpecError(f"cannot write {terminal(path)}: {err.strerror or err}") from None
    if info is not None and was_read(info):
        raise SpecError(f"-o {terminal(path)} is a file this command reads; archcost does not "
                        "overwrite its own input (write to another file)")  # fmt: skip
    real = os.path.realpath(path)
    if info is None or (stat.S_ISREG(info.st_mode) and not real.startswith(("/proc/", "/dev/"))):
        return real, None
    if stat.S_ISDIR(info.st_mode):
        raise SpecError(f"cannot write {terminal(path)}: is a directory")
    # a device, a pipe, or /dev/stdout and the like: write to it in place, never replace it;
    # O_NONBLOCK makes opening a fifo without a reader fail (ENXIO) instead of waiting forever
    flags = os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    if stat.S_ISREG(info.st_mode):
        flags |= os.O_APPEND  # stdout redirected to a file: after what is there, as a shell would
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ENXIO:
            raise SpecError(f"cannot write {terminal(path)}: a pipe that no process reads "
                            "(archcost does not wait for a reader)") from None  # fmt: skip
        raise SpecError(f"cannot write {terminal(path)}: {err.strerror or err}") from None
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return path, fd


# ---------------------------------------------------------------- files a file may name


def confined_path(name: str, folder: str, what: str) -> str:
    """The path of ``name``, a ``.yaml`` file in ``folder`` or below it: what ``extends:`` and
    a table's ``network:`` may name. Refused with a SpecError (the caller adds file and line):
    an absolute path, a ``..`` component, a NUL, and a path whose real location (symlinks
    followed) is outside ``folder``: a spec must not make archcost read ``/proc/self/environ``
    and quote it back in an error.
    """
    import os

    shown = "'" + terminal(name[:80]) + "'"
    if "\0" in name:
        raise SpecError(f"{what} {shown}: no such file (a file name cannot hold a NUL)")
    if os.path.isabs(name) or name.startswith("~"):
        raise SpecError(f"{what} {shown}: a file is named relative to this file's folder "
                        "(no absolute path)")  # fmt: skip
    parts = name.replace(os.sep, "/").split("/")
    if ".." in parts:
        raise SpecError(f"{what} {shown}: a file must be in this file's folder or below it "
                        "(no '..')")  # fmt: skip
    candidate = os.path.join(folder, name)
    root = os.path.realpath(folder)
    real = os.path.realpath(candidate)
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        raise SpecError(f"{what} {shown}: a symbolic link to a file outside this file's "
                        "folder")  # fmt: skip
    if not os.path.isfile(real):
        raise SpecError(f"{what} {shown}: no such file next to this one")
    return candidate
