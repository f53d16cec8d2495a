from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from shancheng.errors import PipeNetworkError
from shancheng.lifelines.pipes import build_network, read_gaslib, read_geojson, read_inp

DATA = Path(__file__).resolve().parents[2] / "data" / "lifelines"


def test_corrupt_inp_names_the_file():
    with pytest.raises(PipeNetworkError, match=r"bad_corrupt\.inp, line 13: \[PIPES\] length "
                       r"must be a number, got 'abc'"):  # fmt: skip
        read_inp(DATA / "bad_corrupt.inp")


def test_missing_inp_is_refused(tmp_path):
    with pytest.raises(PipeNetworkError, match="no such EPANET"):
        read_inp(tmp_path / "none.inp")


def test_geojson_problems_are_all_listed_by_id():
    with pytest.raises(PipeNetworkError) as info:
        read_geojson(DATA / "bad_refs.geojson", "gas")
    text = str(info.value)
    assert "node 'J1': duplicate node id" in text
    assert "link 'P2': unknown node 'J9'" in text
    assert "link 'P3': dangling, both ends are node 'J1'" in text
    assert "3 problem(s)" in text


def test_geojson_gas_network_reads_lengths_and_valves():
    net = read_geojson(DATA / "gas_small.geojson", "gas")
    assert net.n_nodes == 3
    assert net.n_links == 2
    # 0.001 degree of longitude at 29.56 N is about 96.8 m
    assert net.links["length_m"].iloc[0] == pytest.approx(96.8, abs=0.2)
    assert net.valves[["link_id", "node_id"]].values.tolist() == [["P2", "J1"]]
    assert net.nodes.set_index("node_id").loc["C1", "population"] == 40


def test_dangling_link_without_end_is_reported():
    nodes = pd.DataFrame({"node_id": ["a"], "kind": ["junction"]})
    links = pd.DataFrame(
        {"link_id": ["x"], "kind": ["pipe"], "from_node": ["a"], "to_node": [None]}
    )
    with pytest.raises(PipeNetworkError, match="link 'x': dangling, an end node is missing"):
        build_network("water", nodes, links, source="t")


def test_valve_not_at_a_link_end_is_reported(tree):
    with pytest.raises(PipeNetworkError, match="node 'J3' is not an end of link 'p1'"):
        tree.with_valves(pd.DataFrame({"link": ["p1"], "node": ["J3"]}))


@pytest.mark.data
def test_ltown_loads_with_its_published_size(shared_data):
    net = read_inp(shared_data / "lifelines" / "battledim_ltown" / "L-TOWN.inp")
    kinds = net.links["kind"].value_counts()
    assert (net.nodes["kind"] == "junction").sum() == 782
    assert kinds["pipe"] == 905
    assert kinds["control_valve"] == 3
    assert net.links.loc[net.links["kind"] == "pipe", "length_m"].sum() / 1e3 == pytest.approx(
        43.2, abs=0.05
    )


@pytest.mark.data
def test_gaslib_11_topology(shared_data):
    net = read_gaslib(shared_data / "lifelines" / "gaslib" / "GasLib-11.zip")
    kinds = net.nodes["kind"].value_counts()
    assert (kinds["source"], kinds["sink"], kinds["junction"]) == (3, 3, 5)
    links = net.links["kind"].value_counts()
    assert (links["pipe"], links["valve"], links["compressor"]) == (8, 1, 2)
    assert net.valves[["link_id", "node_id"]].values.tolist() == [["V01_N01_N03", "N01"]]


@pytest.mark.data
def test_gaslib_wrong_unit_names_link_and_unit(shared_data, tmp_path):
    with zipfile.ZipFile(shared_data / "lifelines" / "gaslib" / "GasLib-11.zip") as archive:
        name = next(n for n in archive.namelist() if n.endswith(".net"))
        text = archive.read(name).decode()
    bad = tmp_path / "bad_unit.net"
    bad.write_text(text.replace('unit="km"', 'unit="furlong"', 1))
    with pytest.raises(
        PipeNetworkError, match=r"`length` unit must be one of \['km', 'm'\], got 'furlong'"
    ):
        read_gaslib(bad)


def test_swmm_drainage_topology_in_metres():
    from shancheng.lifelines.swmm import read_swmm

    net = read_swmm(DATA / "drainage_small.inp")
    assert net.network == "drainage"
    kinds = dict(zip(net.nodes["node_id"], net.nodes["kind"], strict=True))
    assert kinds == {"M1": "manhole", "M2": "manhole", "O1": "outfall", "S1": "tank"}
    c2 = net.links.set_index("link_id").loc["C2"]
    assert (c2["length_m"], c2["diameter_mm"]) == (80.5, 800.0)
    assert net.links.set_index("link_id").loc["P1", "kind"] == "pump"


def test_swmm_us_units_are_converted(tmp_path):
    from shancheng.lifelines.swmm import read_swmm

    text = (DATA / "drainage_small.inp").read_text().replace("CMS", "CFS")
    (tmp_path / "us.inp").write_text(text)
    c1 = read_swmm(tmp_path / "us.inp").links.set_index("link_id").loc["C1"]
    assert c1["length_m"] == pytest.approx(120.0 * 0.3048)
    assert c1["diameter_mm"] == pytest.approx(0.6 * 304.8)


def test_swmm_unknown_node_and_bad_units_are_named(tmp_path):
    from shancheng.lifelines.swmm import read_swmm

    with pytest.raises(PipeNetworkError, match=r"line 21: \[CONDUITS\] undefined node 'O9'"):
        read_swmm(DATA / "bad_drainage_unknown_node.inp")
    text = (DATA / "drainage_small.inp").read_text().replace("CMS", "FURLONGS")
    (tmp_path / "bad.inp").write_text(text)
    with pytest.raises(
        PipeNetworkError, match=r"line 5: FLOW_UNITS must be one of .* got 'FURLONGS'"
    ):
        read_swmm(tmp_path / "bad.inp")
