"""SCADA exports a utility hands over: the BattLeDIM CSV files and a long table of readings.

Two layouts are read, each into one wide table per quantity (a ``DatetimeIndex`` of naive
timestamps, one column per sensor):

- the BattLeDIM layout: ``<year>_SCADA_Flows.csv``, ``..._Levels.csv``, ``..._Pressures.csv``,
  ``;``-separated, decimal comma, a ``Timestamp`` column then one column per sensor (flows in
  m³/h on links, levels in m on tanks, pressures in m on junctions);
- a long table ``sensor,time,value`` (any ``.csv`` holding those three columns), where what a
  sensor measures is read from the network: a link id is a flow meter, a tank id a level
  sensor, any other node a pressure sensor.

Every reading is checked once, at the boundary: a missing column, an unparseable time or
number (file and line named), a sensor the network does not know, a timestamp given twice.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shancheng.errors import InputError, MissingColumnError

if TYPE_CHECKING:
    from shancheng.lifelines.pipes import PipeNetwork

QUANTITIES = ("flows", "levels", "pressures")
"""What a SCADA folder holds: flows (m³/h), tank levels (m), pressures (m)."""
_BATTLEDIM_NAMES = {"flows": "Flows", "levels": "Levels", "pressures": "Pressures"}
_LONG_COLUMNS = ("sensor", "time", "value")


@dataclass(frozen=True, eq=False)
class Scada:
    """Readings of one SCADA export, one wide table per quantity (empty when absent).

    Attributes
    ----------
    flows_m3_h, levels_m, pressures_m
        Index: timestamps; columns: sensor ids (link ids, tank ids, junction ids).
    source
        Where the readings came from (a folder), used in messages.
    """

    flows_m3_h: pd.DataFrame
    levels_m: pd.DataFrame
    pressures_m: pd.DataFrame
    source: str


def read_battledim_csv(path: str | Path) -> pd.DataFrame:
    """Read one BattLeDIM SCADA CSV (``Timestamp;<sensor>;...``, decimal comma).

    Raises
    ------
    InputError
        No ``Timestamp`` column, a time or a value that does not parse, or a time given twice;
        the message names the file and the line.
    """
    file = Path(path)
    try:
        frame = pd.read_csv(file, sep=";", decimal=",", dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        msg = f"{file}: not a readable BattLeDIM SCADA CSV ({type(exc).__name__}: {exc})"
        raise InputError(msg) from exc
    if "Timestamp" not in frame.columns:
        msg = f"{file}: no `Timestamp` column (columns: {', '.join(frame.columns[:5])})"
        raise MissingColumnError(msg)
    index = _times(frame["Timestamp"], file, column="Timestamp")
    values = {}
    for column in frame.columns.drop("Timestamp"):
        text = frame[column].str.replace(",", ".", regex=False)
        number = pd.to_numeric(text, errors="coerce")
        bad = np.flatnonzero(number.isna().to_numpy())
        if bad.shape[0]:
            row = int(bad[0])
            msg = f"{file}, line {row + 2}: `{column}` is not a number: {frame[column].iloc[row]!r}"
            raise InputError(msg)
        values[str(column)] = number.to_numpy(dtype=np.float64)
    return _unique_times(pd.DataFrame(values, index=index.rename(None)), file)


def read_long_table(path: str | Path) -> pd.DataFrame:
    """Read a long table ``sensor,time,value`` into a wide one (columns: sensors).

    Raises
    ------
    InputError
        A missing column, or a row whose time or value does not parse, or the same sensor and
        time twice (file and line named).
    """
    file = Path(path)
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        msg = f"{file}: not a readable CSV ({type(exc).__name__}: {exc})"
        raise InputError(msg) from exc
    missing = [c for c in _LONG_COLUMNS if c not in frame.columns]
    if missing:
        msg = f"{file}: a long table needs columns sensor,time,value; missing {missing}"
        raise MissingColumnError(msg)
    times = _times(frame["time"], file, column="time")
    value = pd.to_numeric(frame["value"], errors="coerce")
    bad = np.flatnonzero(value.isna().to_numpy())
    if bad.shape[0]:
        row = int(bad[0])
        msg = f"{file}, line {row + 2}: `value` is not a number: {frame['value'].iloc[row]!r}"
        raise InputError(msg)
    long = pd.DataFrame({"sensor": frame["sensor"].to_numpy(), "time": times, "value": value})
    twice = np.flatnonzero(long.duplicated(["sensor", "time"]).to_numpy())
    if twice.shape[0]:
        row = int(twice[0])
        msg = (
            f"{file}, line {row + 2}: sensor {long['sensor'].iloc[row]!r} has a reading at "
            f"{long['time'].iloc[row]} already"
        )
        raise InputError(msg)
    wide = long.pivot_table(index="time", columns="sensor", values="value", aggfunc="first")
    wide.columns = wide.columns.astype(str)
    wide.index.name = None
    return wide


def read_scada_dir(path: str | Path, net: PipeNetwork) -> Scada:
    """Read a SCADA export folder: BattLeDIM files, or long tables, or both.

    BattLeDIM files are recognised by name (``*_Flows.csv``, ``*_Levels.csv``,
    ``*_Pressures.csv``); any other ``.csv`` is read as a long table, its sensors sorted into
    flows, levels and pressures by what they are in ``net``.

    Raises
    ------
    InputError
        The folder holds no CSV, a file is bad (see the readers), or a sensor is not an
        element of ``net`` or is of the wrong kind for its file.
    """
    folder = Path(path)
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not files:
        msg = f"{folder}: no SCADA .csv files (BattLeDIM *_Flows.csv... or sensor,time,value)"
        raise InputError(msg)
    parts: dict[str, list[pd.DataFrame]] = {q: [] for q in QUANTITIES}
    for file in files:
        quantity = next((q for q, n in _BATTLEDIM_NAMES.items() if f"_{n}" in file.stem), None)
        if quantity is not None:
            table = read_battledim_csv(file)
            _check_sensors(table, net, quantity, file)
            parts[quantity].append(table)
        elif _is_long_table(file):
            table = read_long_table(file)
            for q, columns in _sort_sensors(table, net, file).items():
                parts[q].append(table[columns])
    merged = {q: _merge(frames) for q, frames in parts.items()}
    return Scada(merged["flows"], merged["levels"], merged["pressures"], str(folder))


def _times(text: pd.Series, file: Path, *, column: str) -> pd.DatetimeIndex:
    times = pd.to_datetime(text, errors="coerce", format="ISO8601")
    bad = np.flatnonzero(times.isna().to_numpy())
    if bad.shape[0]:
        row = int(bad[0])
        msg = f"{file}, line {row + 2}: `{column}` is not a time: {text.iloc[row]!r}"
        raise InputError(msg)
    if times.dt.tz is not None:
        times = times.dt.tz_convert(None)
    return pd.DatetimeIndex(times, name=None)


def _unique_times(frame: pd.DataFrame, file: Path) -> pd.DataFrame:
    twice = np.flatnonzero(frame.index.duplicated())
    if twice.shape[0]:
        row = int(twice[0])
        msg = f"{file}, line {row + 2}: time {frame.index[row]} is given twice"
        raise InputError(msg)
    return frame.sort_index()


def _is_long_table(file: Path) -> bool:
    with file.open(newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), [])
    return all(c in header for c in _LONG_COLUMNS)


def _kinds(net: PipeNetwork) -> dict[str, str]:
    kinds = {str(link): "flows" for link in net.links["link_id"]}
    for node, kind in zip(net.nodes["node_id"], net.nodes["kind"], strict=True):
        kinds[str(node)] = "levels" if kind == "tank" else "pressures"
    return kinds


def _sort_sensors(table: pd.DataFrame, net: PipeNetwork, file: Path) -> dict[str, list[str]]:
    kinds = _kinds(net)
    unknown = [c for c in table.columns if c not in kinds]
    if unknown:
        msg = f"{file}: sensor(s) {', '.join(unknown[:10])} are no link or node of {net.source}"
        raise InputError(msg)
    out: dict[str, list[str]] = {q: [] for q in QUANTITIES}
    for column in table.columns:
        out[kinds[column]].append(column)
    return out


def _check_sensors(table: pd.DataFrame, net: PipeNetwork, quantity: str, file: Path) -> None:
    kinds = _kinds(net)
    wrong = [c for c in table.columns if kinds.get(c) != quantity]
    if wrong:
        msg = (
            f"{file}: column(s) {', '.join(wrong[:10])} are not {quantity} sensors of "
            f"{net.source} (flows are on links, levels on tanks, pressures on junctions)"
        )
        raise InputError(msg)


def _merge(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(index=pd.DatetimeIndex([]))
    return pd.concat(frames, axis=1).sort_index()
