"""The one input, homelab.yaml: schema, located loading, semantic checks, the starter example.

The public names are loaded lazily: the semantic checks use netpolicy, which reads the schema,
so importing `load` eagerly here would close an import cycle (schema -> package -> load -> checks
-> netpolicy -> schema).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from homelabeazy.config.load import LoadedConfig, load_config
    from homelabeazy.config.schema import HomelabConfig

__all__ = ["HomelabConfig", "LoadedConfig", "load_config"]


def __getattr__(name: str) -> Any:
    if name in ("LoadedConfig", "load_config"):
        from homelabeazy.config import load  # noqa: PLC0415 - see the module docstring

        return getattr(load, name)
    if name == "HomelabConfig":
        from homelabeazy.config.schema import HomelabConfig  # noqa: PLC0415

        return HomelabConfig
    raise AttributeError(name)
