"""``GET /mobility/bottlenecks``: the ranked list and its GeoJSON layer, public."""

from __future__ import annotations


def test_bottlenecks_ranked_list_and_layer(dash):
    client = dash.client
    rows = client.get("/mobility/bottlenecks", params={"limit": 5}).json()
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
    assert len(rows) == 5
    first = rows[0]
    assert abs(sum(first["components"].values()) - first["score"]) < 1e-3
    assert first["reason"]
    gates = client.get("/mobility/bottlenecks", params={"kind": "school_gate"}).json()
    assert {r["kind"] for r in gates} == {"school_gate"}
    layer = client.get("/mobility/bottlenecks.geojson", params={"limit": 3}).json()
    assert layer["type"] == "FeatureCollection" and len(layer["features"]) == 3
