"""The bottleneck ranking on the demo city, checked against the demo's own record."""

from __future__ import annotations

import pandas as pd
import pytest

from shancheng.data.demo import generate_demo_city
from shancheng.errors import ConfigError
from shancheng.mobility.bottlenecks import WhatIf, analyse_bottlenecks, load_assumptions


@pytest.fixture(scope="module")
def demo():
    city = generate_demo_city()
    return city, analyse_bottlenecks(city)


def test_deliberate_steep_unprotected_gates_rank_at_the_top(demo):
    city, result = demo
    record = city.metadata["school_zones"]
    hazard = {f"gate:{f}" for f in record["steep_unprotected_main_crossings"]}
    protected = {f"gate:{f}" for f in record["signalised_main_crossings"]}
    gates = result.candidates[result.candidates["kind"] == "school_gate"]
    sites = len(hazard) // 2  # one primary and one middle school per site
    top = gates.head(sites)
    assert set(top["candidate_id"]) <= hazard
    assert top["reason"].str.contains("steep approach with neither crossing nor signal").all()
    # the hazard schools as a whole rank above the signalised ones, which cross main roads
    # only at signals
    rank = gates.set_index("candidate_id")["rank"]
    assert rank[list(hazard)].median() < rank[list(protected)].median()
    # every protected school crosses main roads, and only at signals
    assert (gates.loc[gates["candidate_id"].isin(protected), "unprotected_main"] == 0).all()


def test_a_what_if_signal_lowers_the_top_gate(demo):
    city, result = demo
    top = result.candidates.iloc[0]
    assert top["kind"] == "school_gate"
    fid = top["candidate_id"].removeprefix("gate:")
    c = result.zones.crossings
    worst = c[(c["facility_id"] == fid) & (c["control"] == "")]
    nodes = tuple(int(v) for v in worst["walk_node_id"].unique())
    after = analyse_bottlenecks(city, what_if=WhatIf(signals=nodes))
    moved = after.candidates.set_index("candidate_id").loc[top["candidate_id"]]
    assert moved["rank"] > 1
    assert moved["unprotected_main"] == 0


def test_reports_near_a_gate_count_as_evidence(demo):
    city, result = demo
    gate = result.zones.schools.iloc[0]
    reports = pd.DataFrame({"category": ["E0502"] * 3 + ["E0101"],
                            "x_utm": gate["x_utm"] + 10.0, "y_utm": gate["y_utm"],
                            "reported_at": pd.to_datetime(["2024-01-02", "2024-02-03",
                                                           "2024-05-01", "2024-01-02"])})  # fmt: skip
    out = analyse_bottlenecks(city, reports=reports)
    row = out.candidates.set_index("candidate_id").loc[f"gate:{gate['facility_id']}"]
    assert row["reports"] == 3
    counts = out.reports[out.reports["candidate_id"] == f"gate:{gate['facility_id']}"]
    assert counts.set_index("period")["reports"].to_dict() == {"2024Q1": 2, "2024Q2": 1}


def test_unknown_weight_is_refused(demo, tmp_path):
    city, _ = demo
    a = load_assumptions()
    a["weights"]["gate"]["sunshine"] = 1.0
    with pytest.raises(ConfigError, match="sunshine"):
        analyse_bottlenecks(city, assumptions=a)


def test_cli_writes_gpkg_csv_and_html(small_city, tmp_path):
    from typer.testing import CliRunner

    from shancheng.cli import app
    from shancheng.data.city import write_city

    write_city(small_city, tmp_path / "city")
    result = CliRunner().invoke(
        app,
        [
            "mobility",
            "bottlenecks",
            "--city",
            str(tmp_path / "city"),
            "--out",
            str(tmp_path / "out"),
            "--add-signal",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "bottlenecks.csv")
    assert {"rank", "score", "reason", "rank_before", "rank_change"} <= set(table.columns)
    assert (tmp_path / "out" / "bottlenecks.gpkg").stat().st_size > 0
    assert "Ranking" in (tmp_path / "out" / "bottlenecks.html").read_text(encoding="utf-8")
