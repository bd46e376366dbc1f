"""sealedcfg: git-friendly encrypted YAML config files, sealed value by value."""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sealedcfg.api import load, load_all

__all__ = ["__version__", "load", "load_all"]


def __getattr__(name: str) -> Any:  # lazy: `sealedcfg --version` must not import crypto
    if name in ("load", "load_all"):
        from sealedcfg import api

        return getattr(api, name)
    raise AttributeError(name)
