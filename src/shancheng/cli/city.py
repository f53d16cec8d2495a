"""``shancheng city``: download an OpenStreetMap extract and import a real city."""

from __future__ import annotations

import warnings
from pathlib import Path

import shapely
import typer
from rich.console import Console
from rich.table import Table

from shancheng.data.assign import AdminSource, BoundarySource, PopulationSource
from shancheng.data.boundaries import read_area
from shancheng.data.fetch import GEOFABRIK_URL, fetch_region
from shancheng.data.importer import ImportOptions, import_city
from shancheng.data.levels import STOREY_M
from shancheng.data.osm_admin import admin_levels_for, parse_admin_levels
from shancheng.data.osm_tags import load_facility_tags
from shancheng.data.population import DEFAULT_LEVELS, MIN_HOME_M2, PERSONS_PER_M2
from shancheng.data.profile import MAX_WALK_GRADE, SMOOTHING_WINDOW_M
from shancheng.errors import FlatTerrainWarning, InputError
from shancheng.geo.crs import DATUMS
from shancheng.progress import progress_bar, step_reporter

city_app = typer.Typer(help="Real cities: fetch OpenStreetMap extracts and import them.",
                       no_args_is_help=True)  # fmt: skip
_console = Console()
_err = Console(stderr=True)
_IMPORT_STEPS = 6


@city_app.command("fetch")
def fetch_command(
    region: str = typer.Argument(help="Geofabrik region, e.g. chongqing or asia/china/chongqing."),
    out: Path = typer.Option(Path(), help="Folder to download into."),  # noqa: B008
    base_url: str = typer.Option(GEOFABRIK_URL, help="Mirror to download from."),
) -> None:
    """Download <region>-latest.osm.pbf, resuming a partial download, and check its MD5."""
    with progress_bar(f"downloading {region}", None) as advance:
        path = fetch_region(region, out, base_url=base_url, progress=advance)
    _console.print(f"downloaded {path} (checksum verified)")


@city_app.command("import")
def import_command(
    osm: Path = typer.Option(..., help="OpenStreetMap extract (.osm.pbf or .osm)."),  # noqa: B008
    out: Path = typer.Option(..., help="City folder to write (replaced atomically)."),  # noqa: B008
    name: str = typer.Option("city", help="Name of the city."),
    dem: Path | None = typer.Option(None, help="DEM: GeoTIFF or SRTM .hgt."),  # noqa: B008
    dem_crs: str | None = typer.Option(None, help="CRS of a DEM that declares none."),
    bbox: str | None = typer.Option(None, help="Clip to west,south,east,north (lon/lat)."),
    boundary: Path | None = typer.Option(None, help="Clip to the polygons of this file."),  # noqa: B008
    facility_tags: Path | None = typer.Option(None, help="OSM tag → category mapping (TOML)."),  # noqa: B008
    facilities: list[Path] = typer.Option([], help="Agency facility list (CSV/XLSX)."),  # noqa: B008
    facility_columns: Path | None = typer.Option(None, help="Column mapping (TOML)."),  # noqa: B008
    max_piece_m: float = typer.Option(30.0, help="DEM sampling spacing along streets, m."),
    riser_m: float = typer.Option(
        0.16, min=0.05, max=0.4, help="Height of one step; step_count x riser = a stair's climb, m."
    ),
    storey_m: float = typer.Option(
        STOREY_M, min=1.0, max=10.0, help="Height of one OSM level (lifts, stairs), m."
    ),
    smoothing_window_m: float = typer.Option(
        SMOOTHING_WINDOW_M, min=0.0, help="Moving-average window of the DEM along ways, m (0: off)."
    ),
    max_grade: float = typer.Option(
        MAX_WALK_GRADE, min=0.01, max=2.0, help="Steepest walking grade; steeper is capped."
    ),
    codes: list[Path] = typer.Option(  # noqa: B008
        [], help="Official code lists: districts, streets, communities CSVs (in that order)."
    ),
    district_polygons: Path | None = typer.Option(None, help="District boundary file."),  # noqa: B008
    street_polygons: Path | None = typer.Option(None, help="Street boundary file."),  # noqa: B008
    admin_from_osm: str | None = typer.Option(
        None, help="Units from the extract's boundaries: country code (MC, PT...) or 'default'."
    ),
    admin_levels: str | None = typer.Option(
        None, help="With --admin-from-osm: level=admin_level pairs, e.g. city=8,street=10."
    ),
    city_code: str | None = typer.Option(
        None, help="With --codes: the city unit's own code (Chongqing: 500000)."
    ),
    city_name: str | None = typer.Option(None, help="With --codes: the city unit's name."),
    code_scheme: str = typer.Option(
        "nbs", help="With --codes: 'nbs' (China's division codes, checked) or 'free' (any codes)."
    ),
    polygon_code_column: str = typer.Option("code", help="Code column of boundary files."),
    polygon_name_column: str = typer.Option("name", help="Name column of boundary files."),
    polygon_datum: str = typer.Option("wgs84", help="Datum of boundary files: wgs84/gcj02/bd09."),
    population_raster: Path | None = typer.Option(None, help="Population GeoTIFF."),  # noqa: B008
    population_counts: Path | None = typer.Option(  # noqa: B008
        None, help="CSV with code,population per unit."
    ),
    population_level: str = typer.Option("street", help="Level of --population-counts."),
    population_points: Path | None = typer.Option(  # noqa: B008
        None, help="CSV with lon,lat,population per address (WGS84)."
    ),
    persons_per_m2: float = typer.Option(
        PERSONS_PER_M2, min=0.0001, help="Residents per m² of floor area, for an estimate."
    ),
    default_levels: float = typer.Option(
        DEFAULT_LEVELS, min=0.5, help="Levels of a building without building:levels."
    ),
    min_home_m2: float = typer.Option(
        MIN_HOME_M2, min=0.0, help="Smallest footprint that can be a home, m²."
    ),
) -> None:
    """Build a City from OpenStreetMap, a DEM and facility lists; write it atomically."""
    if facilities and facility_columns is None:
        msg = "--facilities needs --facility-columns (the column-mapping TOML)"
        raise InputError(msg)
    options = ImportOptions(
        osm=osm, name=name, area=_area(bbox, boundary), dem=dem, dem_crs=dem_crs,
        max_piece_m=max_piece_m, riser_m=riser_m, facility_tags=load_facility_tags(facility_tags),
        smoothing_window_m=smoothing_window_m, max_grade=max_grade, storey_m=storey_m,
        facility_lists=tuple((path, facility_columns) for path in facilities
                             if facility_columns is not None),
        admin=_admin(codes, district_polygons, street_polygons, polygon_code_column,
                     polygon_name_column, polygon_datum, (city_code, city_name, code_scheme)),
        admin_osm_levels=_osm_levels(codes, admin_from_osm, admin_levels),
        population=_population(population_raster, population_counts, population_level,
                               population_points,
                               (persons_per_m2, default_levels, min_home_m2)),
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught, step_reporter("import", _IMPORT_STEPS) \
            as step:  # fmt: skip
        warnings.simplefilter("always", FlatTerrainWarning)
        _, report = import_city(options, out, step=step)
    shown = [str(warning.message) for warning in caught]
    for text in [*shown, *(w for w in report.warnings if w not in shown)]:
        _err.print(f"[bold yellow]WARNING:[/] {text}", highlight=False, soft_wrap=True)
    table = Table(title=f"City {name!r} written to {out}")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in report.figures.items():
        table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value))
    _console.print(table)
    for line in report.lines:
        _console.print(line, highlight=False)


def _admin(
    codes: list[Path],
    district_polygons: Path | None,
    street_polygons: Path | None,
    code_column: str,
    name_column: str,
    datum: str,
    city: tuple[str | None, str | None, str],
) -> AdminSource | None:
    city_code, city_name, scheme = city
    if not codes:
        if district_polygons or street_polygons:
            msg = "boundary polygons need the official code lists (--codes)"
            raise InputError(msg)
        if city_code is not None or city_name is not None:
            msg = "--city-code and --city-name name the city unit of --codes; give the code lists"
            raise InputError(msg)
        return None
    if not city_code or not city_name:
        msg = (
            "--codes needs --city-code and --city-name: the city unit's own code and name "
            "(Chongqing: --city-code 500000 --city-name 重庆市)"
        )
        raise InputError(msg)
    if scheme not in ("nbs", "free"):
        msg = f"--code-scheme must be 'nbs' (China's division codes) or 'free', got {scheme!r}"
        raise InputError(msg)
    if datum not in DATUMS:
        msg = f"--polygon-datum must be one of {', '.join(DATUMS)}, got {datum!r}"
        raise InputError(msg)
    polygons = tuple(
        BoundarySource(level, path, code_column, name_column, datum)  # type: ignore[arg-type]
        for level, path in (("district", district_polygons), ("street", street_polygons))
        if path is not None
    )
    files = [*codes, None, None][:3]
    return AdminSource(districts=codes[0], streets=files[1], communities=files[2],
                       city_code=city_code, city_name=city_name, polygons=polygons,
                       scheme="free" if scheme == "free" else "nbs")  # fmt: skip


def _osm_levels(
    codes: list[Path], country: str | None, levels: str | None
) -> dict[str, int] | None:
    if country is None:
        if levels is not None:
            msg = "--admin-levels needs --admin-from-osm (a country code or 'default')"
            raise InputError(msg)
        return None
    if codes:
        msg = "give either --codes (official lists) or --admin-from-osm, not both"
        raise InputError(msg)
    return admin_levels_for(country, parse_admin_levels(levels) if levels else None)


def _population(
    raster: Path | None,
    counts: Path | None,
    level: str,
    points: Path | None,
    settings: tuple[float, float, float],
) -> PopulationSource:
    given = [p for p in (raster, counts, points) if p is not None]
    if len(given) > 1:
        msg = "give one of --population-raster, --population-counts, --population-points"
        raise InputError(msg)
    if level not in ("district", "street", "community"):
        msg = f"--population-level must be district, street or community, got {level!r}"
        raise InputError(msg)
    return PopulationSource(  # level checked just above
        raster=raster,
        counts=counts,
        level=level,  # type: ignore[arg-type]
        points=points,
        persons_per_m2=settings[0],
        default_levels=settings[1],
        min_home_m2=settings[2],
    )


def _area(bbox: str | None, boundary: Path | None) -> shapely.Geometry | None:
    if bbox is not None and boundary is not None:
        msg = "give either --bbox or --boundary, not both"
        raise InputError(msg)
    if bbox is not None:
        try:
            west, south, east, north = (float(v) for v in bbox.split(","))
        except ValueError as exc:
            msg = f"--bbox must be west,south,east,north in degrees, got {bbox!r}"
            raise InputError(msg) from exc
        if not (west < east and south < north):
            msg = f"--bbox must have west < east and south < north, got {bbox!r}"
            raise InputError(msg)
        return shapely.box(west, south, east, north)
    if boundary is not None:
        return read_area(boundary)
    return None
