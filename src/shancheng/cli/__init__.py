"""The ``shancheng`` command: typer app and the error boundary.

Every :class:`~shancheng.errors.ShanchengError` is caught here and printed as one line per
problem, with exit status 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError
from rich.console import Console

from shancheng import __version__
from shancheng.cli.cases import cases_app, serve_command
from shancheng.cli.circles import app as circles_app
from shancheng.cli.city import city_app
from shancheng.cli.credit import credit_app
from shancheng.cli.demo import demo_command
from shancheng.cli.ideas import ideas_app
from shancheng.cli.indicators import indicators_command
from shancheng.cli.lifelines import app as lifelines_app
from shancheng.cli.mobility import mobility_app
from shancheng.cli.transit import transit_app
from shancheng.config import Settings
from shancheng.errors import ShanchengError
from shancheng.logging import configure_logging

app = typer.Typer(
    name="shancheng",
    help="Govern a mountain megacity: living circles, governance cases, lifeline pipes.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("demo")(demo_command)
app.add_typer(circles_app, name="circles")
app.command("serve")(serve_command)
app.add_typer(cases_app, name="cases")
app.add_typer(credit_app, name="credit")
app.add_typer(ideas_app, name="ideas")
app.add_typer(lifelines_app, name="lifelines")
app.add_typer(city_app, name="city")
app.add_typer(transit_app, name="transit")
app.add_typer(mobility_app, name="mobility")
app.command("indicators")(indicators_command)
_err = Console(stderr=True)  # errors print with soft_wrap: one line per error, whatever the width


@app.callback()
def _root(
    ctx: typer.Context,
    *,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail."),  # noqa: FBT003
) -> None:
    """Load settings (environment and shancheng.toml) and set up logging."""
    configure_logging(verbose=verbose)
    ctx.obj = Settings()


@app.command("version")
def version_command() -> None:
    """Print the shancheng version."""
    typer.echo(__version__)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with the error boundary; returns the exit status (130 after Ctrl-C)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return _interrupted()


def _main(argv: list[str] | None) -> int:
    try:
        status = _run_app(argv)
    except ShanchengError as exc:
        for line in str(exc).splitlines():
            _err.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
        return 1
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            _err.print(
                f"[bold red]error:[/] setting `{field}`: {error['msg']}",
                highlight=False,
                soft_wrap=True,
            )
        return 1
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort as exc:  # click turns Ctrl-C into Abort
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from exc
        return 1
    except Exception as exc:
        import click  # noqa: PLC0415 - only for usage errors
        from typer._click.exceptions import ClickException  # noqa: PLC0415 - typer's own copy

        if isinstance(exc, click.exceptions.ClickException | ClickException):
            exc.show()
            return exc.exit_code
        raise
    # a command that raised typer.Exit(n) comes back as n when standalone_mode is off
    return status if isinstance(status, int) else 0


_SIGINT_STATUS = 130


def _run_app(argv: list[str] | None) -> object:
    """Run the typer app; typer turns Ctrl-C into ``Exit(130)`` and returns 130: re-raise it."""
    status = app(args=argv, standalone_mode=False)
    if status == _SIGINT_STATUS:
        raise KeyboardInterrupt
    return status


def _interrupted() -> int:
    """Say what Ctrl-C left behind and return 130 (128 + SIGINT), as shells expect."""
    _err.print(
        "[bold yellow]interrupted[/] (Ctrl-C): stopped; nothing half-written was kept, "
        "a previous result is untouched",
        highlight=False,
        soft_wrap=True,
    )
    return _SIGINT_STATUS


if __name__ == "__main__":
    sys.exit(main())
