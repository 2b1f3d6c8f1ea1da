"""Reading the config file for a command: the CLI's only job before calling the library."""

from __future__ import annotations

import stat
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from homelabeazy.errors import UsageError

if TYPE_CHECKING:  # the config and model packages load pydantic: only when a command needs them
    from homelabeazy.config.load import LoadedConfig
    from homelabeazy.model import Homelab

DEFAULT_CONFIG = Path("homelab.yaml")


def read_regular_text(path: Path, limit: int) -> str:
    """A regular file's UTF-8 text, refused before reading when it is anything else or too large.

    A FIFO would block forever and /dev/zero never ends: `stat` tells them apart without opening.
    One byte past the limit is read so a file growing meanwhile is still caught.
    """
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(path)
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path}: is not a regular file (a pipe, device or socket); give a homelab.yaml")
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"{path}: is larger than {limit} bytes; a homelab config is a few KB")
    return data.decode("utf-8")


def read_config(path: Path) -> LoadedConfig:
    """Load and validate `path`; a missing or unreadable file is a usage error (exit 2)."""
    from homelabeazy.checks import load_config
    from homelabeazy.config.load import MAX_CONFIG_BYTES

    if path.is_dir() and (path / DEFAULT_CONFIG).is_file():
        path = path / DEFAULT_CONFIG
    try:
        text = read_regular_text(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file ({_where_to_look(path)})") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory without a homelab.yaml") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read: {exc.strerror}") from None
    return load_config(text, file=str(path))


def _where_to_look(path: Path) -> str:
    """The hint for a missing config: the homelab.yaml files one folder down, when the default was
    asked for from the folder above a homelab (`homelab init my-homelab` puts it there)."""
    if path != DEFAULT_CONFIG:
        return "check the path, or create one with `homelab init`"
    try:
        found = sorted(p for p in Path().glob(f"*/{DEFAULT_CONFIG}") if p.is_file())[:3]
    except OSError:
        found = []
    if not found:
        return "create one with `homelab init`, or name it: FILE or -c FILE"
    return "none here; did you mean " + " or ".join(str(p) for p in found) + "? name it: FILE or -c FILE"


def load_homelab(path: Path) -> tuple[LoadedConfig, Homelab]:
    """Validated config and the model built from it."""
    from homelabeazy.model import build

    loaded = read_config(path)
    return loaded, build(loaded.config)


ConfigArg = Annotated[
    Path, typer.Argument(help="The homelab.yaml to read (or the folder holding it).", show_default=True)
]
"""For commands with no other argument: the config is FILE, or `-c FILE` (default ./homelab.yaml)."""

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The homelab.yaml to read.")]
"""For commands with other arguments: the config is always `-c FILE` (default ./homelab.yaml)."""

ConfigFileOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="The homelab.yaml to read (same as the argument).")
]
"""Every command that reads the config accepts `-c FILE`; those with no other argument also take FILE."""

BeforeOption = Annotated[
    str | None,
    typer.Option(
        "--before",
        metavar="STAMP",
        help=(
            "With --latest: the newest backup taken before STAMP (a backup's stamp as in its key, "
            "20261208T021500Z, or an ISO date/time, UTC when no zone is given). The way past a newest "
            "backup that is damaged or stamped in the future."
        ),
    ),
]
"""`--before STAMP` for the restores that take the newest backup from the bucket."""


def before_moment(before: str | None, latest: bool) -> datetime | None:
    """The moment `--before` names (UTC), or None; a usage error without --latest."""
    if before is None:
        return None
    if not latest:
        raise UsageError("--before picks among the bucket's backups: use it with --latest")
    from homelabeazy.model.dr_artifacts import parse_before

    return parse_before(before)


def pick_config(argument: Path, option: Path | None) -> Path:
    """The config a command reads: `-c FILE` or the positional FILE, never two different ones."""
    if option is None:
        return argument
    if argument not in (DEFAULT_CONFIG, option):
        raise UsageError(f"two configs given ({argument} and -c {option}); give one")
    return option
