"""``shancheng indicators``: the city's measures per admin unit, as the dashboard shows them.

The figures come from :func:`shancheng.indicators.measures.unit_indicators`, the function the
operations map and the plan targets read through the API, on the configured City and
database.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import typer
from rich.console import Console
from rich.table import Table

from shancheng.data.city import read_city
from shancheng.data.transit import city_feed
from shancheng.errors import ConfigError
from shancheng.indicators.citystate import build_city_state
from shancheng.indicators.measures import MEASURES, unit_indicators
from shancheng.store import create_db_engine, session_factory, upgrade_database

if TYPE_CHECKING:
    import pandas as pd

    from shancheng.config import Settings
    from shancheng.indicators.citystate import UnitLevel
    from shancheng.indicators.measures import Measure

_console = Console()


def indicators_command(
    ctx: typer.Context,
    *,
    level: str = typer.Option(
        "district", help="Admin level of the units: city, district, street or community."
    ),
    output: Literal["table", "json"] = typer.Option("table", help="table or json."),
    at: str | None = typer.Option(
        None, help="The time the case figures refer to (ISO 8601 with offset; default: now)."
    ),
) -> None:
    """Print every measure of the city per admin unit (coverage, childcare, pipes, cases)."""
    settings: Settings = ctx.obj
    if level not in {"city", "district", "street", "community"}:
        msg = f"`--level` must be city, district, street or community, got {level!r}"
        raise ConfigError(msg)
    if not (settings.city_dir / "manifest.json").is_file():
        msg = f"setting `city`: no City at {settings.city_dir}; run `shancheng demo` first"
        raise ConfigError(msg)
    when = _parse_time(at)
    state = build_city_state(
        read_city(settings.city_dir, verify=False), gtfs=city_feed(settings.city_dir)
    )
    upgrade_database(settings.resolved_database_url)
    engine = create_db_engine(settings.resolved_database_url)
    try:
        with session_factory(engine)() as session:
            levels: list[UnitLevel] = [level]  # type: ignore[list-item]
            table = unit_indicators(state, session, at=when, levels=levels)
    finally:
        engine.dispose()
    if output == "json":
        typer.echo(json.dumps(_records(table), ensure_ascii=False, indent=1))
        return
    _console.print(_rich_table(table, level))


def _parse_time(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        msg = f"`--at` must be an ISO 8601 time with an offset (2026-11-23T09:00+08:00): {text!r}"
        raise ConfigError(msg)
    return when


def _records(table: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {str(k): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in table.to_dict("records")
    ]


def _rich_table(table: pd.DataFrame, level: str) -> Table:
    out = Table(title=f"the city's measures by {level}")
    out.add_column("unit")
    out.add_column("residents", justify="right")
    for item in MEASURES:
        out.add_column(item.name_en, justify="right")
    for row in table.to_dict("records"):
        cells = [_show(item, row[item.key]) for item in MEASURES]
        out.add_row(f"{row['name']} {row['code']}", f"{row['residents']:,.0f}", *cells)
    return out


def _show(item: Measure, value: float | None) -> str:
    if value is None or math.isnan(value):
        return "no data"
    if item.kind == "share":
        return f"{100 * value:.1f} %"
    if item.kind == "per_1000":
        return f"{value:.2f}"
    return f"{int(value):,}"
