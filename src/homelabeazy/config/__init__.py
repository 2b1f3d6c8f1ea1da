"""The one input, homelab.yaml: its schema, its located loading (every value's line and column),
the starter example. The semantic checks over it stand higher (`homelabeazy.checks`)."""

from homelabeazy.config.load import LoadedConfig, parse_config
from homelabeazy.config.schema import HomelabConfig

__all__ = ["HomelabConfig", "LoadedConfig", "parse_config"]
