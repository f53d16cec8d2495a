"""``shancheng serve`` and ``shancheng cases ...``: run the center, replay a day, manage access."""

from __future__ import annotations

import math
import os
import sys
import time
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import event

from shancheng.cases import accounts
from shancheng.cases.center import Center, CenterCache
from shancheng.cases.evaluation import evaluate
from shancheng.cases.hotspots import cell_counts, emerging_hotspots
from shancheng.cases.permissions import Actor, Role
from shancheng.cases.replay import ReplayLog, replay_day, synthetic_day
from shancheng.cases.routing import AdminIndex
from shancheng.cases.statistics import cases_frame
from shancheng.cases.taxonomy import load_taxonomy
from shancheng.data.city import read_city
from shancheng.errors import ConfigError
from shancheng.progress import progress_bar
from shancheng.store import create_db_engine, session_factory, upgrade_database
from shancheng.store.cases_tables import CaseRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shancheng.config import Settings

cases_app = typer.Typer(help="The governance center: replay a day, manage users and API keys.")
_console = Console()


def serve_command(
    ctx: typer.Context,
    *,
    host: str | None = typer.Option(None, help="Address to listen on (setting api_host)."),
    port: int | None = typer.Option(None, help="Port (setting api_port)."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
    mqtt: bool | None = typer.Option(
        None, "--mqtt/--no-mqtt", help="Run the lifelines MQTT ingester in the server (serve_mqtt)."
    ),
) -> None:
    """Migrate the database, then serve the API, Open311 and the dashboard (/ui/) with uvicorn."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    settings: Settings = ctx.obj
    if (settings.serve_mqtt if mqtt is None else mqtt) and workers > 1:
        msg = "`--mqtt` runs one ingester in the server process: use it with --workers 1"
        raise ConfigError(msg)
    require_city(settings)
    if mqtt is not None:
        # the app factory reads its settings from the environment (also in worker processes)
        os.environ["SHANCHENG_SERVE_MQTT"] = "true" if mqtt else "false"
    upgrade_database(settings.resolved_database_url)
    host, port = host or settings.api_host, port or settings.api_port
    target = "shancheng.api.app:app_from_env"
    if workers == 1:
        uvicorn.run(
            target,
            factory=True,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # loop and parser "auto": uvloop and httptools, installed with us
        )
        return
    # Several workers: hand over to uvicorn's own entry point, whose main module the worker
    # processes can re-import (they cannot re-import a console script).
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    os.execv(sys.executable, args)  # noqa: S606 - our own interpreter and arguments


def require_city(settings: Settings) -> None:
    """Refuse clearly when the configured City has not been written yet."""
    if not (settings.city_dir / "manifest.json").is_file():
        msg = (
            f"setting `city`: no City at {settings.city_dir}; write the demo city first with "
            f"`shancheng demo --out {settings.city_dir}`"
        )
        raise ConfigError(msg)


@cases_app.command("replay")
def replay_command(
    ctx: typer.Context,
    *,
    reports: int = typer.Option(400, min=1, max=100_000, help="Citizen reports in the day."),
    seed: int = typer.Option(0, help="Seed of the synthetic day."),
    day: str = typer.Option("2026-11-23", help="Date of the day (a working day by default)."),
) -> None:
    """Replay a synthetic day of reports through the service and print the day's statistics.

    Uses a fresh SQLite database ``<data_dir>/replay.sqlite``: no server needed.
    """
    settings: Settings = ctx.obj
    require_city(settings)
    admin = AdminIndex.from_city(read_city(settings.city_dir, verify=False))
    configured = Center(load_taxonomy(), admin)
    db_file = settings.data_dir / "replay.sqlite"
    for stale in (
        db_file,
        db_file.with_name(db_file.name + "-wal"),
        db_file.with_name(db_file.name + "-shm"),
    ):
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{db_file}"
    upgrade_database(url)
    engine = create_db_engine(url)
    # a throw-away replay database need not wait for the disk at every commit
    event.listen(engine, "connect", lambda conn, _rec: conn.execute("PRAGMA synchronous=OFF"))
    sessions = session_factory(engine)
    with sessions() as session:
        center = CenterCache(configured).current(session)
    arrivals = synthetic_day(
        admin, center.taxonomy, day=date.fromisoformat(day), n_reports=reports, seed=seed
    )
    started = time.perf_counter()
    with sessions() as session, progress_bar("replaying the day", len(arrivals)) as advance:
        log = replay_day(session, center, arrivals, seed=seed, progress=advance)
        elapsed = time.perf_counter() - started
        _print_day(session, center, log, elapsed, arrivals[-1].at)
    engine.dispose()


def _frame(session: Session) -> pd.DataFrame:
    return cases_frame(session.query(CaseRow).all())


def _print_day(
    session: Session, center: Center, log: ReplayLog, elapsed_s: float, end: datetime
) -> None:
    frame = _frame(session)
    rate = (log.reports + log.alarms) / elapsed_s if elapsed_s > 0 else float("nan")
    head = Table(
        title=f"the day at the governance center (replayed in {elapsed_s:.1f} s, "
        f"{rate:.0f} reports/s, SQLite)"
    )
    head.add_column("what")
    head.add_column("how many", justify="right")
    for what, value in (
        ("citizen/inspector/Open311 reports", log.reports),
        ("lifeline alarms (cases opened by sensors)", log.alarms),
        ("new cases", log.cases),
        ("duplicates linked to an open case", log.duplicates),
        ("escalated at the end of the day (overdue)", log.escalated),
    ):
        head.add_row(what, f"{value:,}")
    for status, count in frame["status"].value_counts().items():
        head.add_row(f"cases now {status}", f"{count:,}")
    for action, count in sorted(log.actions.items()):
        head.add_row(f"operator actions: {action}", f"{count:,}")
    _console.print(head)
    work = frame[frame["status"] != "merged"]
    table = evaluate(work, by="department", at=pd.Timestamp(end))
    ev = Table(title="综合评价 evaluation by department")
    for column in ("department", "cases", "closed", "on time", "rework", "overdue", "satisf."):
        ev.add_column(column, justify="left" if column == "department" else "right")
    for row in table.itertuples():
        satisfaction = _mean(row.satisfaction)
        ev.add_row(
            str(row.Index),
            str(row.cases),
            str(row.closed),
            _pct(row.on_time_rate),
            _pct(row.rework_rate),
            str(row.overdue_open),
            satisfaction,
        )
    _console.print(ev)
    counts = cell_counts(frame, window="2h")
    top = counts.groupby("cell_id")["reports"].sum().nlargest(5)
    emerging = emerging_hotspots(counts, min_history=2)
    hot = Table(title="hotspots: unit-grid cells with most reports (incl. duplicates)")
    for column in ("cell", "street", "reports", "emerging in the last 2 h"):
        hot.add_column(column)
    flagged = {int(c) for c in emerging.loc[emerging["emerging"], "cell_id"]}
    for cell, count in zip(top.index.astype(int), top.to_numpy(), strict=True):
        street = center.admin.cell_units[int(cell)][1]
        name = center.admin.names.get(street, ("", street))[1]
        hot.add_row(str(cell), name, str(count), "yes" if cell in flagged else "")
    _console.print(hot)


def _mean(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) and not math.isnan(value) else "-"


def _pct(value: object) -> str:
    return f"{value:.0%}" if isinstance(value, float) and not math.isnan(value) else "-"


@cases_app.command("add-user")
def add_user_command(
    ctx: typer.Context,
    username: str,
    role: Role,
    unit: str = typer.Option(..., help="Unit code the user is scoped to."),
    department: str | None = typer.Option(None, help="Department (handlers)."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a user with a role scoped to a unit."""
    settings: Settings = ctx.obj
    upgrade_database(settings.resolved_database_url)
    engine = create_db_engine(settings.resolved_database_url)
    with session_factory(engine)() as session:
        accounts.create_user(
            session, username, password, role=role, unit_code=unit, department=department
        )
    engine.dispose()
    typer.echo(f"user {username!r} created ({role.value} of {unit})")


@cases_app.command("api-key")
def api_key_command(
    ctx: typer.Context,
    name: str,
    scope: list[str] = typer.Option(  # noqa: B008 - typer's way to declare a repeated option
        ["report"],
        "--scope",
        help="report (Open311), ingest (sensor readings, any gateway's telemetry), gateway "
        "(the telemetry of the gateway named NAME only), analytics.",
    ),
) -> None:
    """Issue an API key for a client application with its scopes; prints the key once."""
    settings: Settings = ctx.obj
    upgrade_database(settings.resolved_database_url)
    engine = create_db_engine(settings.resolved_database_url)
    with session_factory(engine)() as session:
        key = accounts.create_api_key(
            session,
            name,
            actor=Actor("cli", Role.ADMIN, ""),
            at=datetime.now(UTC),
            scopes=tuple(scope),
        )
    engine.dispose()
    typer.echo(key)
