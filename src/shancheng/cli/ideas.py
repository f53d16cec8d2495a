"""``shancheng ideas ...``: the "Golden Ideas" demo campaign, ideas, statistics, plan sites."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import event

from shancheng.cases.center import Center, CenterCache
from shancheng.cases.routing import AdminIndex
from shancheng.cases.taxonomy import load_taxonomy
from shancheng.cli.cases import require_city
from shancheng.data.city import read_city
from shancheng.ideas import service, views
from shancheng.ideas.demo import DEMO_START, run_ideas_demo
from shancheng.store import create_db_engine, session_factory, upgrade_database
from shancheng.store.ideas_tables import CampaignRow

if TYPE_CHECKING:
    from collections.abc import Iterator

    import geopandas as gpd
    from sqlalchemy.orm import Session

    from shancheng.config import Settings
    from shancheng.data.city import City
    from shancheng.ideas.demo import IdeasDemoSummary

ideas_app = typer.Typer(
    help='Participation: the "Golden Ideas" (金点子) campaigns, ideas, supports and answers.',
    no_args_is_help=True,
)
_console = Console()
DEFAULT_BOARD = Path("../shared/data/complaints")


def _center(session: Session, city: City) -> Center:
    return CenterCache(Center(load_taxonomy(), AdminIndex.from_city(city))).current(session)


@ideas_app.command("demo")
def demo_command(
    ctx: typer.Context,
    *,
    data: Path = typer.Option(DEFAULT_BOARD, help="Folder of the TipDM message board files."),  # noqa: B008
    limit: int = typer.Option(40, min=1, max=300, help="Suggestions to take (most liked)."),
    threshold: int = typer.Option(20, min=1, help="Supports that make an answer due."),
    seed: int = typer.Option(0, help="Seed of the ideas' places."),
    database: str | None = typer.Option(None, help="Database URL; default the configured one."),
) -> None:
    """Run a campaign on the demo city from the real message board's suggestions and likes.

    Ideas, supports by verified residents, merges, official answers, one case and one plan
    site, in the database the server uses (``database_url``; by default
    ``<data_dir>/shancheng.sqlite``), so ``shancheng serve`` shows the campaign and
    ``shancheng circles plan --ideas`` offers the site among its candidates. A database that
    already holds a campaign is left as it is (an earlier demo or a real campaign): remove the
    file, or give ``--database``, for a new one.
    """
    settings: Settings = ctx.obj
    require_city(settings)
    city = read_city(settings.city_dir, verify=False)
    url = database or settings.resolved_database_url
    upgrade_database(url)
    engine = create_db_engine(url)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", lambda conn, _rec: conn.execute("PRAGMA synchronous=OFF"))
    started = time.perf_counter()
    with session_factory(engine)() as session:
        present = session.scalar(sa.select(sa.func.count()).select_from(CampaignRow))
        if present:
            engine.dispose()
            typer.echo(
                f"Golden Ideas: {url} already holds {present} campaign(s) (an earlier demo or a "
                "real campaign); nothing was added. For a new demo campaign remove that "
                "database or pass --database."
            )
            return
        center = _center(session, city)
        summary = run_ideas_demo(session, center, data, seed=seed, limit=limit, threshold=threshold)
        listed = views.campaign_ideas(session, center, summary.campaign_id, viewer=None)[:8]
    engine.dispose()
    _print_demo(summary, time.perf_counter() - started)
    table = Table(title="most supported ideas (public view)")
    for column in ("idea", "supports", "answer", "title"):
        table.add_column(column)
    for v in listed:
        table.add_row(str(v.id), str(v.supports), v.answer_status, v.title[:40])
    _console.print(table)


def _print_demo(summary: IdeasDemoSummary, elapsed_s: float) -> None:
    table = Table(
        title=f"Golden Ideas: the demo campaign from {DEMO_START:%Y-%m-%d} ({elapsed_s:.1f} s, "
        "SQLite)"
    )
    table.add_column("what")
    table.add_column("how many", justify="right")
    rows: list[tuple[str, object]] = [
        ("ideas (message-board suggestions)", summary.ideas),
        ("supports (the posts' likes, by verified residents)", summary.supports),
        ("near duplicates merged (supports carried over)", summary.merged),
        (f"ideas at or above the threshold ({summary.threshold})", summary.reached),
        ("answered (accepted or declined)", summary.answered),
        ("accepted idea → case", summary.case_reference or "-"),
        (
            "accepted idea → plan candidate",
            f"idea-{summary.plan_idea_id} ({summary.plan_category})"
            if summary.plan_idea_id
            else "-",
        ),
    ]
    for what, value in rows:
        table.add_row(what, str(value))
    _console.print(table)


class SortChoice(StrEnum):
    """Order of the campaign page: most supported, newest, or answered first."""

    SUPPORTS = "supports"
    NEWEST = "newest"
    ANSWERED = "answered"


class LevelChoice(StrEnum):
    """Units the statistics are grouped by."""

    DISTRICT = "district"
    STREET = "street"


@contextmanager
def _opened(settings: Settings, database: str | None) -> Iterator[tuple[Session, Center]]:
    """Yield a session on ``database`` (default: the configured one) and the city's center."""
    require_city(settings)
    city = read_city(settings.city_dir, verify=False)
    url = database or settings.resolved_database_url
    upgrade_database(url)
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            yield session, _center(session, city)
    finally:
        engine.dispose()


@ideas_app.command("list")
def list_command(
    ctx: typer.Context,
    campaign: int = typer.Argument(..., help="Campaign id."),
    *,
    sort: SortChoice = typer.Option(SortChoice.SUPPORTS, help="Order of the list."),  # noqa: B008
    database: str | None = typer.Option(None, help="Database URL; default the configured one."),
) -> None:
    """Print a campaign's ideas as the public sees them (personal data masked)."""
    with _opened(ctx.obj, database) as (session, center):
        camp = service.campaign(session, campaign)
        listed = views.campaign_ideas(session, center, campaign, viewer=None, sort=sort.value)
        phases = views.phase_now(camp, datetime.now(UTC))
    table = Table(title=f"{camp.title} — threshold {camp.threshold}, open: {phases or 'none'}")
    for column in ("idea", "supports", "answer", "due", "title"):
        table.add_column(column)
    for v in listed:
        due = f"{v.due_at:%Y-%m-%d %H:%M}" if v.due_at else ""
        table.add_row(str(v.id), str(v.supports), v.answer_status, due, v.title[:40])
    _console.print(table)


@ideas_app.command("stats")
def stats_command(
    ctx: typer.Context,
    *,
    level: LevelChoice = typer.Option(LevelChoice.DISTRICT, help="Units to group by."),  # noqa: B008
    database: str | None = typer.Option(None, help="Database URL; default the configured one."),
) -> None:
    """Print per-unit figures: ideas, supports, answers due, answered, overdue, median days."""
    with _opened(ctx.obj, database) as (session, center):
        stats = views.unit_statistics(session, center, at=datetime.now(UTC), level=level.value)
    table = Table(title=f"participation per {level}")
    for column in ("unit", "ideas", "supports", "due", "answered", "overdue", "median days"):
        table.add_column(column, justify="right")
    for s in stats:
        median = "" if s.median_answer_days is None else f"{s.median_answer_days:.1f}"
        table.add_row(s.unit_code, str(s.ideas), str(s.supports), str(s.answers_due),
                      str(s.answered), str(s.overdue), median)  # fmt: skip
    _console.print(table)


@ideas_app.command("candidates")
def candidates_command(
    ctx: typer.Context,
    *,
    database: str | None = typer.Option(None, help="Database URL; default the configured one."),
) -> None:
    """Print the accepted ideas that are candidate sites for planning."""
    settings: Settings = ctx.obj
    url = database or settings.resolved_database_url
    upgrade_database(url)
    engine = create_db_engine(url)
    with session_factory(engine)() as session:
        rows = views.plan_candidates(session)
    engine.dispose()
    for row in rows:
        typer.echo(f"{row['candidate_id']}\t{row['category']}\t{row['lon']:.6f}\t{row['lat']:.6f}")
    if not rows:
        typer.echo("no accepted idea is a candidate site yet")


def idea_candidates(url: str, *, epsg: int) -> gpd.GeoDataFrame | None:
    """Return the accepted ideas' sites in database ``url`` as candidates, or ``None``.

    ``None`` when the database does not exist yet or holds no ideas tables (a database that
    never ran a campaign), so ``shancheng circles plan`` works without one.
    """
    from shancheng.circles.candidates import lonlat_candidates  # noqa: PLC0415 - plan only

    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None
    engine = create_db_engine(url)
    try:
        if not sa.inspect(engine).has_table("ideas"):
            return None
        with session_factory(engine)() as session:
            rows = views.plan_candidates(session)
    finally:
        engine.dispose()
    return lonlat_candidates(rows, epsg=epsg) if rows else None
