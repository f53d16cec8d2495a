"""Our MVT encoder against mapbox-vector-tile: the same features, decoded by its reader."""

from __future__ import annotations

import mapbox_vector_tile
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from shancheng.tiles.mvt import encode_layer

OPTIONS = {"y_coord_down": True}


def decode(data: bytes, name: str) -> list[dict]:
    return mapbox_vector_tile.decode(data, default_options=OPTIONS)[name]["features"]


def theirs(name, geoms, props) -> list[dict]:
    features = [{"geometry": g, "properties": p} for g, p in zip(geoms, props, strict=True)]
    data = mapbox_vector_tile.encode([{"name": name, "features": features}],
                                     default_options=OPTIONS)  # fmt: skip
    return decode(data, name)


def signed_area(ring) -> float:
    r = np.asarray(ring, dtype=float)
    return 0.5 * float(np.sum(r[:-1, 0] * r[1:, 1] - r[1:, 0] * r[:-1, 1]))


# integer vertices plus noise under half a unit: rounding gives back the integer grid
noise = st.floats(-0.45, 0.45)
point = st.tuples(st.integers(-64, 4160), st.integers(-64, 4160), noise, noise).map(
    lambda t: (t[0] + t[2], t[1] + t[3])
)


@st.composite
def lines(draw):
    pts = draw(st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 4096)), min_size=2,
                        max_size=8, unique=True))  # fmt: skip
    jitter = draw(st.lists(st.tuples(noise, noise), min_size=len(pts), max_size=len(pts)))
    return shapely.LineString([(x + a, y + b) for (x, y), (a, b) in zip(pts, jitter, strict=True)])


@st.composite
def boxes(draw):
    x0, y0 = draw(st.integers(0, 3000)), draw(st.integers(0, 3000))
    w, h = draw(st.integers(10, 1000)), draw(st.integers(10, 1000))
    hole = draw(st.booleans())
    outer = shapely.box(x0, y0, x0 + w, y0 + h, ccw=draw(st.booleans()))
    if hole:
        outer = shapely.Polygon(
            outer.exterior, [shapely.box(x0 + 2, y0 + 2, x0 + 5, y0 + 5).exterior]
        )
    return outer


values = st.one_of(st.none(), st.integers(-(2**40), 2**40), st.text(max_size=5),
                   st.floats(allow_nan=False, allow_infinity=False), st.booleans())  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(lines(), values, values), min_size=1, max_size=12))
def test_lines_and_attributes_equal_the_reference_encoder(rows):
    geoms = [r[0] for r in rows]
    frame = pd.DataFrame({"a": pd.Series([r[1] for r in rows], dtype=object),
                          "b": pd.Series([r[2] for r in rows], dtype=object)})  # fmt: skip
    ours = decode(encode_layer("l", "line", np.array(geoms, dtype=object), frame), "l")
    ref = theirs("l", geoms, [{k: v for k, v in (("a", r[1]), ("b", r[2])) if v is not None}
                              for r in rows])  # fmt: skip
    assert len(ours) == len(ref)
    for mine, other in zip(ours, ref, strict=True):
        assert mine["properties"] == other["properties"]
        assert mine["geometry"] == other["geometry"]


@settings(max_examples=60, deadline=None)
@given(st.lists(boxes(), min_size=1, max_size=8))
def test_polygons_match_the_reference_and_are_wound_as_the_spec_says(polys):
    ours = decode(encode_layer("g", "polygon", np.array(polys, dtype=object),
                               pd.DataFrame({"i": range(len(polys))})), "g")  # fmt: skip
    ref = theirs("g", polys, [{"i": i} for i in range(len(polys))])
    assert [f["properties"] for f in ours] == [f["properties"] for f in ref]
    for mine, other in zip(ours, ref, strict=True):
        assert shape(mine["geometry"]).equals(shape(other["geometry"]))
        rings = mine["geometry"]["coordinates"]
        assert signed_area(rings[0]) > 0
        assert all(signed_area(r) < 0 for r in rings[1:])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(point, min_size=1, max_size=4), min_size=1, max_size=10))
def test_points_and_multipoints_match_the_reference(groups):
    geoms = [shapely.Point(g[0]) if len(g) == 1 else shapely.MultiPoint(g) for g in groups]
    ours = decode(encode_layer("p", "point", np.array(geoms, dtype=object),
                               pd.DataFrame({"n": [len(g) for g in groups]})), "p")  # fmt: skip
    ref = theirs("p", geoms, [{"n": len(g)} for g in groups])
    assert ours == ref


def test_lines_that_round_to_one_point_and_collapsed_rings_are_dropped():
    geoms = np.array([shapely.LineString([(1.1, 1.1), (1.2, 0.9)]),
                      shapely.LineString([(0, 0), (0, 0.2), (5, 5)])], dtype=object)  # fmt: skip
    features = decode(encode_layer("l", "line", geoms, pd.DataFrame({"i": [0, 1]})), "l")
    assert [f["properties"]["i"] for f in features] == [1]
    assert features[0]["geometry"]["coordinates"] == [[0, 0], [5, 5]]  # no repeated point
    tiny = np.array([shapely.box(10, 10, 10.3, 10.3)], dtype=object)
    assert encode_layer("g", "polygon", tiny, pd.DataFrame({"i": [0]})) == b""


def test_a_hole_whose_outer_ring_vanished_goes_with_it():
    outer = shapely.Polygon([(0, 0), (0.3, 0), (0.3, 0.3), (0, 0.3)])
    kept = shapely.box(100, 100, 200, 200)
    geoms = np.array([shapely.MultiPolygon([outer, kept])], dtype=object)
    (feature,) = decode(encode_layer("g", "polygon", geoms, pd.DataFrame({"i": [0]})), "g")
    assert shape(feature["geometry"]).equals(kept)


@pytest.mark.parametrize("value", [0, 1, -1, 2**31, -(2**40), 63, 64, 8191, 8192])
def test_integers_survive_zigzag_and_varints(value):
    geoms = np.array([shapely.Point(1, 1)], dtype=object)
    (feature,) = decode(encode_layer("p", "point", geoms, pd.DataFrame({"v": [value]})), "p")
    assert feature["properties"] == {"v": value}
