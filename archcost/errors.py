"""The one error type for a user's mistake, carrying the file and line it points at.

The CLI prints a SpecError as ``error: FILE:LINE: message`` on one stderr line and exits 2.
Anything else that escapes is a bug in archcost: ``internal error: ...`` and exit 3.
"""

from __future__ import annotations

import re

# both install forms: the README's unpinned extra, and the CPU-only wheel
TORCH_MISSING = ("torch is not installed; pip install 'archcost[torch]' (the extra is unpinned "
                 "torch>=2.1, which can pull CUDA packages), or for the CPU wheel only: "
                 "pip install 'archcost[torch]' torch --index-url "
                 "https://download.pytorch.org/whl/cpu")


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


def _fold(word: str) -> str:
    """Case, spaces, '_' and '-' do not tell names apart: 'Layer_Norm' ~ 'layernorm'."""
    return word.lower().replace("_", "").replace("-", "").replace(" ", "")


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap two neighbours),
    or ``limit + 1`` as soon as it must exceed ``limit`` (bounded in time)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def typo_limit(word: str) -> int:
    """Edits a typo may have: 0 for 1-2 letters, 1 up to 5, 2 up to 11, then 3."""
    n = len(word)
    return 0 if n <= 2 else 1 if n <= 5 else 2 if n <= 11 else 3


def closest(word, candidates, digits: bool = False) -> str | None:
    """The candidate that is likely what ``word`` meant, or None.

    Only a small edit distance counts (``typo_limit`` edits of the case- and separator-folded
    names), never a shared prefix or substring: 'layernorm' is not 'norm', 'matmul' is not
    'mul', 'gelu_tanh' is not 'tanh'. With ``digits`` (layer types) the digits must agree too,
    so 'conv3d' is not offered 'conv2d'. Ties go by difflib's similarity. Bounded in time.
    """
    if not isinstance(word, str) or not word or len(word) > 100:
        return None
    folded = _fold(word)
    limit = typo_limit(folded)
    wanted_digits = re.sub(r"\D", "", word)
    best, best_d = [], limit + 1
    for cand in list(candidates)[:10_000]:
        if not isinstance(cand, str) or len(cand) > 100:
            continue
        if digits and re.sub(r"\D", "", cand) != wanted_digits:
            continue
        d = edit_distance(folded, _fold(cand), min(limit, best_d))
        if d < best_d:
            best, best_d = [cand], d
        elif d == best_d and d <= limit:
            best.append(cand)
    if not best:
        return None
    if len(best) == 1:
        return best[0]
    import difflib  # ties: the most similar by difflib's ratio

    return difflib.get_close_matches(word, best[:100], n=1, cutoff=0)[0]


def did_you_mean(word, candidates, digits: bool = False) -> str:
    """``"; did you mean 'X'?"`` when a candidate is likely what was meant (:func:`closest`),
    else ``""``."""
    close = closest(word, candidates, digits)
    return f"; did you mean '{close}'?" if close else ""


# torch / Keras field names -> archcost's (an unknown field is most often one of these)
FIELD_SYNONYMS = {
    "stride": "s", "strides": "s", "kernel_size": "k", "kernel": "k", "pool_size": "k",
    "padding": "p", "pad": "p", "groups": "g", "group": "g", "dilation": "d",
    "dilation_rate": "d", "out_channels": "out", "filters": "out", "units": "out",
    "out_features": "out", "num_output": "out", "use_bias": "bias", "epsilon": "eps",
    "ceil_mode": "ceil", "activation": "act", "output_size": "size", "rate": "p",
}  # fmt: skip
# fields archcost does not need: the shape flows from the row above
FLOWING = ("in_channels", "in_features", "input_dim", "input_shape", "num_features", "channels")


def field_hint(key, allowed, own=()) -> str:
    """Why a field is unknown and what to write instead: the archcost name of a torch/Keras
    field (``stride`` -> ``s``), a typo's fix, or that input channels are never written;
    then the valid fields (``own``: the type's own fields, listed first)."""
    listed = ", ".join([*own, *sorted(set(allowed) - set(own))])
    if isinstance(key, str) and key.lower() in FLOWING:
        return (f"; input sizes are not written: they flow from the row above (fields: "
                f"{listed})")  # fmt: skip
    if isinstance(key, str):
        synonym = FIELD_SYNONYMS.get(key.lower())
        if synonym in allowed:
            return f"; archcost calls it '{synonym}' (fields: {listed})"
    close = did_you_mean(key, sorted(allowed))
    return f"{close} (fields: {listed})" if close else f" (fields: {listed})"
