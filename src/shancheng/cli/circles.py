"""``shancheng circles``: evaluate living circles and draw isochrones."""

from __future__ import annotations

import time
from dataclasses import replace
from enum import StrEnum
from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time
from typing import TYPE_CHECKING

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from shancheng.circles.city_profile import apply_city_profile, read_city_profile
from shancheng.circles.evaluate import (
    EVALUATE_STEPS,
    evaluate_city,
    summarize,
    transit_summary,
    write_evaluation,
)
from shancheng.circles.isochrones import isochrones
from shancheng.circles.report import write_report
from shancheng.circles.standard import load_catalogue
from shancheng.cli.circles_many import evaluate_many_command
from shancheng.cli.circles_plan import plan_command
from shancheng.data.city import read_city
from shancheng.errors import InputError
from shancheng.geo.crs import lonlat_to_utm
from shancheng.progress import step_reporter

if TYPE_CHECKING:
    from shancheng.circles.evaluate import Evaluation
    from shancheng.config import Settings

app = typer.Typer(help="15-minute living circles: coverage, gaps and isochrones.",
                  no_args_is_help=True)  # fmt: skip
_console = Console()
app.command("plan")(plan_command)
app.command("evaluate-many")(evaluate_many_command)


class ResidenceChoice(StrEnum):
    """What a residence is: a building, or a unit-grid population cell."""

    BUILDINGS = "buildings"
    CELLS = "cells"


@app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    *,
    city: Path | None = typer.Option(None, help="City folder; default <data_dir>/<city>."),  # noqa: B008
    catalogue: Path | None = typer.Option(  # noqa: B008
        None, help="Catalogue TOML; default the packaged GB 50180 / TD/T 1062 one."
    ),
    out: Path | None = typer.Option(  # noqa: B008
        None, help="Results folder; default <data_dir>/circles/<city name>."
    ),
    residences: ResidenceChoice = typer.Option(  # noqa: B008
        ResidenceChoice.BUILDINGS, help="Residences: buildings or population cells."
    ),
    time_step: float | None = typer.Option(
        None, help="Round walking times to this many seconds (faster bucket-queue search)."
    ),
    report: bool = typer.Option(True, help="Also write report.html."),  # noqa: FBT003
    profile: Path | None = typer.Option(  # noqa: B008
        None, help="City profile TOML: requirements on / off / where_present."
    ),
    gtfs: Path | None = typer.Option(  # noqa: B008
        None, help="GTFS feed: add walk + transit accessibility and the metro figures."
    ),
    window: str = typer.Option(
        "07:00-09:00", help="Departure window of the transit accessibility, HH:MM-HH:MM."
    ),
) -> None:
    """Evaluate every residence's living circles; write GeoPackage, GeoParquet and a report."""
    settings: Settings = ctx.obj
    city_dir = city or settings.city_dir
    started = time.perf_counter()
    chosen = load_catalogue(catalogue)
    loaded = read_city(city_dir)
    notes: list[str] = []
    if profile is not None:
        present = set(loaded.facilities["category"].astype(str))
        chosen, notes = apply_city_profile(chosen, read_city_profile(profile, chosen), present)
        for note in notes:
            _console.print(f"city profile: {note}", highlight=False)
    with step_reporter("living circles", EVALUATE_STEPS + 1 + (gtfs is not None)) as step:
        evaluation = evaluate_city(
            loaded, chosen, residences=residences.value, time_step_s=time_step, progress=step,
            gtfs=gtfs, transit_window_s=_window_s(window),
        )  # fmt: skip
        evaluation = replace(evaluation, data_notes=(*evaluation.data_notes, *notes))
        step("writing")
        target = out or settings.data_dir / "circles" / city_dir.name
        write_evaluation(
            evaluation, target, extra=(lambda d: write_report(evaluation, d)) if report else None
        )
    _print_summary(evaluation, target, time.perf_counter() - started)
    if evaluation.transit is not None:
        _print_transit(evaluation)


def _window_s(text: str) -> tuple[int, int]:
    """``"07:00-09:00"`` as seconds since midnight."""
    try:
        first, last = (part.strip().split(":") for part in text.split("-"))
        window = (int(first[0]) * 3600 + int(first[1]) * 60,
                  int(last[0]) * 3600 + int(last[1]) * 60)  # fmt: skip
    except (ValueError, IndexError) as exc:
        msg = f"--window {text!r}: give HH:MM-HH:MM, e.g. 07:00-09:00"
        raise InputError(msg) from exc
    if window[1] < window[0]:
        msg = f"--window {text!r}: the window ends before it starts"
        raise InputError(msg)
    return window


def _print_transit(evaluation: Evaluation) -> None:
    transit = evaluation.transit
    assert transit is not None  # noqa: S101 - checked by the caller
    summary = transit_summary(transit)
    for kind, km in transit.network_km.items():
        lines, stations = len(transit.lines), len(transit.stations)
        _console.print(f"{kind} network: {km:,.1f} km of line ({lines} lines, {stations} "
                       f"stations, service day {transit.service_day})")  # fmt: skip
    _console.print(
        f"residents within a 10-minute walk of a station: "
        f"{summary['station_within_10min_share']:.1%}, within 15 minutes: "
        f"{summary['station_within_15min_share']:.1%} (entrance climbs included)"
    )
    access = transit.access
    table = Table(title="walk vs walk + transit (median over the window, minutes)")
    for column in ("category", "walk", "walk + transit", f"p{access.percentile:g}"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for c, category in enumerate(access.categories):
        times = (access.walk_s, access.median_s, access.upper_s)
        table.add_row(category, *(f"{float(np.median(v[:, c])) / 60:.1f}" for v in times))
    _console.print(table)


class DirectionChoice(StrEnum):
    """Walking from the point, or to it."""

    FROM = "from"
    TO = "to"


@app.command("isochrone")
def isochrone_command(
    ctx: typer.Context,
    lon: float = typer.Argument(..., help="Longitude (WGS84 degrees)."),
    lat: float = typer.Argument(..., help="Latitude (WGS84 degrees)."),
    *,
    city: Path | None = typer.Option(None, help="City folder; default <data_dir>/<city>."),  # noqa: B008
    direction: DirectionChoice = typer.Option(  # noqa: B008
        DirectionChoice.FROM, help="Walk from the point, or to it."
    ),
    out: Path = typer.Option(..., help="Output file: .gpkg, .geojson or .parquet."),  # noqa: B008
) -> None:
    """Write the 5/10/15-minute walking areas from or to a point (WGS84 polygons)."""
    settings: Settings = ctx.obj
    loaded = read_city(city or settings.city_dir)
    x, y = lonlat_to_utm([lon], [lat], epsg=loaded.network.crs_epsg)
    areas = isochrones(loaded.network, float(x[0]), float(y[0]), direction=direction.value)
    areas = areas.to_crs(4326)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        areas.to_parquet(out, index=False)
    elif suffix in (".gpkg", ".geojson"):
        areas.to_file(out, driver="GPKG" if suffix == ".gpkg" else "GeoJSON")
    else:
        msg = f"--out {out}: the suffix must be .gpkg, .geojson or .parquet, got {suffix!r}"
        raise InputError(msg)
    for row in areas.itertuples():
        _console.print(f"{row.threshold_min:g} min: {row.street_length_m:,.0f} m of streets")
    _console.print(f"isochrones written to {out}")


def _print_summary(evaluation: Evaluation, target: Path, elapsed_s: float) -> None:
    summary = summarize(evaluation)
    shares = summary["shares"]
    assert isinstance(shares, dict)  # noqa: S101 - summarize builds it
    table = Table(title=f"living circles of {evaluation.city_name} ({elapsed_s:.1f} s)")
    table.add_column("measure")
    table.add_column("residents covered", justify="right")
    for measure, share in shares.items():
        table.add_row(measure.replace("_", " "), f"{share:.1%}")
    for measure in summary.get("no_data", []):  # type: ignore[attr-defined]
        table.add_row(measure.replace("_", " "), "no data")
    _console.print(table)
    _console.print(
        f"{summary['residences']:,} residences ({summary['residences_attached']:,} on the "
        f"network), {summary['facilities']:,} facilities, {summary['gap_areas']:,} gap areas; "
        f"results in {target}"
    )
