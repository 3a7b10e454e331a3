"""Find the model a user names: ``package.module:factory`` or ``path/to/models.py:Net``.

The factory (a function or a class) is called with ``--kwargs`` (a JSON object) and must
return an ``nn.Module``. Importing the user's module runs its code: this is the user's own
model, on the user's machine, as with any Python import.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys

from ..errors import SpecError


def parse_kwargs(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"--kwargs: not JSON ({err.msg} at character {err.pos})") from None
    if not isinstance(value, dict):
        raise SpecError("--kwargs: expected a JSON object like '{\"num_classes\": 10}'")
    return value


def parse_input(text: str | None, default=(3, 224, 224)) -> tuple:
    if not text:
        return tuple(default)
    try:
        dims = tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip())
    except ValueError:
        raise SpecError(f"--input: expected sizes like 3,224,224, got {text!r}") from None
    if not dims or any(d < 1 for d in dims):
        raise SpecError(f"--input: sizes must be positive whole numbers, got {text!r}")
    return dims


def find_factory(target: str):
    """The callable named by ``module:attr`` or ``file.py:attr``."""
    module_part, sep, attr = target.rpartition(":")
    if not sep or not module_part or not attr:
        raise SpecError(f"expected PACKAGE.MODULE:FACTORY or path/file.py:FACTORY, got {target!r}")
    if module_part.endswith(".py") or os.sep in module_part:
        if not os.path.isfile(module_part):
            raise SpecError(f"{module_part}: no such file")
        name = "_archcost_import_" + os.path.splitext(os.path.basename(module_part))[0]
        spec = importlib.util.spec_from_file_location(name, module_part)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        folder = os.path.dirname(os.path.abspath(module_part))
        sys.path.insert(0, folder)  # the file's own sibling imports
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(folder)
    else:
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_part)
        except ModuleNotFoundError as err:
            raise SpecError(f"cannot import {module_part!r}: {err}") from None
    factory = module
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise SpecError(f"{module_part} has no {attr!r}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise SpecError(f"{target} is not callable")
    return factory


def build_model(target: str, kwargs: dict | None = None):
    """The model in eval mode: ``factory(**kwargs)``."""
    import torch

    factory = find_factory(target)
    model = factory(**(kwargs or {}))
    if not isinstance(model, torch.nn.Module):
        raise SpecError(f"{target} returned {type(model).__name__}, not a torch.nn.Module")
    return model.eval()
