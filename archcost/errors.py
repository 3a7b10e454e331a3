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
