"""Several networks on one command line, each with its own ``--set`` values.

``archcost compare mobilenet --set alpha=0.5 --set resolution=160 googlenet`` names two
networks; the ``--set`` options bind to the network just before them. click cannot express
that with a plain ``multiple=True`` option (it would lose the order), so the verbs take the
raw words (``ignore_unknown_options`` and a variadic argument) and :func:`parse_networks`
splits them here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from .errors import SpecError
from .options import parse_sets


@dataclass
class NetArg:
    """One network as named on the command line, with the parameters set for it."""

    spec: str  # NAME, NAME:VARIANT or a path, as typed
    sets: dict = field(default_factory=dict)  # KEY -> VALUE text, in the order given
    label: str = ""  # unique display label, e.g. mobilenet[alpha=0.5,resolution=160]


def variadic_settings() -> dict:
    """click context settings for a verb whose networks carry their own --set."""
    return {"ignore_unknown_options": True}


def parse_networks(words, minimum: int = 1, maximum: int | None = None) -> list[NetArg]:
    """Split raw words into networks; ``--set K=V`` / ``--set=K=V`` bind to the one before."""
    nets: list[NetArg] = []
    words = list(words)
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--set" or word.startswith("--set="):
            if word == "--set":
                if i + 1 >= len(words):
                    raise click.UsageError("--set needs KEY=VALUE")
                value = words[i + 1]
                i += 2
            else:
                value = word[len("--set="):]
                i += 1
            if not nets:
                raise click.UsageError(f"--set {value} comes before any network; write it after "
                                       "the network it applies to")  # fmt: skip
            nets[-1].sets.update(parse_sets([value]))
            continue
        if word.startswith("-") and word != "-":
            raise click.UsageError(f"no such option: {word}")
        nets.append(NetArg(word))
        i += 1
    if len(nets) < minimum:
        raise click.UsageError(f"give at least {minimum} network{'s' if minimum > 1 else ''} "
                               "(built-in names, NAME:VARIANT or spec files)")  # fmt: skip
    if maximum is not None and len(nets) > maximum:
        raise click.UsageError(f"give at most {maximum} networks, got {len(nets)}")
    return nets


def assign_labels(nets: list[NetArg], names: list[str]) -> None:
    """Labels from each network's display name and its --set values, made unique."""
    seen: dict[str, int] = {}
    for net, name in zip(nets, names, strict=True):
        label = name
        if net.sets:
            label += "[" + ",".join(f"{k}={v}" for k, v in net.sets.items()) + "]"
        seen[label] = seen.get(label, 0) + 1
        net.label = label if seen[label] == 1 else f"{label} #{seen[label]}"


def find_label(nets: list[NetArg], names: list[str], wanted: str) -> int:
    """Index of the network a user means by ``wanted``: its label, name or spec as typed."""
    for how in ("label", "name", "spec"):
        hits = [i for i, (net, name) in enumerate(zip(nets, names, strict=True))
                if {"label": net.label, "name": name, "spec": net.spec}[how] == wanted]  # fmt: skip
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise SpecError(f"--baseline {wanted!r} matches {len(hits)} networks; use a label: "
                            + ", ".join(nets[i].label for i in hits))  # fmt: skip
    raise SpecError(f"--baseline {wanted!r} is none of the networks compared: "
                    + ", ".join(n.label for n in nets))  # fmt: skip
