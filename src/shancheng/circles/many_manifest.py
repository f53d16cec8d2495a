"""The manifest of ``shancheng circles evaluate-many``: which cities, from what, and how.

A manifest is a TOML or YAML file with optional ``defaults`` and a list ``cities``; every
key of an entry may also be given in ``defaults``. Each city is either a City folder
(``city``), or an OpenStreetMap extract to import first (``osm`` with optional ``dem``,
``bbox``, ``admin_from_osm`` and a population source). Relative paths are relative to the
manifest's folder, and must be readable by every Dask worker (a shared disk on a cluster)::

    [defaults]
    residences = "buildings"        # or "cells"
    cutoff_s = 3600                 # nearest-facility search cut-off, seconds

    [[cities]]
    name = "chongqing"              # letters, digits, _ . - (the folder in the store)
    city = "cities/chongqing"       # a City folder (shancheng demo / shancheng city import)
    split = true                    # one task per district, stitched back exactly

    [[cities]]
    name = "monaco"
    osm = "osm/monaco.osm.pbf"
    dem = "dem/N43E007.hgt"
    bbox = [7.415, 43.728, 7.432, 43.742]
    admin_from_osm = "MC"
    profile = "profiles/monaco.toml"   # the city profile (requirements on / off)

``docs/scale.md`` lists every key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, cast

from shancheng.circles.accessibility import DEFAULT_NEAREST_CUTOFF_S
from shancheng.errors import InputError

Residences = Literal["buildings", "cells"]
PopulationLevel = Literal["district", "street", "community"]
_NAME = re.compile(r"^[\w.-]+$")
_PATH_KEYS = ("city", "osm", "dem", "population_raster", "population_counts",
              "population_points", "profile", "catalogue")  # fmt: skip


@dataclass(frozen=True)
class CityEntry:
    """One city of a manifest.

    Attributes
    ----------
    name
        Name of the city, and of its folder in the store.
    city
        A City folder; or ``None`` with ``osm`` given.
    osm, dem, bbox, admin_from_osm
        The extract to import (``bbox`` is west, south, east, north in degrees), its DEM and
        the OSM ``boundary=administrative`` country code for its units.
    population_raster, population_counts, population_level, population_points
        Where the residents come from; none of them estimates them from the buildings.
    profile, catalogue
        The city profile (requirements on / off) and the catalogue (default: the packaged one).
    residences
        ``"buildings"`` or ``"cells"``.
    cutoff_s, time_step_s
        As in :func:`shancheng.circles.evaluate.evaluate_city`.
    split
        Evaluate district by district, one task each, and stitch the results back
        (:mod:`shancheng.circles.split`); City folders only.
    """

    name: str
    city: Path | None = None
    osm: Path | None = None
    dem: Path | None = None
    bbox: tuple[float, float, float, float] | None = None
    admin_from_osm: str | None = None
    population_raster: Path | None = None
    population_counts: Path | None = None
    population_level: PopulationLevel = "street"
    population_points: Path | None = None
    profile: Path | None = None
    catalogue: Path | None = None
    residences: Residences = "buildings"
    cutoff_s: float = DEFAULT_NEAREST_CUTOFF_S
    time_step_s: float | None = None
    split: bool = False

    def input_files(self) -> list[Path]:
        """Every file the result depends on (a City folder stands for all its files)."""
        return [p for key in _PATH_KEYS if (p := getattr(self, key)) is not None]

    def options(self) -> dict[str, object]:
        """Return the entry's settings other than files, for the content hash."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in _PATH_KEYS and f.name != "name"
        }


def read_manifest_file(path: str | Path) -> list[CityEntry]:
    """Read and check a manifest (``.toml``, ``.yaml`` or ``.yml``).

    Raises
    ------
    InputError
        The file is unreadable, or an entry has an unknown key, a bad value, no source or
        two, or a name used twice; the message names the file, the entry and the key.
    """
    source = Path(path)
    data = _parse(source)
    defaults = data.get("defaults", {})
    cities = data.get("cities")
    if not isinstance(defaults, dict):
        msg = f"{source}: `defaults` must be a table of keys, got {type(defaults).__name__}"
        raise InputError(msg)
    if not isinstance(cities, list) or not cities:
        msg = f"{source}: a manifest needs a non-empty list `cities` (TOML: [[cities]] tables)"
        raise InputError(msg)
    unknown = set(data) - {"defaults", "cities"}
    if unknown:
        msg = f"{source}: unknown top-level keys {sorted(unknown)}; use `defaults` and `cities`"
        raise InputError(msg)
    entries = [
        _entry(source, i, {**defaults, **raw} if isinstance(raw, dict) else raw)
        for i, raw in enumerate(cities)
    ]
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry.name in seen:
            msg = f"{source}: cities[{i}]: name {entry.name!r} is used twice; names must differ"
            raise InputError(msg)
        seen.add(entry.name)
    return entries


def _parse(source: Path) -> dict[str, Any]:
    suffix = source.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        msg = f"{source}: a manifest must be .toml, .yaml or .yml, got {suffix!r}"
        raise InputError(msg)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"{source}: cannot read the manifest ({exc})"
        raise InputError(msg) from exc
    try:
        if suffix == ".toml":
            data: object = tomllib.loads(text)
        else:
            import yaml  # noqa: PLC0415 - only YAML manifests need it

            data = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        msg = f"{source}: not valid {suffix.lstrip('.').upper()} ({exc})"
        raise InputError(msg) from exc
    except Exception as exc:  # yaml.YAMLError and its kin
        msg = f"{source}: not valid YAML ({exc})"
        raise InputError(msg) from exc
    if not isinstance(data, dict):
        msg = f"{source}: a manifest is a table with `defaults` and `cities`"
        raise InputError(msg)
    return cast("dict[str, Any]", data)


def _entry(source: Path, index: int, raw: object) -> CityEntry:
    where = f"{source}: cities[{index}]"
    if not isinstance(raw, dict):
        msg = f"{where}: each city is a table of keys, got {type(raw).__name__}"
        raise InputError(msg)
    known = {f.name for f in fields(CityEntry)}
    unknown = sorted(set(raw) - known)
    if unknown:
        msg = f"{where}: unknown keys {unknown}; keys are {', '.join(sorted(known))}"
        raise InputError(msg)
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        msg = f"{where}: field `name` must be letters, digits, '_', '.' or '-', got {name!r}"
        raise InputError(msg)
    values: dict[str, Any] = {"name": name}
    base = source.parent
    for key in _PATH_KEYS:
        if raw.get(key) is not None:
            values[key] = base / str(raw[key])
    if (values.get("city") is None) == (values.get("osm") is None):
        msg = f"{where} ({name}): give exactly one of `city` (a City folder) or `osm` (an extract)"
        raise InputError(msg)
    if raw.get("split") and values.get("city") is None:
        msg = f"{where} ({name}): `split` needs a City folder (`city`); import the extract first"
        raise InputError(msg)
    values.update(_options(where, name, raw))
    return CityEntry(**values)


def _options(where: str, name: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Check the entry's non-file settings."""
    out = _choices_and_numbers(where, name, raw)
    if raw.get("bbox") is not None:
        out["bbox"] = _bbox(where, name, raw["bbox"])
    if raw.get("admin_from_osm") is not None:
        out["admin_from_osm"] = str(raw["admin_from_osm"])
    return out


def _choices_and_numbers(where: str, name: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Check the choices, the seconds and ``split``."""
    choices = {"residences": ("buildings", "cells"),
               "population_level": ("district", "street", "community")}  # fmt: skip
    out: dict[str, Any] = {key: raw[key] for key in choices if key in raw}
    for key, value in out.items():
        if value not in choices[key]:
            msg = f"{where} ({name}): `{key}` must be one of {choices[key]}, got {value!r}"
            raise InputError(msg)
    for key in ("cutoff_s", "time_step_s"):
        if raw.get(key) is not None:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                msg = f"{where} ({name}): `{key}` must be a number of seconds > 0, got {value!r}"
                raise InputError(msg)
            out[key] = float(value)
    if "split" in raw:
        if not isinstance(raw["split"], bool):
            msg = f"{where} ({name}): `split` must be true or false, got {raw['split']!r}"
            raise InputError(msg)
        out["split"] = raw["split"]
    return out


def _bbox(where: str, name: str, box: object) -> tuple[float, float, float, float]:
    """Check a ``[west, south, east, north]`` box in degrees."""
    items = box if isinstance(box, list) else []
    values = [float(v) for v in items if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(values) != len(items) or len(values) != 4:  # noqa: PLR2004 - four sides
        values = [0.0, 0.0, 0.0, 0.0]
    if not (values[0] < values[2] and values[1] < values[3]):
        msg = f"{where} ({name}): `bbox` must be [west, south, east, north], got {box!r}"
        raise InputError(msg)
    return values[0], values[1], values[2], values[3]
