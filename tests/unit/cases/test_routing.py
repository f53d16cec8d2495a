"""Routing on the small demo city: point → cell → community → street → district → department."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from shancheng.cases.domain import Level
from shancheng.cases.routing import (
    Assignment,
    JurisdictionRule,
    Location,
    common_level,
    escalate,
    route,
)
from shancheng.errors import CaseInputError, OutsideCityError


def test_locate_agrees_with_the_admin_polygons(small_city, admin_index):
    """Oracle: shapely containment in the City's own street/community/district polygons."""
    rng = np.random.default_rng(5)
    units = small_city.admin_units
    land = shapely.union_all(units[units.level == "district"].geometry.to_numpy())
    minx, miny, maxx, maxy = land.bounds
    checked = 0
    while checked < 150:
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        pt = shapely.Point(lon, lat)
        holders = units[units.geometry.contains(pt)]
        if len(holders) == 0:
            with pytest.raises(OutsideCityError, match="outside the city"):
                admin_index.locate(lon, lat)
            continue
        by_level = dict(zip(holders.level, holders.code, strict=True))
        if set(by_level) != {"city", "district", "street", "community"}:
            continue  # on a shared edge: ambiguous by polygons, skip
        loc = admin_index.locate(lon, lat)
        assert (loc.district_code, loc.street_code, loc.community_code, loc.city_code) == (
            by_level["district"],
            by_level["street"],
            by_level["community"],
            by_level["city"],
        )
        cell_poly = gpd.GeoSeries(admin_index.grid.cell_polygons([loc.cell_id]), crs=32648)
        assert cell_poly.to_crs(4326).iloc[0].buffer(1e-9).contains(pt)
        checked += 1


@pytest.mark.parametrize(
    ("lon", "lat", "field", "needle"),
    [
        (float("nan"), 29.5, "long", "finite"),
        (106.5, 91.0, "lat", "in \\[-90"),
        ("106.5", 29.5, "long", "number"),
        (True, 29.5, "long", "number"),
    ],
)
def test_malformed_coordinates_name_the_field(admin_index, lon, lat, field, needle):
    with pytest.raises(CaseInputError, match=needle) as info:
        admin_index.locate(lon, lat)
    assert info.value.field == field


def test_point_outside_the_city(admin_index):
    with pytest.raises(OutsideCityError, match="lon=116.4, lat=39.9"):
        admin_index.locate(116.4, 39.9)  # Beijing


def test_geocode_names_of_places(admin_index, small_city):
    street = small_city.admin_units.query("level == 'street'").iloc[0]
    lon, lat = admin_index.geocode(f" {street['name']} ")
    assert admin_index.locate(lon, lat).street_code == street["code"]
    with pytest.raises(CaseInputError, match="matches no named place"):
        admin_index.geocode("Atlantis 99")


LOC = Location(106.5, 29.5, 0, 0, 7, "990101001001", "990101001", "990101", "990100")


def test_jurisdiction_table_most_specific_rule_wins(taxonomy):
    parking = taxonomy.category("E0502")  # illegal parking: traffic police, street level
    rules = [
        JurisdictionRule("*", "990101", "district_government", Level.DISTRICT),
        JurisdictionRule("E05", "*", "city_management", Level.STREET),
        JurisdictionRule("E0502", "990101", "public_security", Level.DISTRICT),
        JurisdictionRule("E0502", "990101001", "city_management", Level.STREET),
        JurisdictionRule("E0502", "990102001", "gardens", Level.CITY),  # another street
    ]
    assert route(parking, LOC, default_department="street_office") == Assignment(
        "traffic_police", Level.STREET, "990101001"
    )
    assert route(parking, LOC, rules[:1], default_department="street_office") == Assignment(
        "district_government", Level.DISTRICT, "990101"
    )
    assert route(parking, LOC, rules[:2], default_department="street_office").department == (
        "city_management"
    )
    assert route(parking, LOC, rules[:3], default_department="street_office") == Assignment(
        "public_security", Level.DISTRICT, "990101"
    )
    assert route(parking, LOC, rules, default_department="street_office") == Assignment(
        "city_management", Level.STREET, "990101001"
    )


def test_default_owner_takes_orphans(taxonomy):
    gas = taxonomy.category("E0411")
    assert route(gas, LOC, default_department="street_office") == Assignment(
        "gas_utility", Level.CITY, "990100"
    )
    orphan = route(
        gas,
        LOC,
        default_department="street_office",
        active_departments={"street_office", "sanitation"},
    )
    assert orphan == Assignment("street_office", Level.STREET, "990101001")


def test_escalation_chain_and_cross_boundary():
    a = Assignment("sanitation", Level.STREET, "990101001")
    b = escalate(a, LOC)
    c = escalate(b, LOC)
    assert (b.level, b.unit_code, c.level, c.unit_code) == (
        Level.DISTRICT,
        "990101",
        Level.CITY,
        "990100",
    )
    with pytest.raises(ValueError, match="above city"):
        escalate(c, LOC)
    same_street = Location(0, 0, 0, 0, 8, "990101001002", "990101001", "990101", "990100")
    other_street = Location(0, 0, 0, 0, 9, "990101002001", "990101002", "990101", "990100")
    other_district = Location(0, 0, 0, 0, 9, "990102001001", "990102001", "990102", "990100")
    assert common_level([LOC, same_street]) is Level.STREET
    assert common_level([LOC, other_street]) is Level.DISTRICT
    assert common_level([LOC, other_district]) is Level.CITY


def test_locate_projects_in_the_citys_own_utm_zone(admin_index):
    """A city in another UTM zone (e.g. an imported European extract) routes in its own zone."""
    import dataclasses

    from shancheng.geo.crs import utm_to_lonlat

    cell = sorted(admin_index.cell_units)[len(admin_index.cell_units) // 2]
    x, y = admin_index.grid.cell_center([cell])
    elsewhere = dataclasses.replace(admin_index, crs_epsg=32632)  # same grid, zone 32N
    lon, lat = utm_to_lonlat(x, y, epsg=32632)
    assert elsewhere.locate(float(lon[0]), float(lat[0])).cell_id == cell
    # the same WGS84 point read in Chongqing's zone lies far outside the grid
    with pytest.raises(OutsideCityError):
        admin_index.locate(float(lon[0]), float(lat[0]))
