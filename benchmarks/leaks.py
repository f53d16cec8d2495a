"""BattLeDIM on L-Town, training year 2018: simulate, tune the detector, score it.

The 2018 SCADA pressures are not in ../shared/data, so the year is simulated from
L-TOWN.inp and the 2018 leak configuration (shancheng.lifelines.leak_detection,
module docstring: demand error and noise, orifice leaks). The detector's parameters are tuned
on this year by grid search on the official score, and the best is reported with its leaks
found and false alarms. It is a *training* score: the 2019 evaluation year is held back.

The simulation (two one-year EPANET runs, ~5 min) and the node signatures are cached in
data/cache/ (git-ignored); --fresh recomputes them.

    .venv/bin/python benchmarks/leaks.py [--fresh]
"""

from __future__ import annotations

import argparse
import itertools
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from shancheng.lifelines.leak_detection import (
    DetectorSettings,
    SimulatedYear,
    detect_leaks,
    node_signatures,
    pipe_signatures,
    simulate_battledim_year,
)
from shancheng.lifelines.leaks import read_leak_configuration, score_detections
from shancheng.lifelines.pipes import read_inp

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "lifelines" / "battledim_ltown"
CACHE = ROOT / "data" / "cache"
START = datetime(2018, 1, 1)
GRID = {
    "threshold_m": [0.05, 0.1, 0.15, 0.2, 0.3],
    "window_days": [7, 14],
    "lag_days": [1, 2],
    "cooldown_days": [7, 14, 28],
    "min_similarity": [0.0, 0.8],
    "common_modes": [0, 2, 3],
}


def pressure_sensors(config: Path) -> list[str]:
    text = config.read_text().split("pressure_sensors:")[1].split("flow_sensors:")[0]
    return [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ")]


def load_or_simulate(fresh: bool):
    config = DATA / "dataset_configuration_historical_2018.yalm"
    leaks = read_leak_configuration(config)
    sensors = pressure_sensors(config)
    CACHE.mkdir(parents=True, exist_ok=True)
    files = [CACHE / f"battledim2018_{n}" for n in ("measured.parquet", "model.parquet",
                                                     "flows.npz", "signatures.parquet")]
    if fresh or not all(f.exists() for f in files):
        t = time.perf_counter()
        year = simulate_battledim_year(DATA / "L-TOWN.inp", leaks, sensors, start=START)
        signatures = node_signatures(DATA / "L-TOWN.inp", sensors)
        year.measured_m.to_parquet(files[0])
        year.model_m.to_parquet(files[1])
        np.savez(files[2], **year.leak_flow_m3_h)
        signatures.to_parquet(files[3])
        print(f"simulated 2018 and signatures in {time.perf_counter() - t:.0f} s")
    flows = dict(np.load(files[2]))
    year = SimulatedYear(pd.read_parquet(files[0]), pd.read_parquet(files[1]), flows)
    return leaks, year, pd.read_parquet(files[3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    leaks, year, signatures = load_or_simulate(args.fresh)
    net = read_inp(DATA / "L-TOWN.inp")
    names, matrix = pipe_signatures(net.links[net.links["kind"] == "pipe"], signatures)
    perfect = score_detections(
        net, leaks, year.leak_flow_m3_h,
        pd.DataFrame({"link_id": [lk.link_id for lk in leaks], "time": [lk.start for lk in leaks]}),
        period_start=START,
    )
    results = []
    t = time.perf_counter()
    for values in itertools.product(*GRID.values()):
        settings = DetectorSettings(**dict(zip(GRID, values, strict=True)))
        detections = detect_leaks(year.measured_m, year.model_m, names, matrix, settings)
        score = score_detections(net, leaks, year.leak_flow_m3_h, detections, period_start=START)
        results.append((score.total_eur, score.true_positives, score.false_positives, settings,
                        score))
    results.sort(key=lambda r: -r[0])
    best = results[0]
    print(f"grid of {len(results)} settings scored in {time.perf_counter() - t:.0f} s")
    print(f"perfect 2018 submission (every leak at its start, on its pipe): "
          f"EUR {perfect.total_eur:,.0f}")
    print(f"best on 2018: EUR {best[0]:,.0f} ({best[0] / perfect.total_eur:.0%} of perfect), "
          f"{best[1]}/{len(leaks)} leaks found, {best[2]} false alarms; {best[3]}")
    print(best[4].per_detection.to_string())
    for limit in (5, 10):
        few = next((r for r in results if r[2] <= limit), None)
        if few is not None:
            print(f"best with <= {limit} false alarms: EUR {few[0]:,.0f} "
                  f"({few[0] / perfect.total_eur:.0%}), {few[1]}/{len(leaks)} found, "
                  f"{few[2]} false alarms; {few[3]}")
            print(few[4].per_detection.to_string())


if __name__ == "__main__":
    main()
