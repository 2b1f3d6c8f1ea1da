"""The `homelab` command: Typer app, and main() — the one place exceptions become exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

from homelabeazy import __version__
from homelabeazy.cli import console, core_commands, doctor, import_estate, terraform_commands
from homelabeazy.cli import dr as dr_cli
from homelabeazy.cli import lifecycle as lifecycle_commands
from homelabeazy.cli import secrets as secrets_cli
from homelabeazy.cli import upgrade as upgrade_cli
from homelabeazy.cli import users as users_cli
from homelabeazy.cli.net import app as net_app
from homelabeazy.errors import ConfigError, ExitCode, HomelabError

app = typer.Typer(
    name="homelab",
    help="Turn one validated homelab.yaml into a working homelab-as-code repository, and run it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help text: typer's rich formatter loads rich, markdown-it and pygments, which alone take
    # longer than the whole of `homelab --help` is allowed (benchmarks/bench_startup.py).
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        console.out.print(f"homelab {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """homelabeazy."""


app.command()(core_commands.init)
app.command()(core_commands.validate)
app.command()(core_commands.schema)
app.command()(core_commands.render)
app.command()(core_commands.diff)
app.command(name="tf-inventory")(terraform_commands.tf_inventory)
app.add_typer(net_app, name="net")
app.add_typer(secrets_cli.app, name="secrets")
app.add_typer(users_cli.app, name="users")
app.command(name="import")(import_estate.import_estate)
app.command()(lifecycle_commands.up)
app.command()(lifecycle_commands.status)
app.command()(lifecycle_commands.destroy)
app.command()(lifecycle_commands.drift)
app.command()(doctor.doctor)
app.add_typer(lifecycle_commands.backup_app, name="backup")
app.add_typer(dr_cli.app, name="dr")
app.add_typer(upgrade_cli.app, name="upgrade")


# Typer (0.29) carries its own copy of click and raises only its own classes: click itself is not a
# dependency of homelab and is never imported (a user's venv does not have it).
_EXIT = typer.Exit
_ABORT = typer.Abort
_USAGE = typer.TyperException


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI and exit with the ExitCode; never show a traceback for a user's mistake."""
    sys.exit(run(argv))


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code (tests call this)."""
    try:
        result = app(
            args=list(argv) if argv is not None else None, prog_name="homelab", standalone_mode=False
        )
    except _EXIT as exc:
        return int(exc.exit_code)
    except _ABORT:
        console.failure("aborted")
        return 130
    except _USAGE as exc:  # a bad option or argument: click's own message, exit 2
        if hasattr(exc, "show"):
            exc.show()
        else:
            console.failure(str(exc))
        return ExitCode.BAD_INPUT
    except ConfigError as exc:
        for problem in exc.problems:
            console.problem(problem)
        return exc.exit_code
    except HomelabError as exc:
        console.failure(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        console.failure("interrupted")
        return 130
    except Exception as exc:  # the single place unexpected errors are reported
        if os.environ.get("HOMELAB_DEBUG"):
            import traceback

            traceback.print_exc()
        console.failure(
            f"internal error: {type(exc).__name__}: {exc} (set HOMELAB_DEBUG=1 for the traceback)"
        )
        return ExitCode.FAILED
    return int(result) if isinstance(result, int) else ExitCode.OK
