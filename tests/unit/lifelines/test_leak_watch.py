"""SCADA readers and the leak watch: hand cases, the noise model, and the real 2019 flows."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from shancheng.cli import main
from shancheng.errors import InputError
from shancheng.lifelines.alarms import AlarmState, RuleKind
from shancheng.lifelines.leak_watch import (
    NoiseModel,
    calibrate_threshold,
    learn_noise,
    metered_zones,
    write_submission,
)
from shancheng.lifelines.leaks import Leak, pipe_centre_distances
from shancheng.lifelines.pipes import build_network, read_inp
from shancheng.lifelines.repository import list_alarms
from shancheng.lifelines.scada import read_battledim_csv, read_long_table, read_scada_dir
from shancheng.lifelines.scada_simulation import simulate_scada_year
from shancheng.lifelines.water_balance import flow_steps


def _net():
    # R -m1- a -p- b =pump m2=> c -q- T (tank); demands at a, b, c
    nodes = pd.DataFrame({"node_id": ["R", "a", "b", "c", "T"],
                          "kind": ["source", "junction", "junction", "junction", "tank"],
                          "demand": [0, 1.0, 1.0, 1.0, 0]})  # fmt: skip
    links = pd.DataFrame({"link_id": ["m1", "p", "m2", "q"],
                          "kind": ["pipe", "pipe", "pump", "pipe"],
                          "from_node": ["R", "a", "b", "c"], "to_node": ["a", "b", "c", "T"],
                          "length_m": [10.0, 10.0, 0.0, 10.0]})  # fmt: skip
    return build_network("water", nodes, links, source="hand")


def test_zones_are_what_the_meters_cut_off():
    zones = metered_zones(_net(), ["m1", "m2"], ["T"], {"T": 20.0})
    assert [(z.name, z.inflows, z.outflows, z.tanks) for z in zones] == [
        ("m1", ("m1",), ("m2",), ()),
        ("m2", ("m2",), (), (("T", 20.0),)),
    ]


def test_a_zone_whose_tank_has_no_level_sensor_is_left_out():
    zones = metered_zones(_net(), ["m1", "m2"], [], {"T": 20.0})
    assert [z.name for z in zones] == ["m1"]


def test_unknown_meter_is_refused():
    with pytest.raises(InputError, match="flow sensor\\(s\\) x9 are not links of hand"):
        metered_zones(_net(), ["x9"], [], {})


def test_noise_model_recovers_a_known_ar1_and_ignores_a_step():
    rng = np.random.default_rng(1)
    series = NoiseModel(3.0, 0.5).simulate(5000, rng)
    series[2500:] += 40.0  # a leak: one big difference
    fitted = learn_noise(series)
    assert fitted.sd_m3_h == pytest.approx(3.0, rel=0.1)
    assert fitted.phi == pytest.approx(0.5, abs=0.1)


def test_threshold_meets_the_false_alarm_target_on_fresh_noise():
    noise = NoiseModel(2.0, 0.3)
    h_sd, rate = calibrate_threshold(noise, alarms_per_month=0.5, n_years=30, seed=3)
    assert rate <= 0.5
    # checked on noise the calibration never saw
    rng = np.random.default_rng(99)
    alarms = sum(
        sum(s.size_m3_h > 0 for s in flow_steps(noise.simulate(365, rng), sd=2.0, h_sd=h_sd,
                                                settle_days=3))
        for _ in range(30)
    )  # fmt: skip
    assert alarms / (30 * 12) <= 0.5 * 1.5  # within sampling error of the target
    # a looser target buys a lower threshold, a stricter one a higher
    assert calibrate_threshold(noise, alarms_per_month=3.0, n_years=30, seed=3)[0] < h_sd
    assert calibrate_threshold(noise, alarms_per_month=0.1, n_years=30, seed=3)[0] > h_sd


def test_submission_lists_pipes_when_named_and_comments_zones(tmp_path):
    leaks = pd.DataFrame({"zone": ["C", "AB", "AB"], "link_id": ["p257", "", "p31"],
                          "start_time": pd.to_datetime(["2019-01-01 02:00", "2019-02-03 02:00",
                                                        "2019-03-01 02:00"]),
                          "alarm_time": pd.to_datetime(["2019-01-03 05:00", "2019-02-04 05:00",
                                                        "2019-03-02 05:00"]),
                          "placed_time": pd.to_datetime([None, None, "2019-03-05 05:00"]),
                          "size_m3_h": [3.0, 5.5, 4.0]})  # fmt: skip
    text = write_submission(leaks, tmp_path / "s.txt").read_text()
    assert text.splitlines() == [
        "# linkID, startTime, endTime, leakDiameter (m), leakType, peakTime",
        "p257, 2019-01-03 05:00",  # no placing night given: the alarm's
        "# zone AB, 2019-02-03 02:00, 5.5 m3/h (flows locate a zone)",
        "p31, 2019-03-05 05:00",  # named three nights after the alarm: dated then
    ]


def test_battledim_csv_bad_number_names_the_line(tmp_path):
    path = tmp_path / "2019_SCADA_Flows.csv"
    path.write_text("Timestamp;p227\n2019-01-01 00:00:00;88,14\n2019-01-01 00:05:00;8x,1\n")
    with pytest.raises(InputError, match=r"2019_SCADA_Flows.csv, line 3: `p227` is not a number"):
        read_battledim_csv(path)


def test_battledim_csv_time_twice_names_the_line(tmp_path):
    path = tmp_path / "2019_SCADA_Flows.csv"
    path.write_text("Timestamp;p227\n2019-01-01 00:00:00;1,0\n2019-01-01 00:00:00;2,0\n")
    with pytest.raises(InputError, match=r"line 3: time 2019-01-01 00:00:00 is given twice"):
        read_battledim_csv(path)


def test_long_table_pivots_and_refuses_a_repeat(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("sensor,time,value\nm1,2019-01-01T00:00,1.5\nT,2019-01-01T00:00,3\n"
                    "m1,2019-01-01T00:05,2.5\n")  # fmt: skip
    wide = read_long_table(path)
    assert wide["m1"].tolist() == [1.5, 2.5]
    assert np.isnan(wide["T"].iloc[1])
    path.write_text("sensor,time,value\nm1,2019-01-01T00:00,1.5\nm1,2019-01-01T00:00,2\n")
    with pytest.raises(InputError, match="line 3: sensor 'm1' has a reading at"):
        read_long_table(path)


def test_long_table_sensors_are_sorted_by_what_they_are(tmp_path):
    (tmp_path / "r.csv").write_text("sensor,time,value\nm1,2019-01-01T00:00,1.5\n"
                                    "T,2019-01-01T00:00,3\nb,2019-01-01T00:00,40\n")  # fmt: skip
    scada = read_scada_dir(tmp_path, _net())
    assert (list(scada.flows_m3_h), list(scada.levels_m), list(scada.pressures_m)) == (
        ["m1"], ["T"], ["b"])  # fmt: skip
    (tmp_path / "r.csv").write_text("sensor,time,value\nzz,2019-01-01T00:00,1.5\n")
    with pytest.raises(InputError, match="sensor\\(s\\) zz are no link or node of hand"):
        read_scada_dir(tmp_path, _net())


@pytest.mark.data
def test_real_2019_files_read_as_the_provenance_says(shared_data):
    folder = shared_data / "lifelines" / "battledim_ltown"
    net = read_inp(folder / "L-TOWN.inp")
    scada = read_scada_dir(folder, net)
    assert scada.flows_m3_h.shape == (105_120, 3)
    assert list(scada.flows_m3_h.columns) == ["p227", "p235", "PUMP_1"]
    assert scada.flows_m3_h["p227"].iloc[0] == pytest.approx(88.14)  # first row, decimal comma
    assert scada.levels_m["T1"].iloc[0] == pytest.approx(3.41)
    assert scada.flows_m3_h.index[-1] == pd.Timestamp("2019-12-31 23:55")


@pytest.mark.data
def test_leaks_detect_end_to_end_on_the_real_2019_flows(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("SHANCHENG_QUIET", "1")
    monkeypatch.setenv("SHANCHENG_DATA_DIR", str(tmp_path / "data"))  # SQLite store there
    folder = shared_data / "lifelines" / "battledim_ltown"
    argv = ["lifelines", "leaks", "detect", "--network", str(folder / "L-TOWN.inp"),
            "--scada", str(folder), "--out", str(tmp_path), "--store"]  # fmt: skip
    assert main(argv) == 0
    leaks = pd.read_csv(tmp_path / "leaks.csv", parse_dates=["start_time", "alarm_time"])
    # L-Town's two metered zones, as the benchmark draws them by hand: AB fed by the reservoir
    # pipes (less the pump), C fed by the pump (with the tank)
    assert set(leaks["zone"]) <= {"p227+p235", "PUMP_1"}
    assert (leaks["alarm_time"] >= leaks["start_time"]).all()
    assert (leaks["size_m3_h"] > 0).all()
    assert leaks["link_id"].isna().all()  # flows alone name no pipe
    submission = (tmp_path / "submission.txt").read_text().splitlines()
    assert submission[0].startswith("# linkID, startTime")
    assert all(line.startswith("# zone ") for line in submission[1:])
    alarms = pd.read_csv(tmp_path / "alarms.csv")
    assert len(alarms) == len(leaks)
    assert set(alarms["rule"]) == {"leak"}
    # the same alarms are raised in the store the dashboard lists
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'shancheng.sqlite'}")
    with engine.connect() as conn:
        stored = list_alarms(conn)
    engine.dispose()
    assert sorted(a.alarm_id for a in stored) == sorted(alarms["alarm_id"])
    assert {(a.rule, a.state) for a in stored} == {(RuleKind.LEAK, AlarmState.RAISED)}
    assert sorted(a.value for a in stored) == pytest.approx(sorted(leaks["size_m3_h"]))


@pytest.mark.data
@pytest.mark.slow
def test_with_pressures_the_command_names_a_pipe_near_the_leak(shared_data, tmp_path, monkeypatch):
    """Four simulated weeks of L-Town with one abrupt leak on p538 from day 14, as CSV files."""
    monkeypatch.setenv("SHANCHENG_QUIET", "1")
    folder = shared_data / "lifelines" / "battledim_ltown"
    config = (folder / "dataset_configuration_historical_2018.yalm").read_text()
    block = config.split("pressure_sensors:")[1].split("flow_sensors:")[0]
    sensors = [line.strip()[2:] for line in block.splitlines() if line.strip().startswith("- ")]
    start = datetime(2018, 1, 1)
    leak = Leak("p538", start + timedelta(days=14), start + timedelta(days=28), 0.02, "abrupt",
                start + timedelta(days=14))  # fmt: skip
    year = simulate_scada_year(folder / "L-TOWN.inp", [leak], sensors, start=start, days=28,
                               seed=5)  # fmt: skip
    scada = tmp_path / "scada"
    scada.mkdir()
    for name, frame in (("Flows", year.flow_m3_h), ("Levels", year.level_m),
                        ("Pressures", year.pressure_m)):  # fmt: skip
        path = scada / f"2018_SCADA_{name}.csv"
        frame.rename_axis("Timestamp").to_csv(path, sep=";", decimal=",",
                                              date_format="%Y-%m-%d %H:%M:%S")  # fmt: skip
    argv = ["lifelines", "leaks", "detect", "--network", str(folder / "L-TOWN.inp"),
            "--scada", str(scada), "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 0
    leaks = pd.read_csv(tmp_path / "out" / "leaks.csv",
                        parse_dates=["start_time", "alarm_time", "placed_time"])  # fmt: skip
    leaks["link_id"] = leaks["link_id"].fillna("")
    hit = leaks[(leaks["alarm_time"] >= leak.start)
                & (leaks["alarm_time"] <= leak.start + timedelta(days=3))]  # fmt: skip
    assert len(hit) == 1
    row = hit.iloc[0]
    assert row["zone"] == "p227+p235"
    assert row["size_m3_h"] > 15  # the orifice gives about 27 m3/h
    net = read_inp(folder / "L-TOWN.inp")
    column = int(np.flatnonzero(net.links["link_id"].to_numpy() == row["link_id"])[0])
    distance_m = pipe_centre_distances(net, ["p538"])[0][column]
    print(f"placed on {row['link_id']}, {distance_m:.0f} m from p538")  # noqa: T201 - for -s
    assert distance_m <= 300  # a hit by the official rule
    submission = (tmp_path / "out" / "submission.txt").read_text().splitlines()
    assert row["placed_time"] >= row["alarm_time"]
    assert f"{row['link_id']}, {row['placed_time']:%Y-%m-%d %H:%M}" in submission
