"""Agencies' facility lists (CSV or Excel) with a column-mapping file, in any Chinese datum.

A list from the education bureau or the health commission has its own column names, its own
category words and, usually, GCJ-02 (Amap/Tencent) or BD-09 (Baidu) coordinates. A small
TOML file says which column is which, what the category words mean and which datum the
coordinates use::

    [source]
    name = "Health commission: community health stations"   # kept per facility
    date = "2026-05-01"                                      # kept per facility
    datum = "gcj02"                                          # wgs84 | gcj02 | bd09
    # category = "health_station"   # one category for the whole list, or map a column:
    # sheet = "Sheet1"              # Excel only; encoding = "gbk" for CSV

    [columns]
    name = "名称"
    lon = "经度"
    lat = "纬度"
    category = "类别"     # optional when [source].category is given
    capacity = "床位数"   # optional

    [categories]          # words in the category column -> catalogue ids
    "社区卫生服务站" = "health_station"

Rows with missing, unparseable, out-of-range or out-of-area coordinates, or an unknown
category, are reported by row number (the spreadsheet's: the header is row 1) while the rest
import. A list declared in one datum whose points sit much closer to the walk network in
another is refused (:class:`~shancheng.errors.DatumMismatchError`): a GCJ-02 list declared
WGS84 lands about 500 m off in Chongqing, enough to put a school in the wrong street.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from shancheng.data.demo.facilities import CATEGORY_IDS
from shancheng.errors import DatumMismatchError, InputError, MissingColumnError
from shancheng.geo.crs import DATUMS, Datum, in_china, to_wgs84

if TYPE_CHECKING:
    from shancheng.types import FloatArray

logger = logging.getLogger(__name__)

HEADER_ROWS = 1
"""Rows before the first data row: reported row numbers are the spreadsheet's."""
DATUM_CHECK_MIN_OFFSET_M = 50.0
"""A declared datum is questioned only when its median distance to the network exceeds this."""
DATUM_CHECK_RATIO = 2.0
"""...and another datum brings the points at least this many times closer."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One rejected row: where, which field, what value, and why."""

    source: str
    row: int
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        """Read as ``file: row N: field `x` = 'v': reason``."""
        return (
            f"{self.source}: row {self.row}: field `{self.field}` = {self.value!r}: {self.reason}"
        )


@dataclass
class FacilityList:
    """Facilities read from one list: good rows in WGS84, and the rejected rows."""

    source: str
    facilities: pd.DataFrame
    """Columns: row, category, name, capacity, lon, lat, source, source_date."""
    problems: list[RowProblem] = field(default_factory=list)
    datum: str = "wgs84"


@dataclass(frozen=True)
class ColumnMapping:
    """The parsed column-mapping file."""

    source_name: str
    source_date: str
    datum: Datum
    columns: dict[str, str]
    categories: dict[str, str]
    fixed_category: str | None
    sheet: str | int
    encoding: str


def read_column_mapping(path: str | Path) -> ColumnMapping:
    """Read and check a column-mapping TOML file.

    Raises
    ------
    InputError
        Unreadable TOML, an unknown datum, a missing lon/lat column, or a category that is
        not in the living-circle catalogue; the message names the file and the field.
    """
    where = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"{where}: cannot read the column mapping ({exc})"
        raise InputError(msg) from exc
    source = data.get("source", {})
    columns = {str(k): str(v) for k, v in data.get("columns", {}).items()}
    categories = {str(k): str(v) for k, v in data.get("categories", {}).items()}
    datum = str(source.get("datum", "")).lower().replace("-", "")
    if datum not in DATUMS:
        msg = f"{where}: [source] datum must be one of {', '.join(DATUMS)}, got {datum!r}"
        raise InputError(msg)
    for needed in ("lon", "lat"):
        if needed not in columns:
            msg = f"{where}: [columns] needs `{needed}` (the name of the {needed} column)"
            raise InputError(msg)
    fixed = source.get("category")
    if fixed is None and "category" not in columns:
        msg = f"{where}: give [columns] category or one [source] category for the whole list"
        raise InputError(msg)
    for word, category in [*categories.items(), *([("[source] category", fixed)] if fixed
                                                  else [])]:  # fmt: skip
        if category not in CATEGORY_IDS:
            msg = (
                f"{where}: category {word!r} maps to {category!r}, not a catalogue category "
                f"({', '.join(CATEGORY_IDS)})"
            )
            raise InputError(msg)
    return ColumnMapping(
        source_name=str(source.get("name", Path(path).stem)),
        source_date=str(source.get("date", "")),
        datum=datum,  # checked against DATUMS above
        columns=columns, categories=categories, fixed_category=fixed,
        sheet=source.get("sheet", 0), encoding=str(source.get("encoding", "utf-8")),
    )  # fmt: skip


def read_facility_list(
    path: str | Path,
    mapping: ColumnMapping | str | Path,
    *,
    area: shapely.Geometry | None = None,
    reference_lonlat: FloatArray | None = None,
) -> FacilityList:
    """Read an agency's facility list, convert its coordinates to WGS84 and check each row.

    Parameters
    ----------
    path
        ``.csv`` or ``.xlsx``/``.xls``.
    mapping
        The column mapping (:func:`read_column_mapping`) or its file.
    area
        Study area (WGS84); rows outside it are reported, not imported.
    reference_lonlat
        ``(n, 2)`` WGS84 points of the walk network, used to detect a wrongly declared datum.

    Raises
    ------
    MissingColumnError
        A mapped column is absent from the file.
    DatumMismatchError
        The points lie much closer to the network in another datum than the declared one.
    """
    spec = mapping if isinstance(mapping, ColumnMapping) else read_column_mapping(mapping)
    source = str(path)
    table = _read_table(Path(path), spec)
    for key, column in spec.columns.items():
        if column not in table.columns:
            msg = (
                f"{source}: column {column!r} (mapped as `{key}`) is missing; "
                f"the file has: {', '.join(map(str, table.columns))}"
            )
            raise MissingColumnError(msg)
    rows = np.arange(len(table)) + HEADER_ROWS + 1
    problems: list[RowProblem] = []
    lon = _numbers(table, spec.columns["lon"], "lon", rows, source, problems, (-180.0, 180.0))
    lat = _numbers(table, spec.columns["lat"], "lat", rows, source, problems, (-90.0, 90.0))
    category = _categories(table, spec, rows, source, problems)
    good = np.isfinite(lon) & np.isfinite(lat) & np.asarray(pd.notna(category), dtype=bool)
    w_lon, w_lat = np.full_like(lon, np.nan), np.full_like(lat, np.nan)
    w_lon[good], w_lat[good] = to_wgs84(lon[good], lat[good], spec.datum)
    if reference_lonlat is not None and good.any():
        check_datum(lon[good], lat[good], spec.datum, reference_lonlat, source=source)
    if area is not None:
        outside = good & ~shapely.contains_xy(area, w_lon, w_lat)
        problems.extend(
            RowProblem(source, int(rows[i]), "lon/lat", f"{lon[i]}, {lat[i]}",
                       "outside the study area")
            for i in np.flatnonzero(outside)
        )  # fmt: skip
        good &= ~outside
    capacity_column = spec.columns.get("capacity")
    capacity = (pd.to_numeric(table[capacity_column], errors="coerce").to_numpy(dtype=float)
                if capacity_column else np.full(len(table), np.nan))  # fmt: skip
    names = (table[spec.columns["name"]].fillna("").astype(str).to_numpy()
             if "name" in spec.columns else np.full(len(table), "", dtype=object))  # fmt: skip
    frame = pd.DataFrame({
        "row": rows[good], "category": category[good], "name": names[good],
        "capacity": capacity[good], "lon": w_lon[good], "lat": w_lat[good],
        "source": f"{spec.source_name} ({Path(path).name} row " + pd.Series(rows[good]).astype(
            str).to_numpy() + ")",
        "source_date": spec.source_date,
    })  # fmt: skip
    problems.sort(key=lambda p: p.row)
    logger.info("%s: %d facilities imported, %d rows rejected", source, len(frame), len(problems))
    return FacilityList(source, frame, problems, spec.datum)


def _read_table(path: Path, spec: ColumnMapping) -> pd.DataFrame:
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(path, sheet_name=spec.sheet, dtype=str)
        return pd.read_csv(path, dtype=str, encoding=spec.encoding, keep_default_na=False,
                           na_values=[""])  # fmt: skip
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        msg = f"{path}: cannot read the facility list ({type(exc).__name__}: {exc})"
        raise InputError(msg) from exc


def _numbers(
    table: pd.DataFrame,
    column: str,
    name: str,
    rows: npt.NDArray[np.int64],
    source: str,
    problems: list[RowProblem],
    valid: tuple[float, float],
) -> FloatArray:
    raw = table[column]
    values = pd.to_numeric(raw.astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
    values = values.copy()  # pandas may hand out a read-only view
    missing = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
    bad = ~missing & ~np.isfinite(values)
    out = np.isfinite(values) & ((values < valid[0]) | (values > valid[1]))
    reasons = ((missing, "missing"), (bad, "not a number"),
               (out, f"outside {valid[0]:g}..{valid[1]:g} degrees"))  # fmt: skip
    for mask, reason in reasons:
        problems.extend(
            RowProblem(source, int(rows[i]), name, "" if reason == "missing" else
                       str(raw.iloc[i]), reason)
            for i in np.flatnonzero(mask)
        )  # fmt: skip
    values[missing | bad | out] = np.nan
    return values


def _categories(
    table: pd.DataFrame,
    spec: ColumnMapping,
    rows: npt.NDArray[np.int64],
    source: str,
    problems: list[RowProblem],
) -> npt.NDArray[Any]:
    if spec.fixed_category is not None and "category" not in spec.columns:
        return np.full(len(table), spec.fixed_category, dtype=object)
    words = table[spec.columns["category"]].fillna("").astype(str).str.strip()
    result = np.empty(len(table), dtype=object)
    for i, word in enumerate(words):
        category = spec.categories.get(word, word if word in CATEGORY_IDS else None)
        if category is None and spec.fixed_category is not None:
            category = spec.fixed_category
        if category is None:
            problems.append(RowProblem(source, int(rows[i]), "category", word,
                                       "not in [categories] nor a catalogue category"))  # fmt: skip
        result[i] = category
    return result


def check_datum(
    lon: FloatArray,
    lat: FloatArray,
    declared: Datum,
    reference_lonlat: FloatArray,
    *,
    source: str,
) -> dict[str, float]:
    """Refuse points whose offset from the network says they are in another datum.

    Each candidate datum's conversion is tried; the median distance from the converted
    points to the nearest reference point is compared. Only points inside China are tested
    (elsewhere GCJ-02 equals WGS84).

    Returns
    -------
    dict
        Median distance in metres per datum (empty when no point is in China).

    Raises
    ------
    DatumMismatchError
        The declared datum leaves the points more than 50 m from the network and another
        datum brings them at least twice as close.
    """
    china = in_china(lon, lat)
    if not china.any() or reference_lonlat.shape[0] == 0:
        return {}
    lat0 = float(np.median(reference_lonlat[:, 1]))
    scale = np.array([111_320.0 * np.cos(np.radians(lat0)), 110_540.0])
    tree = cKDTree(reference_lonlat * scale)
    medians: dict[str, float] = {}
    for datum in DATUMS:
        x, y = to_wgs84(lon[china], lat[china], datum)
        distance, _ = tree.query(np.column_stack([x, y]) * scale)
        medians[datum] = float(np.median(distance))
    best = min(medians, key=medians.__getitem__)
    if (best != declared and medians[declared] > DATUM_CHECK_MIN_OFFSET_M
            and medians[declared] >= DATUM_CHECK_RATIO * medians[best]):  # fmt: skip
        msg = (
            f"{source}: coordinates are declared {declared} but look like {best}: their median "
            f"distance to the walk network is {medians[declared]:.0f} m as {declared} and "
            f'{medians[best]:.0f} m as {best}; set datum = "{best}" in the column mapping'
        )
        raise DatumMismatchError(msg)
    return medians
