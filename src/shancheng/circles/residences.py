"""Where people live: residences as buildings or as population cells, with their units.

A residence is a point with a head count per age group and the codes of the units it belongs
to (district, street, community, unit-grid cell). Buildings are the finest choice; population
cells (the unit grid, or a population raster resampled to it) are what a city without building
data has, and are cheaper for a whole megacity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from shancheng.data.city import AGE_GROUPS
from shancheng.errors import InputError, MissingColumnError

if TYPE_CHECKING:
    from shancheng.data.city import City

UNIT_COLUMNS = ("district_code", "street_code", "community_code", "cell_id")
"""Unit columns of a residence, from district down to the unit-grid cell."""
POPULATION_COLUMNS = ("population", *AGE_GROUPS)


def residences_from_buildings(city: City) -> gpd.GeoDataFrame:
    """Residential buildings with people in them, as residences (footprints kept)."""
    buildings = city.buildings
    people = buildings[buildings["population"] > 0]
    frame = people[["building_id", "x_utm", "y_utm", *POPULATION_COLUMNS, *UNIT_COLUMNS]].copy()
    frame.insert(0, "residence_id", frame.pop("building_id").astype(str))
    return gpd.GeoDataFrame(frame, geometry=people.geometry, crs=buildings.crs).reset_index(
        drop=True
    )


def residences_from_cells(city: City) -> gpd.GeoDataFrame:
    """Gather the people of each unit-grid cell into one residence at the cell's centre.

    The cell's polygon is kept as geometry so results map as a grid; its centre (from
    ``grid_cells``) is where the cell meets the network.
    """
    buildings = city.buildings
    sums = buildings.groupby("cell_id", sort=True)[list(POPULATION_COLUMNS)].sum()
    sums = sums[sums["population"] > 0]
    cells = city.grid_cells.set_index("cell_id")
    missing = sums.index.difference(cells.index)
    if len(missing):
        msg = (
            f"buildings: field `cell_id`: {len(missing)} ids are not in grid_cells "
            f"(first: {missing[0]!r})"
        )
        raise InputError(msg)
    chosen = cells.loc[sums.index]
    frame = pd.DataFrame(
        {
            "residence_id": sums.index.astype(str),
            "x_utm": chosen["x_utm"].to_numpy(),
            "y_utm": chosen["y_utm"].to_numpy(),
            **{c: sums[c].to_numpy() for c in POPULATION_COLUMNS},
            "district_code": chosen["district_code"].to_numpy(),
            "street_code": chosen["street_code"].to_numpy(),
            "community_code": chosen["community_code"].to_numpy(),
            "cell_id": sums.index.to_numpy(),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=chosen.geometry.to_numpy(), crs=city.grid_cells.crs)


def check_residences(residences: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Refuse residences without coordinates or with negative or missing head counts.

    An age column that is empty throughout (NaN everywhere: a city without ages) is allowed;
    its age groups then count nobody, and a capacity norm per such a group falls back to all
    residents.

    Raises
    ------
    MissingColumnError
        A coordinate or population column the catalogue reads is absent.
    InputError
        A coordinate is not finite or a head count is negative or missing; the message
        names the row, the residence id and the field.
    """
    for column in ("residence_id", "x_utm", "y_utm", *columns):
        if column not in residences.columns:
            msg = (
                f"residences: required column `{column}` is missing "
                f"(found: {', '.join(map(str, residences.columns))})"
            )
            raise MissingColumnError(msg)
    for column, rule in (
        ("x_utm", "finite"),
        ("y_utm", "finite"),
        *((c, "count") for c in columns),
    ):
        values = pd.to_numeric(residences[column], errors="coerce").to_numpy(dtype=np.float64)
        if rule == "count" and column != "population" and np.isnan(values).all():
            continue  # ages unknown in this city
        ok = np.isfinite(values) & ((values >= 0) if rule == "count" else True)
        bad = np.flatnonzero(~ok)
        if bad.shape[0]:
            row = int(bad[0])
            what = "a finite coordinate" if rule == "finite" else "a head count >= 0"
            rid = plain_value(residences["residence_id"].iloc[row])
            found = plain_value(residences[column].iloc[row])
            msg = (
                f"residences row {row} (residence_id {rid!r}): "
                f"field `{column}` must be {what}, got {found!r}"
            )
            raise InputError(msg)


def plain_value(value: object) -> object:
    """Return a numpy scalar as the Python value it holds, for readable messages."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value
