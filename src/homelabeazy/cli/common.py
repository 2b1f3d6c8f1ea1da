"""Reading the config file for a command: the CLI's only job before calling the library."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from homelabeazy.errors import UsageError

if TYPE_CHECKING:  # the config and model packages load pydantic: only when a command needs them
    from homelabeazy.config import LoadedConfig
    from homelabeazy.model import Homelab

DEFAULT_CONFIG = Path("homelab.yaml")


def read_config(path: Path) -> LoadedConfig:
    """Load and validate `path`; a missing or unreadable file is a usage error (exit 2)."""
    from homelabeazy.config import load_config

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file (create one with `homelab init`)") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, expected homelab.yaml") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read: {exc.strerror}") from None
    return load_config(text, file=str(path))


def load_homelab(path: Path) -> tuple[LoadedConfig, Homelab]:
    """Validated config and the model built from it."""
    from homelabeazy.model import build

    loaded = read_config(path)
    return loaded, build(loaded.config)


ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The homelab.yaml to read.")]
"""For commands with other arguments: the config is always `-c FILE` (default ./homelab.yaml)."""

ConfigFileOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="The homelab.yaml to read (same as the argument).")
]
"""Every command that reads the config accepts `-c FILE`; those with no other argument also take FILE."""


def pick_config(argument: Path, option: Path | None) -> Path:
    """The config a command reads: `-c FILE` or the positional FILE, never two different ones."""
    if option is None:
        return argument
    if argument not in (DEFAULT_CONFIG, option):
        raise UsageError(f"two configs given ({argument} and -c {option}); give one")
    return option
