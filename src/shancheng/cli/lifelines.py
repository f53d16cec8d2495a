"""``shancheng lifelines ...``: pipe networks, isolation plans, telemetry and the live demo."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time
from typing import TYPE_CHECKING

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from shancheng.cases import service as cases_service
from shancheng.cases.center import Center, CenterCache
from shancheng.cases.permissions import Actor, Role
from shancheng.cases.routing import AdminIndex
from shancheng.cases.taxonomy import load_taxonomy
from shancheng.data.city import read_city
from shancheng.errors import ConfigError
from shancheng.lifelines.accounting import GRACE_MS, list_gaps, list_sources
from shancheng.lifelines.broker_check import BrokerReport, check_broker
from shancheng.lifelines.isolation import IsolationPlan, isolate_break
from shancheng.lifelines.leak_watch import watch_scada, write_submission
from shancheng.lifelines.maps import plot_coverage, plot_isolation
from shancheng.lifelines.monitoring import (
    DEFAULT_DENSITY_PER_KM2,
    DEFAULT_RADIUS_M,
    compute_coverage,
    place_sensors,
)
from shancheng.lifelines.mqtt import SHARE_GROUP, parse_mqtt_url
from shancheng.lifelines.network_files import read_network, read_valve_layer
from shancheng.lifelines.repository import query_readings, save_alarm
from shancheng.lifelines.scenario import ScenarioResult, run_gas_leak_scenario
from shancheng.lifelines.segments import attach_facilities, segment_network
from shancheng.lifelines.sensors import sensors_from_city
from shancheng.lifelines.service import city_network, ingest_from_broker, segment_criticality
from shancheng.store import create_db_engine, session_factory, upgrade_database

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from shancheng.cases.sensor_intake import CaseRef, SensorReport
    from shancheng.config import Settings
    from shancheng.data.city import City
    from shancheng.lifelines.pipes import NetworkKind
    from shancheng.lifelines.service import CityNetwork

app = typer.Typer(
    help="Lifeline pipes: networks, isolation, telemetry, alarms.", no_args_is_help=True
)
_console = Console()
logger = logging.getLogger(__name__)
NETWORK_HELP = "Which City network."


class CityNetworkChoice(StrEnum):
    """The City's pipe layers a command can read."""

    WATER = "water"
    GAS = "gas"


class FileNetworkChoice(StrEnum):
    """What a network file holds (an EPANET and a SWMM file both end in ``.inp``)."""

    WATER = "water"
    GAS = "gas"
    DRAINAGE = "drainage"


def _city(choice: CityNetworkChoice | FileNetworkChoice) -> CityNetwork:
    if choice.value == "drainage":
        msg = "the City has water and gas networks only; give a drainage network with --file"
        raise ConfigError(msg)
    return "water" if choice.value == "water" else "gas"


def _kind(choice: FileNetworkChoice) -> NetworkKind:
    kinds: dict[FileNetworkChoice, NetworkKind] = {
        FileNetworkChoice.WATER: "water",
        FileNetworkChoice.GAS: "gas",
        FileNetworkChoice.DRAINAGE: "drainage",
    }
    return kinds[choice]


leaks_app = typer.Typer(help="Leak detection on SCADA exports.", no_args_is_help=True)
app.add_typer(leaks_app, name="leaks")

EXIT_NOT_ISOLATED = 3
"""Exit status of ``isolate`` when no valve of the layer can cut a source off the break."""


def _engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    upgrade_database(url)
    return create_db_engine(url)


@app.command("validate")
def validate_command(
    path: Path,
    *,
    network: FileNetworkChoice = typer.Option(  # noqa: B008
        FileNetworkChoice.WATER,
        help="water (EPANET .inp, GeoJSON), gas (GeoJSON, GasLib .net/.zip) or drainage "
        "(SWMM .inp, GeoJSON).",
    ),
) -> None:
    """Read a pipe network file (.inp, .geojson, GasLib .net/.zip) and report what it holds."""
    net = read_network(path, _kind(network))
    table = Table(title=f"{path.name}: {net.network} network, valid")
    table.add_column("what")
    table.add_column("how many", justify="right")
    for what, count in net.nodes["kind"].value_counts().items():
        table.add_row(f"nodes: {what}", f"{count:,}")
    for what, count in net.links["kind"].value_counts().items():
        table.add_row(f"links: {what}", f"{count:,}")
    table.add_row("isolation valves", f"{len(net.valves):,}")
    _console.print(table)


@app.command("isolate")
def isolate_command(
    ctx: typer.Context,
    link_id: str,
    *,
    network: FileNetworkChoice = typer.Option(  # noqa: B008
        FileNetworkChoice.GAS, help="Which City network, or what --file holds."
    ),
    file: Path | None = typer.Option(  # noqa: B008
        None, "--file", help="A network file (.inp, .geojson, GasLib) instead of the City's."
    ),
    valves: Path | None = typer.Option(  # noqa: B008
        None, help="Valve layer CSV for --file (columns link,node, as WNTR writes them)."
    ),
    png: Path | None = typer.Option(None, help="Also draw the plan into this PNG."),  # noqa: B008
) -> None:
    """Plan the isolation of a break on LINK_ID: valves to close and what loses service.

    The plan is checked on the directed network (pumps, PRVs and check valves pass flow one
    way); when no valve of the layer can cut a source off the break, it says so and the
    command exits with status 3.
    """
    settings: Settings = ctx.obj
    facilities = None
    if file is not None:
        net = read_network(file, _kind(network))
        if valves is not None:
            net = read_valve_layer(valves, net)
    else:
        if valves is not None:
            msg = "--valves needs --file: the City's layers carry their own valves"
            raise ConfigError(msg)
        city = read_city(settings.city_dir)
        net = city_network(city, _city(network))
        facilities = attach_facilities(net, city.facilities)
    if len(net.valves) == 0:
        logger.warning("%s has no isolation valves: pass --valves", net.source)
    plan = isolate_break(net, link_id, facilities=facilities)
    if png is not None:
        plot_isolation(net, segment_network(net), plan, png, facilities=facilities)
        _console.print(f"map written to {png}")
    _print_plan(plan)
    if not plan.isolated:
        raise typer.Exit(EXIT_NOT_ISOLATED)


def _print_plan(plan: IsolationPlan) -> None:
    _console.print(f"[bold]break on link {plan.link_id}[/] (segment {plan.segment})")
    _console.print(f"close {len(plan.valves_to_close)} valves: {', '.join(plan.valves_to_close)}")
    if plan.also_close:
        _console.print(f"also stop or close: {', '.join(plan.also_close)}")
    for note in plan.notes:
        _console.print(f"  [yellow]{note}[/]", soft_wrap=True)
    if plan.isolated:
        _console.print("[green]isolated[/]: no source reaches the break (checked)")
    else:
        _console.print(f"[bold red]NOT ISOLATED[/]: {', '.join(plan.feeding_sources)} still "
                       "reach the break")  # fmt: skip
    _console.print(f"segments cut off as a side effect: {len(plan.cut_off_segments)}")
    for name, value in plan.impact.items():
        _console.print(f"  {name.replace('_', ' ')}: {value:,.0f}")
    for row in plan.facilities.itertuples():
        _console.print(f"  critical facility out: {row.category} {row.name}")


@app.command("criticality")
def criticality_command(
    ctx: typer.Context,
    *,
    network: CityNetworkChoice = typer.Option(CityNetworkChoice.WATER, help=NETWORK_HELP),  # noqa: B008
    top: int = typer.Option(10, help="How many segments to show."),
    out: Path | None = typer.Option(None, help="Write the full ranking as CSV."),  # noqa: B008
) -> None:
    """Rank every valve segment by what isolating it takes out of service."""
    settings: Settings = ctx.obj
    table = segment_criticality(read_city(settings.city_dir), _city(network))
    if out is not None:
        table.to_csv(out, index=False)
    view = Table(title=f"{network.value}: {len(table):,} segments, most critical first")
    columns = ("rank", "segment", "valves", "cut_off_segments", "lost_customers",
               "lost_residents", "lost_critical_facilities", "lost_pipe_length_m")  # fmt: skip
    for column in columns:
        view.add_column(column.replace("_", " "), justify="right")
    for row in table.head(top).itertuples():
        view.add_row(*(f"{getattr(row, c):,.0f}" for c in columns))
    _console.print(view)


@app.command("ingest")
def ingest_command(
    ctx: typer.Context,
    *,
    client_id: str = typer.Option(
        "shancheng-ingester", help="Persistent MQTT session id (unique per ingester)."
    ),
    share_group: str | None = typer.Option(
        None,
        help="MQTT 5 shared subscription group: ingesters in one group split the work "
        f"(default: the setting mqtt_share_group, {SHARE_GROUP!r}).",
    ),
    no_share: bool = typer.Option(False, "--no-share", help="A plain subscription."),  # noqa: FBT003
    grace: float = typer.Option(
        GRACE_MS / 1000,
        min=0.0,
        help="Seconds a hole in a gateway's numbering may wait before "
        "it is a gap on record (late messages from other ingesters).",
    ),
    check: bool = typer.Option(True, help="Check the broker first (broker-check)."),  # noqa: FBT003
    strict_broker: bool = typer.Option(
        False,  # noqa: FBT003
        help="Refuse to start when the broker would drop messages silently.",
    ),
    idle_exit: float | None = typer.Option(None, help="Stop after this many idle seconds."),
    retire: bool = typer.Option(
        False,  # noqa: FBT003
        "--retire",
        help="Retire this ingester: leave the group, store what its session holds, then end "
        "the session on the broker (it would keep taking a share of the messages).",
    ),
) -> None:
    """Ingest SensorThings observations from the MQTT broker into the store until stopped.

    Numbered messages (a gateway's MQTT 5 user properties) are accounted for: duplicates are
    counted, missing ones become gaps on record with a data-gap alarm until the gateway's
    backfill closes them.
    """
    settings: Settings = ctx.obj
    host, port = parse_mqtt_url(settings.mqtt_url)
    if check:
        report = check_broker(host, port, shared=not no_share)
        _print_broker_report(report)
        if report.problems or (strict_broker and report.warnings):
            raise typer.Exit(code=1)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stats = ingest_from_broker(
        _engine(settings), host=host, port=port, client_id=client_id, stop=stop,
        idle_exit_s=idle_exit,
        share_group=None if no_share else (share_group or settings.mqtt_share_group or None),
        grace_ms=round(grace * 1000), retire=retire,
    )  # fmt: skip
    if retire:
        _console.print(f"ingester {client_id!r} retired: its session is gone from the broker")
    _console.print(
        f"{stats.messages:,} messages, {stats.readings:,} readings, {stats.stored:,} stored, "
        f"{stats.duplicates:,} duplicates, {stats.rejected:,} rejected; numbered messages "
        f"{stats.numbered:,}, duplicate messages {stats.duplicate_messages:,}, gaps opened "
        f"{stats.gaps_opened:,}, closed {stats.gaps_closed:,}"
    )


@app.command("broker-check")
def broker_check_command(ctx: typer.Context) -> None:
    """Check the MQTT broker gives the ingesters what they need (exit 1 on a problem)."""
    settings: Settings = ctx.obj
    host, port = parse_mqtt_url(settings.mqtt_url)
    report = check_broker(host, port)
    _print_broker_report(report)
    if report.problems:
        raise typer.Exit(code=1)


def _print_broker_report(report: BrokerReport) -> None:
    for problem in report.problems:
        _console.print(f"[red]broker problem:[/red] {problem}")
    for warning in report.warnings:
        _console.print(f"[yellow]broker warning:[/yellow] {warning}")
    for note in report.notes:
        _console.print(f"broker: {note}")
    if report.ok:
        _console.print("[green]broker: ok[/green]")


@app.command("telemetry")
def telemetry_command(
    ctx: typer.Context,
    *,
    gaps: bool = typer.Option(False, "--gaps", help="List the open gaps instead."),  # noqa: FBT003
    top: int = typer.Option(20, min=1, help="Rows to show."),
) -> None:
    """Show each numbered source's account (messages, duplicates, open gaps) or the gaps."""
    settings: Settings = ctx.obj
    with _engine(settings).connect() as conn:
        if gaps:
            view = Table(title="open gaps, newest first")
            for column in ("gateway", "epoch", "first", "last", "missing", "detected"):
                view.add_column(column)
            for gap in list_gaps(conn, limit=top):
                detected = datetime.fromtimestamp(gap.detected_at_ms / 1000, tz=UTC)
                view.add_row(gap.gateway, str(gap.epoch), f"{gap.first_seq:,}",
                             f"{gap.last_seq:,}", f"{gap.missing:,}",
                             f"{detected:%Y-%m-%d %H:%M:%S}Z")  # fmt: skip
        else:
            view = Table(title="numbered sources, most recently heard first")
            for column in ("gateway", "epoch", "messages", "duplicates", "accounted through",
                           "open gaps", "missing"):  # fmt: skip
                view.add_column(column)
            for row in list_sources(conn, limit=top):
                view.add_row(row["gateway"], str(row["epoch"]), f"{row['messages']:,}",
                             f"{row['duplicates']:,}", f"{row['accounted_through']:,}",
                             f"{row['open_gaps']:,}", f"{row['missing']:,}")  # fmt: skip
    _console.print(view)


class _GovernanceDesk:
    """The real governance center as the scenario's case opener, on the same database.

    Keeps the reports it was handed so the command can show what the center received.
    """

    def __init__(self, city: City, engine: Engine) -> None:
        sessions = session_factory(engine)
        self.centers = CenterCache(Center(load_taxonomy(), AdminIndex.from_city(city)))
        self.session = sessions()
        self.reports: dict[str, SensorReport] = {}

    def __call__(self, report: SensorReport) -> CaseRef:
        """Open (or find) the case through the governance center's public function."""
        self.reports[report.alarm_id] = report
        center = self.centers.current(self.session)
        return cases_service.open_sensor_case(self.session, center, report, at=datetime.now(tz=UTC))


@app.command("live")
def live_command(
    ctx: typer.Context,
    *,
    mqtt: bool = typer.Option(False, "--mqtt", help="Use the broker in settings.mqtt_url."),  # noqa: FBT003
    minutes: int = typer.Option(20, help="Minutes of telemetry to stream."),
) -> None:
    """Live scenario: gas telemetry, a leak next to a main, the graded alarm, the case."""
    settings: Settings = ctx.obj
    city = read_city(settings.city_dir)
    engine = _engine(settings)
    desk = _GovernanceDesk(city, engine)
    try:
        result = run_gas_leak_scenario(
            city, engine, desk, mqtt=parse_mqtt_url(settings.mqtt_url) if mqtt else None,
            minutes=minutes,
        )  # fmt: skip
        _print_live(settings, city, result)
        _print_case(desk, result)
    finally:
        desk.session.close()
        engine.dispose()


def _print_live(settings: Settings, city: City, result: ScenarioResult) -> None:
    stats = result.stats
    _console.print(f"[bold]telemetry[/] over {result.transport}: {stats.messages:,} messages, "
                   f"{stats.stored:,} readings stored, {stats.rejected} rejected "
                   f"({dict(stats.reasons)})")  # fmt: skip
    leak = result.leak_sensor
    _console.print(f"[bold]gas leak[/] at sensor {leak.sensor_id} (methane well at node "
                   f"{leak.element_id}, next to main {result.main_link_id})")  # fmt: skip
    for alarm in result.timeline:
        if alarm.sensor_id == result.leak_sensor.sensor_id:
            _console.print(f"  {alarm.last_at:%H:%M} {alarm.rule.value:<15} level {alarm.level} "
                           f"{alarm.state.value:<12} {alarm.message}")  # fmt: skip
    plan = result.plan
    _console.print(f"[bold]isolation plan[/]: close {len(plan.valves_to_close)} valves "
                   f"({', '.join(plan.valves_to_close)}); {len(plan.cut_off_segments)} segments "
                   f"cut off; {plan.impact['customers']:,.0f} customers, "
                   f"{plan.impact['residents']:,.0f} residents lose gas")  # fmt: skip
    for row in plan.facilities.itertuples():
        _console.print(f"  critical facility without gas: {row.category} {row.name}")
    net = city_network(city, "gas")
    png = plot_isolation(net, segment_network(net), plan, settings.data_dir / "lifelines_plan.png",
                         facilities=attach_facilities(net, city.facilities))  # fmt: skip
    _console.print(f"map of the plan: {png}")


def _print_case(desk: _GovernanceDesk, result: ScenarioResult) -> None:
    case = result.alarm.case
    report = desk.reports.get(result.alarm.alarm_id)
    if case is None or report is None:
        _console.print("[bold red]no case was opened[/]: the alarm was not confirmed")
        return
    center = desk.centers.current(desk.session)
    duty = Actor("lifelines-duty-officer", Role.SUPERVISOR, center.city_code)
    row = cases_service.get_case(desk.session, center, case.case_id, actor=duty)
    valves = len(result.plan.valves_to_close)
    deadline = "none" if row.deadline_at is None else f"{row.deadline_at:%Y-%m-%d %H:%M}"
    _console.print(
        f"[bold]case[/] {row.reference} opened in the governance center: status {row.status}, "
        f"category {row.category_code}, department {row.department}, street {row.street_code}, "
        f"deadline {deadline}; isolation plan ({valves} valves) attached"
    )


@app.command("coverage")
def coverage_command(
    ctx: typer.Context,
    *,
    network: CityNetworkChoice = typer.Option(CityNetworkChoice.GAS, help=NETWORK_HELP),  # noqa: B008
    density: float = typer.Option(DEFAULT_DENSITY_PER_KM2, help="Dense: residents per km²."),
    radius: float = typer.Option(DEFAULT_RADIUS_M, help="Network distance a sensor watches, m."),
    out: Path | None = typer.Option(None, help="Write the proposed sensor sites as CSV."),  # noqa: B008
    png: Path | None = typer.Option(None, help="Draw the coverage map into this PNG."),  # noqa: B008
) -> None:
    """Share of dense-area pipe length watched by sensors, and sensors to reach 100 %."""
    settings: Settings = ctx.obj
    city = read_city(settings.city_dir)
    net = city_network(city, _city(network))
    sensors = list(sensors_from_city(city).values())
    cov = compute_coverage(city, net, sensors, threshold_per_km2=density, radius_m=radius)
    _console.print(f"[bold]{network.value}[/]: {cov.watched_length_m / 1e3:,.1f} of "
                   f"{cov.dense_length_m / 1e3:,.1f} km of pipe in dense cells watched "
                   f"({cov.share:.0%})")  # fmt: skip
    for level, table in (("district", cov.by_district), ("street", cov.by_street)):
        view = Table(title=f"coverage by {level}")
        for column in ("code", "name", "dense km", "watched km", "share"):
            view.add_column(column, justify="left" if column in {"code", "name"} else "right")
        for code, name, dense_m, watched_m, share in table[
            ["code", "name", "dense_length_m", "watched_length_m", "share"]
        ].itertuples(index=False, name=None):
            view.add_row(str(code), str(name), f"{float(dense_m) / 1e3:,.2f}",
                         f"{float(watched_m) / 1e3:,.2f}", f"{float(share):.0%}")  # fmt: skip
        _console.print(view)
    placed = place_sensors(net, cov.dense, cov.watched, radius_m=radius)
    _console.print(
        f"placement ({placed.attrs['method']}): {len(placed):,} more sensors reach 100 % "
        f"(greedy alone: {placed.attrs['greedy_sensors']:,}; proven lower bound: "
        f"{placed.attrs['lower_bound']:,.0f})"
    )
    if png is not None:
        plot_coverage(net, cov, placed, png)
        _console.print(f"map written to {png}")
    if out is not None:
        placed.to_csv(out, index=False)


@app.command("readings")
def readings_command(
    ctx: typer.Context,
    sensor_id: str,
    *,
    start: str = typer.Option(..., help="ISO 8601 start, e.g. 2026-11-23T00:00:00+08:00."),
    end: str = typer.Option(..., help="ISO 8601 end (exclusive)."),
    bucket: float | None = typer.Option(None, help="Downsample into buckets of this many s."),
) -> None:
    """Print a sensor's stored readings in a time range, optionally downsampled."""
    settings: Settings = ctx.obj
    start_ms, end_ms = _iso_ms(start, "--start"), _iso_ms(end, "--end")
    with _engine(settings).connect() as conn:
        table = query_readings(conn, sensor_id, start_ms, end_ms, bucket_s=bucket)
    _console.print(f"{sensor_id}: {len(table):,} rows")
    _console.print(table.to_string(index=False))


def _iso_ms(text: str, option: str) -> int:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        msg = f"option `{option}`: {text!r} is not an ISO 8601 time"
        raise ConfigError(msg) from None
    if stamp.tzinfo is None:
        msg = f"option `{option}`: {text!r} has no time zone (add Z or +08:00)"
        raise ConfigError(msg)
    return round(stamp.timestamp() * 1000)


@leaks_app.command("detect")
def leaks_detect_command(
    ctx: typer.Context,
    *,
    network: Path = typer.Option(..., help="The EPANET model (.inp) of the metered network."),  # noqa: B008
    scada: Path = typer.Option(  # noqa: B008
        ..., help="Folder of SCADA CSVs: BattLeDIM *_Flows.csv/*_Levels.csv, or sensor,time,value."
    ),
    out: Path = typer.Option(..., help="Folder for leaks.csv, submission.txt and alarms.csv."),  # noqa: B008
    alarms_per_month: float = typer.Option(
        1.0, help="False-alarm rate the thresholds are set for, all zones together."
    ),
    store: bool = typer.Option(
        False,  # noqa: FBT003
        "--store",
        help="Also raise the alarms in the database (the dashboard's alarm list).",
    ),
) -> None:
    """Detect leaks from the zones' night flows; write the leak list, submission and alarms.

    Flows locate a leak to a metered zone, with its start night and size (m³/h); when the
    export has pressure sensors, the night pressure change places it on a pipe (a year of
    L-Town takes about two minutes more: a model run and one solve per junction). Each
    zone's threshold is set from a noise model learned from its own readings, for the
    false-alarm rate asked.
    """
    if alarms_per_month <= 0:
        msg = f"option `--alarms-per-month`: must be > 0, got {alarms_per_month}"
        raise ConfigError(msg)
    watch = watch_scada(network, scada, alarms_per_month=alarms_per_month)
    out.mkdir(parents=True, exist_ok=True)
    watch.leaks.to_csv(out / "leaks.csv", index=False)
    alarm_rows = [
        {"alarm_id": a.alarm_id, "sensor_id": a.sensor_id, "rule": a.rule.value,
         "level": a.level, "state": a.state.value, "raised_at": a.raised_at.isoformat(),
         "value": a.value, "message": a.message}
        for a in watch.alarms
    ]  # fmt: skip
    pd.DataFrame(alarm_rows, columns=["alarm_id", "sensor_id", "rule", "level", "state",
                                      "raised_at", "value", "message"]).to_csv(
        out / "alarms.csv", index=False
    )  # fmt: skip
    if store:
        settings: Settings = ctx.obj
        engine = _engine(settings)
        with engine.begin() as conn:
            for alarm in watch.alarms:
                save_alarm(conn, alarm)
        engine.dispose()
        _console.print(f"{len(watch.alarms)} leak alarms raised in the database")
    write_submission(watch.leaks, out / "submission.txt")
    for zone in watch.watches:
        _console.print(
            f"zone {zone.zone.name}: night-flow noise sd {zone.noise.sd_m3_h:.2f} m³/h, "
            f"day-to-day memory {zone.noise.phi:.2f}, threshold {zone.h_sd:.1f} sd "
            f"({zone.expected_alarms_per_month:.2f} false alarms a month on noise alone)"
        )
    placed = int((watch.leaks["link_id"] != "").sum())
    view = Table(title=f"{len(watch.leaks)} leaks: {placed} placed on a pipe by the pressures, "
                 f"{len(watch.leaks) - placed} located to a zone by the flows alone")  # fmt: skip
    for column in ("zone", "pipe", "start", "alarm", "pipe named", "size m³/h"):
        view.add_column(column)
    for row in watch.leaks.itertuples(index=False):
        named = getattr(row, "placed_time", pd.NaT)
        view.add_row(str(row.zone), str(row.link_id) or "-", f"{row.start_time:%Y-%m-%d %H:%M}",
                     f"{row.alarm_time:%Y-%m-%d %H:%M}",
                     "-" if pd.isna(named) else f"{named:%Y-%m-%d %H:%M}",
                     f"{row.size_m3_h:.1f}")  # fmt: skip
    _console.print(view)
    _console.print(f"written: {out / 'leaks.csv'}, {out / 'submission.txt'}, {out / 'alarms.csv'}")
