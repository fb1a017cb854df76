"""Public names imported on first use (PEP 562): how ``refsim`` and ``refsim.plot``
export names from their modules without importing those modules when they are imported.

A package lists where each public name lives and defines a module ``__getattr__`` that
calls :func:`exported`; the first use of the name imports its module and keeps the value
in the package, so that the next use is an ordinary attribute. Type checkers see the
names through the package's ``if TYPE_CHECKING:`` imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["exported"]


def exported(package: str, homes: Mapping[str, str], name: str) -> Any:
    """``package``'s public ``name``, from the module ``package.<homes[name]>``, imported
    now and kept in the package; AttributeError for a name ``homes`` does not list."""
    home = homes.get(name)
    if home is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{package}.{home}"), name)
    setattr(sys.modules[package], name, value)
    return value
