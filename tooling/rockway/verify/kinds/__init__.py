"""Check kinds, registered by name: `KINDS["freshness"]` is the unit that parses, compiles and measures it.

Adding a kind touches one file: write `verify/kinds/<name>.py` with a `Kind` subclass (kinds/base.py says
what it may override) and a module-level `KIND = <the class>()`. Every module of this package is loaded
here; spec, compiler, evaluate and runner only ever go through `KINDS`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Mapping

from rockway.verify.kinds.base import Kind

__all__ = ["KINDS", "Kind"]


def _load() -> dict[str, Kind]:
    found: list[Kind] = []
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base":
            continue
        kind = getattr(importlib.import_module(f"{__name__}.{module.name}"), "KIND", None)
        if not isinstance(kind, Kind):
            raise TypeError(f"{__name__}.{module.name} defines no KIND (a rockway.verify.kinds.base.Kind)")
        found.append(kind)
    return {kind.name: kind for kind in sorted(found, key=lambda k: k.order)}


KINDS: Mapping[str, Kind] = _load()
