"""Reading an entity registry file (CSV or XLSX): one typed record per row, or every error.

Columns (UTF-8 CSV with a header, or the first sheet of a workbook):

=====================  ======================================================================
``code``               unified social credit code (checked: charset, length, both checks)
``name``               the registered name
``address``            the business address as registered
``lon``, ``lat``       WGS84 position of the premises
``representative``     legal representative or operator (optional)
``representative_id``  their resident ID number (optional; only for individual traders; staff
                       only, never published)
``licence_number``     a licence (optional; a second row with the same code adds another)
``licence_kind``, ``licence_authority``, ``licence_decided_on``, ``licence_valid_from``,
``licence_valid_until``  the licence's kind, issuing authority, decision day, validity (ISO
                       dates; ``valid_until`` empty: open-ended)
=====================  ======================================================================

Every row is checked before anything is returned; :class:`~shancheng.errors.RegistryImportError`
lists each bad row and field (``file, row N, field: why``; rows are counted as a spreadsheet
shows them, the header being row 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from shancheng.cases.privacy import id_number_valid
from shancheng.credit.codes import EntityKind, parse_code
from shancheng.errors import CreditCodeError, RegistryImportError

if TYPE_CHECKING:
    from pathlib import Path

REQUIRED = ("code", "name", "address", "lon", "lat")
_MAX_PROBLEMS = 50


@dataclass(frozen=True, slots=True)
class LicenceIn:
    """A licence as read from a file."""

    number: str
    kind: str
    authority: str
    decided_on: date
    valid_from: date
    valid_until: date | None


@dataclass(frozen=True, slots=True)
class EntityIn:
    """An entity as read from a file (or an API body), its code checked."""

    code: str
    name: str
    kind: EntityKind
    address: str
    lon: float
    lat: float
    representative: str = ""
    representative_id: str = ""
    licences: tuple[LicenceIn, ...] = ()
    row: str = ""  # where it came from: "file, row N"


def read_registry(path: Path) -> list[EntityIn]:
    """Read and check every row of a registry file.

    Raises
    ------
    RegistryImportError
        Missing columns or bad rows (all of them listed, up to 50); nothing is returned.
    """
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        frame = pd.read_excel(path, dtype=str, keep_default_na=False)
    elif path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    else:
        msg = f"{path.name}: a registry is a .csv or .xlsx file, got {path.suffix or 'no suffix'!r}"
        raise RegistryImportError(msg, problems=(msg,))
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        msg = f"{path.name}: missing column(s) {', '.join(missing)}; the header needs {REQUIRED}"
        raise RegistryImportError(msg, problems=(msg,))
    problems: list[str] = []
    entities: dict[str, EntityIn] = {}
    for index, raw in enumerate(frame.to_dict("records")):
        where = f"{path.name}, row {index + 2}"
        record = {str(k): str(v).strip() for k, v in raw.items()}
        try:
            entity = parse_row(record, where)
        except RegistryImportError as exc:
            problems.extend(exc.problems)
            continue
        _merge(entities, entity, problems)
    if problems:
        shown = problems[:_MAX_PROBLEMS]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        msg = f"{path.name}: {len(problems)} problem(s); nothing was imported:\n" + "\n".join(shown)
        raise RegistryImportError(msg + more, problems=tuple(problems))
    return list(entities.values())


def _merge(entities: dict[str, EntityIn], entity: EntityIn, problems: list[str]) -> None:
    first = entities.get(entity.code)
    if first is None:
        entities[entity.code] = entity
        return
    if (first.name, first.address) != (entity.name, entity.address):
        problems.append(
            f"{entity.row}, code: {entity.code} repeats {first.row} with another name or "
            "address; one row per entity (repeat it only to add a licence)"
        )
        return
    entities[entity.code] = EntityIn(
        first.code, first.name, first.kind, first.address, first.lon, first.lat,
        first.representative, first.representative_id,
        first.licences + entity.licences, first.row,
    )  # fmt: skip


def parse_row(record: dict[str, str], where: str) -> EntityIn:
    """Check one row (a mapping of column to text) and return the entity.

    Raises
    ------
    RegistryImportError
        One problem per bad field, each naming ``where`` and the field.
    """
    problems: list[str] = []
    kind = EntityKind.OTHER
    code = record.get("code", "")
    try:
        parsed = parse_code(code, field=f"{where}, code")
        code, kind = parsed.code, parsed.kind
    except CreditCodeError as exc:
        problems.append(str(exc))
    name = record.get("name", "")
    if not name:
        problems.append(f"`{where}, name`: empty; give the registered name")
    lon, lat = _number(record, "lon", where, problems), _number(record, "lat", where, problems)
    person_id = record.get("representative_id", "").upper()
    if person_id and not id_number_valid(person_id):
        problems.append(
            f"`{where}, representative_id`: not a valid resident ID number (18 characters with "
            "a right check character); correct it or leave it empty"
        )
    licences = _licence(record, where, problems)
    if problems:
        raise RegistryImportError("; ".join(problems), problems=tuple(problems))
    return EntityIn(
        code, name[:200], kind, record.get("address", "")[:300], lon, lat,
        record.get("representative", "")[:100], person_id, licences, where,
    )  # fmt: skip


def _number(record: dict[str, str], name: str, where: str, problems: list[str]) -> float:
    text = record.get(name, "")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        problems.append(f"`{where}, {name}`: {text[:40]!r} is not a number")
    return value


def _licence(record: dict[str, str], where: str, problems: list[str]) -> tuple[LicenceIn, ...]:
    number = record.get("licence_number", "")
    if not number:
        return ()
    dates: dict[str, date | None] = {}
    for name in ("licence_decided_on", "licence_valid_from", "licence_valid_until"):
        text = record.get(name, "")
        if not text and name == "licence_valid_until":
            dates[name] = None
            continue
        try:
            dates[name] = date.fromisoformat(text[:10])
        except ValueError:
            problems.append(f"`{where}, {name}`: {text[:40]!r} is not a date (YYYY-MM-DD)")
            dates[name] = None
    start, end = dates["licence_valid_from"], dates["licence_valid_until"]
    if start is not None and end is not None and end < start:
        problems.append(f"`{where}, licence_valid_until`: {end} is before valid_from {start}")
    decided, start = dates["licence_decided_on"], dates["licence_valid_from"]
    if decided is None or start is None:
        return ()
    return (
        LicenceIn(
            number[:64],
            record.get("licence_kind", "")[:100] or "licence",
            record.get("licence_authority", "")[:100],
            decided,
            start,
            end,
        ),
    )
