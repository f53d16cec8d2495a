"""``shancheng mobility``: bottlenecks at school gates and major junctions."""

from __future__ import annotations

from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time

import pandas as pd
import typer
from rich.console import Console

from shancheng.data.city import read_city
from shancheng.errors import InputError
from shancheng.mobility.bottlenecks import WhatIf, analyse_bottlenecks, load_assumptions
from shancheng.mobility.report import write_outputs

mobility_app = typer.Typer(help="Mobility: drive network, through movement, school zones.",
                           no_args_is_help=True)  # fmt: skip
_console = Console()


@mobility_app.command("bottlenecks")
def bottlenecks_command(
    city: Path = typer.Option(..., help="City directory (shancheng demo writes data/demo)."),  # noqa: B008
    out: Path = typer.Option(..., help="Folder for bottlenecks.gpkg, .csv and .html."),  # noqa: B008
    assumptions: Path | None = typer.Option(None, help="Assumptions and weights (TOML)."),  # noqa: B008
    reports: Path | None = typer.Option(  # noqa: B008
        None, help="Traffic reports CSV: category, x_utm, y_utm, reported_at."
    ),
    enrolment: Path | None = typer.Option(  # noqa: B008
        None, help="Agency enrolment CSV: facility_id, enrolment."
    ),
    add_crossing: list[int] = typer.Option([], help="What-if: a zebra at this walk node."),  # noqa: B008
    add_signal: list[int] = typer.Option([], help="What-if: signals at this walk node."),  # noqa: B008
    pickup_zone: list[str] = typer.Option(  # noqa: B008
        [], help="What-if: FACILITY_ID:METRES of pick-up kerb at a school gate."
    ),
) -> None:
    """Rank school gates and major junctions as candidate projects, with reasons and a map."""
    loaded = read_city(city)
    a = load_assumptions(assumptions)
    table = _read_csv(reports, ("category", "x_utm", "y_utm", "reported_at"))
    enrol = _read_csv(enrolment, ("facility_id", "enrolment"))
    enrol_map = (
        dict(zip(enrol["facility_id"], enrol["enrolment"], strict=True))
        if enrol is not None
        else None
    )
    change = WhatIf(tuple(add_crossing), tuple(add_signal), _pickups(pickup_zone))
    base = analyse_bottlenecks(loaded, reports=table, assumptions=a, enrolment=enrol_map)
    result = base
    if not change.empty:
        result = analyse_bottlenecks(loaded, reports=table, assumptions=a, enrolment=enrol_map,
                                     what_if=change)  # fmt: skip
    paths = write_outputs(result, loaded, out, before=None if change.empty else base.candidates)
    for r in result.candidates.head(5).itertuples():
        _console.print(f"{r.rank:>3}. {r.kind:<11} {r.name}  score {r.score:.3f}: {r.reason}")
    _console.print(f"wrote {paths['gpkg']}, {paths['csv']} and {paths['html']}")


def _pickups(values: list[str]) -> dict[str, float]:
    out = {}
    for value in values:
        fid, _, metres = value.partition(":")
        try:
            out[fid] = float(metres)
        except ValueError:
            msg = f"--pickup-zone must be FACILITY_ID:METRES, got {value!r}"
            raise InputError(msg) from None
    return out


def _read_csv(path: Path | None, columns: tuple[str, ...]) -> pd.DataFrame | None:
    if path is None:
        return None
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as exc:
        msg = f"{path}: cannot read CSV ({exc})"
        raise InputError(msg) from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{path}: required column `{missing[0]}` is missing (found: {list(frame.columns)})"
        raise InputError(msg)
    return frame
