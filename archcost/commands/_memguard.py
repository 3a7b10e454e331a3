"""``--max-memory`` for the torch commands: refuse a module before torch allocates it.

A spec of a few lines can describe a network whose weights alone are terabytes (a linear layer
of 2^24 x 2^24 is 2^48 parameters); ``verify`` and ``bench`` used to hand that to torch and
end in an allocator error (exit 3), after minutes of swapping. The bytes are known statically:

    need = weights x copies + peak live activations x batch

with weights = (params + buffers) x bytes per element, copies = 2 when a second module is
built (``verify --fold-bn``), and the peak live activations of :func:`archcost.memory.inference`
(per sample, graph tensors, in place where torch runs in place). Over the limit is the user's
error (exit 2) naming both sizes.
"""

from __future__ import annotations

import os
import re

import click

from ..errors import SpecError
from ..limits import MAX_TORCH_NODES
from ..report import human_bytes
from ..safeio import number_text

_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """'16G' -> 17,179,869,184 bytes (K, M, G, T are powers of 1024; 'GiB', 'GB' alike)."""
    number_text(text, "--max-memory", 40)
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise SpecError(f"--max-memory: expected a size such as 16G or 512M, got {text!r}")
    value = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if value < 1:
        raise SpecError("--max-memory must be at least 1 byte")
    return value


def default_limit() -> int:
    """This machine's physical memory (the most a CPU run can use without swapping)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 40


def max_memory_option(f):
    return click.option(
        "--max-memory", "max_memory", metavar="SIZE", default=None,
        help="Refuse a module that would need more than SIZE bytes (weights + peak live "
        "activations), before torch allocates anything; 16G, 512M. Default: physical memory.",
    )(f)  # fmt: skip


def needed_bytes(net, batch: int, nbytes: int, copies: int = 1) -> int:
    """Bytes the torch module and one forward pass need (see the module docstring)."""
    from ..memory import peak_activations

    weights = (net.total("params") + net.total("buffers")) * nbytes
    peak, _node = peak_activations(net)
    return weights * copies + peak * batch * nbytes


def check_memory(net, batch: int, nbytes: int, max_memory: str | None, copies: int = 1,
                 what: str = "the module") -> None:  # fmt: skip
    if len(net.nodes) > MAX_TORCH_NODES:  # a torch module per layer: about 0.3 ms each
        raise SpecError(f"{what} would have {len(net.nodes):,} layers; verify and bench build at "
                        f"most {MAX_TORCH_NODES:,} (MAX_TORCH_NODES)")  # fmt: skip
    limit = parse_size(max_memory) if max_memory is not None else default_limit()
    need = needed_bytes(net, batch, nbytes, copies)
    if need > limit:
        raise SpecError(f"{what} would need {human_bytes(need)} ({need:,} bytes: weights and "
                        f"peak live activations at batch {batch}), more than --max-memory "
                        f"{human_bytes(limit)}; nothing was allocated")  # fmt: skip
