"""The one error type for a user's mistake, carrying the file and line it points at.

The CLI prints a SpecError as ``error: FILE:LINE: message`` on one stderr line and exits 2.
Anything else that escapes is a bug in archcost: ``internal error: ...`` and exit 3.
"""

from __future__ import annotations


class SpecError(Exception):
    """A user's mistake in a spec, a table file or a command-line value."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def located(self, file: str | None, line: int | None) -> SpecError:
        """Fill in the location where the raiser did not know it (inner code knows only values)."""
        if self.file is None:
            self.file = file
        if self.line is None:
            self.line = line
        return self

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return f"{where}{self.message}"


def brief(value, limit: int = 60) -> str:
    """A short repr of a value from a spec, for error messages.

    Never walks more than a few items: YAML aliases share objects, so a small file can hold a
    list whose full repr would be billions of characters ("billion laughs").
    """

    def walk(v, depth):
        if isinstance(v, str):
            return repr(v[:limit]) + ("..." if len(v) > limit else "")
        if v is None or isinstance(v, (bool, int, float)):
            text = repr(v)
            return text if len(text) <= limit else text[:limit] + "..."
        if isinstance(v, (list, tuple)):
            if depth >= 2:
                return "[...]" if v else "[]"
            items = [walk(x, depth + 1) for x in v[:4]] + (["..."] if len(v) > 4 else [])
            return "[" + ", ".join(items) + "]"
        if isinstance(v, dict):
            if depth >= 2:
                return "{...}" if v else "{}"
            pairs = list(v.items())
            items = [f"{walk(k, depth + 1)}: {walk(x, depth + 1)}" for k, x in pairs[:4]]
            return "{" + ", ".join(items + (["..."] if len(pairs) > 4 else [])) + "}"
        text = str(v) if type(v).__module__ in ("fractions", "decimal") else type(v).__name__
        return text if len(text) <= limit else text[:limit] + "..."

    text = walk(value, 0)
    return text if len(text) <= 4 * limit else text[: 4 * limit] + "..."


def did_you_mean(word, candidates) -> str:
    """``"; did you mean 'X'?"`` for the closest candidate, or ``""``; bounded in time."""
    import difflib

    if not isinstance(word, str) or not word or len(word) > 100:
        return ""
    pool = [c for c in candidates if isinstance(c, str) and len(c) <= 100][:10_000]
    close = difflib.get_close_matches(word, pool, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""
