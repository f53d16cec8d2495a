"""``shancheng credit ...``: the demo month of enforcement, registry imports, inspection draws."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import event

from shancheng.cases.center import Center, CenterCache
from shancheng.cases.permissions import Actor, Role
from shancheng.cases.routing import AdminIndex
from shancheng.cases.taxonomy import load_taxonomy
from shancheng.cli.cases import require_city
from shancheng.credit import service
from shancheng.credit.demo import DEMO_START, run_credit_demo
from shancheng.credit.inspections import draw_picks, run_draw
from shancheng.credit.registry import read_registry
from shancheng.data.city import read_city
from shancheng.store import create_db_engine, session_factory, upgrade_database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shancheng.config import Settings
    from shancheng.credit.demo import CreditDemoSummary
    from shancheng.data.city import City

credit_app = typer.Typer(
    help="Enforcement (Credit +): the demo month, registry imports, inspection draws.",
    no_args_is_help=True,
)
_console = Console()


def _center(session: Session, city: City) -> Center:
    return CenterCache(Center(load_taxonomy(), AdminIndex.from_city(city))).current(session)


def _operator(center: Center) -> Actor:
    """Return the actor of a command-line operation: an administrator of the whole city."""
    return Actor("cli", Role.ADMIN, center.city_code)


@credit_app.command("demo")
def demo_command(
    ctx: typer.Context,
    *,
    seed: int = typer.Option(0, help="Seed of the traders, the month and the draw."),
    days: int = typer.Option(30, min=1, max=366, help="Days to live from the start."),
    per_site: int = typer.Option(6, min=1, max=50, help="Traders per market or street."),
    database: str | None = typer.Option(None, help="Database URL; default the configured one."),
) -> None:
    """Generate traders at the demo city's markets and tourist streets and live a month.

    Cases, decisions, publicity, tiers and one inspection draw, in the database the server
    uses (``database_url``; by default ``<data_dir>/shancheng.sqlite``), so ``shancheng serve``
    then shows them. A database that already holds credit entities is left as it is (an
    earlier demo or real records): remove the file, or give ``--database``, for a new month.
    The same seed on an empty database prints the same month.
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
        present = service.count_entities(session)
        if present:
            engine.dispose()
            typer.echo(
                f"Credit +: {url} already holds {present} credit entities (an earlier demo or "
                "real records); nothing was added. For a new demo month remove that database "
                "or pass --database."
            )
            return
        summary = run_credit_demo(
            session, _center(session, city), city, seed=seed, days=days, per_site=per_site
        )
    engine.dispose()
    _print_demo(summary, days, time.perf_counter() - started)


def _print_demo(summary: CreditDemoSummary, days: int, elapsed_s: float) -> None:
    table = Table(
        title=f"Credit +: {days} days of enforcement from {DEMO_START} ({elapsed_s:.1f} s, SQLite)"
    )
    table.add_column("what")
    table.add_column("how many", justify="right")
    rows: list[tuple[str, object]] = [
        ("entities (individual traders)", f"{summary.entities} ({summary.individual_traders})"),
        ("cases reported by inspectors", summary.cases),
        ("cases linked to an entity (incl. failed inspections)", summary.cases_linked),
        ("  of which the first suggestion was right", summary.suggested_first),
    ]
    rows += [(f"decisions {status}", n) for status, n in summary.decisions.items()]
    rows += [
        ("appeals (upheld)", summary.appeals),
        ("published within 7 working days", f"{summary.published_on_time}/{summary.published}"),
        ("longest wait for publicity (working days)", summary.max_publish_working_days),
        ("tier changes (audited)", summary.tier_changes),
    ]
    rows += [(f"entities in tier {tier}", n) for tier, n in summary.tiers.items()]
    for what, value in rows:
        table.add_row(what, str(value))
    _console.print(table)
    draw = Table(
        title=f"double random draw {summary.draw_id}: seed {summary.draw_seed}, "
        f"{len(summary.picks)} picks, {summary.inspections_failed} failed"
    )
    for column in ("entity", "tier", "inspectors", "result"):
        draw.add_column(column)
    for code, tier, team, outcome in summary.picks:
        draw.add_row(code, tier, ", ".join(team), outcome)
    _console.print(draw)


@credit_app.command("import")
def import_command(
    ctx: typer.Context,
    path: Path,
    *,
    check: bool = typer.Option(False, "--check", help="Only read and check the file."),  # noqa: FBT003
) -> None:
    """Import an entity registry (CSV or XLSX) into the database; updates keep history.

    Every row is checked first (code, name, position, licence dates); any bad row refuses the
    whole file, naming each row and field, and nothing is stored.
    """
    settings: Settings = ctx.obj
    entities = read_registry(path)
    if check:
        typer.echo(f"{path.name}: {len(entities)} entities, all rows valid")
        return
    require_city(settings)
    city = read_city(settings.city_dir, verify=False)
    url = settings.resolved_database_url
    upgrade_database(url)
    engine = create_db_engine(url)
    with session_factory(engine)() as session:
        center = _center(session, city)
        result = service.import_entities(
            session, center, entities, actor=_operator(center), at=datetime.now(UTC),
            source=path.name,
        )  # fmt: skip
    engine.dispose()
    typer.echo(
        f"{path.name}: {len(result.created)} created, {len(result.updated)} updated "
        f"(history kept), {len(result.unchanged)} unchanged"
    )


@credit_app.command("draw")
def draw_command(
    ctx: typer.Context,
    *,
    seed: int = typer.Option(..., help="Seed of the draw (recorded and published)."),
    inspector: list[str] = typer.Option(  # noqa: B008 - typer's way to declare a repeated option
        ..., "--inspector", help="An inspector of the pool (repeat the option)."
    ),
    plan: str = typer.Option("双随机抽查", help="Name of the inspection plan."),
    team_size: int = typer.Option(2, min=1, max=10, help="Inspectors per entity."),
) -> None:
    """Draw entities (weighted by tier) and inspectors for them in the database; print picks."""
    settings: Settings = ctx.obj
    require_city(settings)
    city = read_city(settings.city_dir, verify=False)
    url = settings.resolved_database_url
    upgrade_database(url)
    engine = create_db_engine(url)
    with session_factory(engine)() as session:
        center = _center(session, city)
        draw = run_draw(
            session, center, plan=plan, inspectors=inspector, seed=seed,
            actor=_operator(center), at=datetime.now(UTC), team_size=team_size,
        )  # fmt: skip
        picks = draw_picks(session, draw.id)
        head = (
            f"draw {draw.id} ({plan}): seed {seed}, {len(draw.population)} entities, "
            f"{len(picks)} picked"
        )
        table = Table()
        for column in ("entity", "probability", "inspectors"):
            table.add_column(column)
        for pick, code in picks:
            table.add_row(code, f"{pick.probability:.2f}", ", ".join(pick.inspectors))
    engine.dispose()
    _console.print(head, highlight=False, soft_wrap=True)
    _console.print(table)
