"""``shancheng lifelines isolate|validate`` on a network file plus a valve layer (no City)."""

from __future__ import annotations

import pytest

from shancheng.cli import main

wntr = pytest.importorskip("wntr")


@pytest.fixture
def ltown(shared_data):
    return shared_data / "lifelines" / "battledim_ltown" / "L-TOWN.inp"


@pytest.fixture
def layer_csv(ltown, tmp_path):
    wn = wntr.network.WaterNetworkModel(str(ltown))
    path = tmp_path / "valves.csv"
    wntr.network.generate_valve_layer(wn, "strategic", 1, seed=11).to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("SHANCHENG_QUIET", "1")


@pytest.mark.data
def test_isolate_a_break_the_valves_cannot_cut_off_exits_3(ltown, layer_csv, capsys):
    argv = ["lifelines", "isolate", "p227", "--file", str(ltown), "--network", "water",
            "--valves", str(layer_csv)]  # fmt: skip
    assert main(argv) == 3
    out = " ".join(capsys.readouterr().out.split())
    assert "NOT ISOLATED: R1 still reach the break" in out
    assert "source R1 lies inside the break's segment" in out


@pytest.mark.data
def test_isolate_an_ordinary_pipe_is_checked_and_counts_customers(ltown, layer_csv, capsys):
    argv = ["lifelines", "isolate", "p300", "--file", str(ltown), "--network", "water",
            "--valves", str(layer_csv)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "isolated: no source reaches the break (checked)" in out
    assert "customers: 1" in out  # n, the demand junction of p300's segment


@pytest.mark.data
def test_a_bad_valve_layer_row_is_named_by_line(ltown, tmp_path, capsys):
    bad = tmp_path / "valves.csv"
    bad.write_text("link,node\np5,n2\np99999,n2\np5,n7\n")
    argv = ["lifelines", "isolate", "p5", "--file", str(ltown), "--network", "water",
            "--valves", str(bad)]  # fmt: skip
    assert main(argv) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"{bad}, line 3: unknown link 'p99999'" in err
    assert f"{bad}, line 4: node 'n7' is not an end of link 'p5' (ends 'n3', 'n2')" in err


def test_a_network_choice_that_is_not_one_is_refused(tmp_path, capsys):
    assert main(["lifelines", "validate", str(tmp_path / "x.inp"), "--network", "drainag"]) == 2
    assert "'drainag' is not one of 'water', 'gas', 'drainage'" in capsys.readouterr().err


def test_valves_without_a_file_are_refused(tmp_path, capsys):
    assert main(["lifelines", "isolate", "p1", "--valves", str(tmp_path / "v.csv")]) == 1
    assert "--valves needs --file" in capsys.readouterr().err
