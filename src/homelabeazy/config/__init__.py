"""The one input, homelab.yaml: schema, located loading, semantic checks, the starter example."""

from homelabeazy.config.load import LoadedConfig, load_config
from homelabeazy.config.schema import HomelabConfig

__all__ = ["HomelabConfig", "LoadedConfig", "load_config"]
