"""``shancheng transit``: check a GTFS feed and print its lines and network length."""

from __future__ import annotations

from datetime import date
from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time

import typer
from rich.console import Console
from rich.table import Table

from shancheng.data.gtfs import busiest_day, read_gtfs
from shancheng.data.transit import compile_feed
from shancheng.data.transit_lines import network_length_km, route_lines

transit_app = typer.Typer(help="Transit feeds (GTFS): check them, measure their lines.",
                          no_args_is_help=True)  # fmt: skip
_console = Console()


@transit_app.command("check")
def check_command(
    feed: Path = typer.Argument(..., help="GTFS feed: a .zip or a folder of .txt files."),  # noqa: B008
    day: str | None = typer.Option(None, help="Service day YYYY-MM-DD; default the busiest."),
) -> None:
    """Check a feed (every problem by file, line and field) and compile one service day."""
    loaded = read_gtfs(feed)
    chosen = date.fromisoformat(day) if day else busiest_day(loaded)
    compiled = compile_feed(loaded, day=chosen)
    tt = compiled.timetable
    _console.print(
        f"{feed}: no problems; on {chosen}: {tt.n_stops:,} stops served, {tt.n_trips:,} trips "
        f"in {tt.n_patterns:,} patterns, {tt.footpath_to.shape[0]:,} footpaths",
        soft_wrap=True,  # one line whatever the terminal's width (a long path must not break it)
    )


@transit_app.command("lines")
def lines_command(
    feed: Path = typer.Argument(..., help="GTFS feed: a .zip or a folder of .txt files."),  # noqa: B008
) -> None:
    """Print each route's length (from shapes.txt, or its stops) and the network per type."""
    lines = route_lines(read_gtfs(feed))
    table = Table(title=f"lines of {feed}")
    for column in ("route", "type", "km", "measured on"):
        table.add_column(column, justify="right" if column == "km" else "left")
    for row in lines.itertuples(index=False):
        table.add_row(f"{row.route_id} {row.route_short_name}".strip(), row.route_type_name,
                      f"{row.length_km:.2f}", row.measured_on)  # fmt: skip
    _console.print(table)
    for kind, km in network_length_km(lines).items():
        _console.print(f"{kind} network: {km:,.1f} km of line")
