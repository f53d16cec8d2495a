"""BattLeDIM on L-Town: the leak watch on the real 2019 flows, and 2018 simulated and scored.

* ``--real-2019``: ``shancheng.lifelines.leak_watch`` on the real 2019 SCADA flows and tank
  level (no ground truth needed): each zone's learned noise model and threshold, the number of
  alarms, their months and their delay after the step's first night, and the run time.
* ``--calibrated``: the 2018 year simulated from L-TOWN.inp and the 2018 leak configuration
  (shancheng.lifelines.scada_simulation), with each zone's night-flow residual given the extra
  day-to-day noise that makes its noise model match the real 2019 flows' (AR(1), learned by
  ``leak_watch.learn_noise``); then the same leak watch, unchanged (noise learned from the
  data, thresholds for one false alarm a month), each alarm localised from the night pressure
  change (``leak_fusion``), scored by the official rule.
* default / ``--defaults`` / ``--tune-seeds``: the flow + pressure detector
  (shancheng.lifelines.leak_fusion) on the clean simulation, its grid and tuned defaults.

The simulation (two one-year EPANET runs, ~3 min) and the node signatures are cached in
data/cache/ (git-ignored); --fresh recomputes them. These are *training* figures: the 2019
evaluation year's leaks are held back.

    .venv/bin/python benchmarks/leaks.py --real-2019
    .venv/bin/python benchmarks/leaks.py --calibrated [--seed 7] [--injections 5]
    .venv/bin/python benchmarks/leaks.py [--fresh]
    .venv/bin/python benchmarks/leaks.py --tune-seeds 2018,7   # the defaults' tuning
    .venv/bin/python benchmarks/leaks.py --seed 11 --defaults  # a held-out noise draw
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from datetime import datetime
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from shancheng.lifelines.leak_fusion import FusionSettings, detect_leaks_fused
from shancheng.lifelines.leak_signatures import node_signatures, pipe_signatures
from shancheng.lifelines.leak_watch import (
    NoiseModel,
    calibrate_threshold,
    learn_noise,
    watch_scada,
)
from shancheng.lifelines.leaks import STEP_S, read_leak_configuration, score_detections
from shancheng.lifelines.pipes import read_inp
from shancheng.lifelines.scada_simulation import ScadaYear, simulate_scada_year
from shancheng.lifelines.water_balance import (
    BalanceZone,
    expected_night_flow,
    fit_scale,
    night_mean,
    noise_sd,
    zone_consumption,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "lifelines" / "battledim_ltown"
CACHE = ROOT / "data" / "cache"
START = datetime(2018, 1, 1)


def pressure_sensors(config: Path) -> list[str]:
    text = config.read_text().split("pressure_sensors:")[1].split("flow_sensors:")[0]
    return [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ")]


def load_or_simulate_scada(fresh: bool, seed: int = 2018) -> tuple[list, ScadaYear]:
    """The 5-minute SCADA year (pressures, flows, tank level), cached in data/cache/."""
    config = DATA / "dataset_configuration_historical_2018.yalm"
    leaks = read_leak_configuration(config)
    sensors = pressure_sensors(config)
    CACHE.mkdir(parents=True, exist_ok=True)
    names = ("pressure", "model_pressure", "flow", "level")
    tag = "" if seed == 2018 else f"_seed{seed}"
    files = {n: CACHE / f"scada2018{tag}_{n}.parquet" for n in names}
    leak_file = CACHE / f"scada2018{tag}_leaks.npz"
    if fresh or not all(f.exists() for f in [*files.values(), leak_file]):
        t = time.perf_counter()
        year = simulate_scada_year(DATA / "L-TOWN.inp", leaks, sensors, start=START, seed=seed)
        for name, frame in zip(
            names,
            (year.pressure_m, year.model_pressure_m, year.flow_m3_h, year.level_m),
            strict=True,
        ):
            frame.to_parquet(files[name])
        np.savez(leak_file, **year.leak_flow_m3_h)
        print(f"simulated the 2018 SCADA year in {time.perf_counter() - t:.0f} s")
    frames = [pd.read_parquet(files[n]) for n in names]
    return leaks, ScadaYear(*frames, leak_flow_m3_h=dict(np.load(leak_file)))


TANK_AREA_M2 = math.pi * 16.0**2 / 4  # T1: 16 m diameter in L-TOWN.inp
ZONES = [
    BalanceZone("AB", inflows=("p227", "p235"), outflows=("PUMP_1",)),
    BalanceZone("C", inflows=("PUMP_1",), tanks=(("T1", TANK_AREA_M2),)),
]
FUSION_GRID = {
    "k_sd": [0.5, 1.0],
    "h_sd": [5.0, 8.0, 12.0],
    "settle_days": [3, 7],
    "recent_days": [1, 3],
    "min_gain": [0.1, 0.2, 0.3],
    "free_size": [True, False],
}


def zone_of_links(wn) -> tuple[dict[str, str], dict[str, str]]:
    """L-Town's metered zones: C is what the tank feeds (cut at the pump), AB the rest."""
    graph = wn.to_graph().to_undirected()
    graph.remove_edge("n54", "T1")
    tank_side = nx.node_connected_component(graph, "T1")
    node_zone = {n: ("C" if n in tank_side else "AB") for n in wn.node_name_list}
    link_zone = {name: node_zone[link.start_node_name] for name, link in wn.links()}
    return node_zone, link_zone


def fusion_inputs(year: ScadaYear, sensors: list[str]):
    """Night-flow residuals per zone, night pressure residuals, signatures and nuisance."""
    import wntr

    wn = wntr.network.WaterNetworkModel(str(DATA / "L-TOWN.inp"))
    node_zone, link_zone = zone_of_links(wn)
    consumption = zone_consumption(year.flow_m3_h, year.level_m, ZONES)
    night_flow = night_mean(consumption)
    days = pd.DatetimeIndex(night_flow.index)
    multipliers = {n: np.asarray(wn.get_pattern(n).multipliers) for n in wn.pattern_name_list}
    residual = pd.DataFrame(index=days)
    for zone in night_flow.columns:
        base: dict[str, float] = {}
        for name, junction in wn.junctions():
            if node_zone[name] == zone:
                for demand in junction.demand_timeseries_list:
                    base[demand.pattern_name] = (
                        base.get(demand.pattern_name, 0.0) + demand.base_value * 3600.0
                    )
        expected = expected_night_flow(
            base, multipliers, days, pattern_start=pd.Timestamp(START), step_s=STEP_S
        )
        observed = night_flow[zone].to_numpy()
        scale = fit_scale(observed[:7], expected[:7])  # 1-7 Jan 2018: before the first leak
        residual[zone] = observed - scale * expected
    pressure = night_mean(year.pressure_m - year.model_pressure_m)
    cached = CACHE / "scada2018_unit_signatures.parquet"
    if not cached.exists():
        node_signatures(DATA / "L-TOWN.inp", sensors, per_unit_flow=True).to_parquet(cached)
    unit = pd.read_parquet(cached)
    net = read_inp(DATA / "L-TOWN.inp")
    names, matrix = pipe_signatures(net.links[net.links["kind"] == "pipe"], unit)
    weight = pd.Series(
        {n: sum(d.base_value for d in j.demand_timeseries_list) for n, j in wn.junctions()}
    )
    nuisance = np.column_stack(
        [
            (unit.loc[w.index].to_numpy() * w.to_numpy()[:, None]).sum(axis=0) / w.sum()
            for zone in ZONE_NAMES
            for w in [weight[[n for n in weight.index if node_zone[n] == zone]]]
        ]
    )
    return net, residual, pressure, names, [link_zone[n] for n in names], matrix, nuisance


ZONE_NAMES = [z.name for z in ZONES]


def named(detections: pd.DataFrame) -> pd.DataFrame:
    """The detections that name a pipe: the submission's lines (zone-only ones are comments),
    dated the night the pipe was named (``placed_time``: the alarm's, or a later night's)."""
    kept = detections[detections["link_id"] != ""]
    return (
        kept.assign(time=kept["placed_time"])
        .sort_values("time", kind="stable")
        .reset_index(drop=True)
    )


def tune_over_seeds(seeds: list[int]) -> None:
    """Grid on several noise draws of 2018; rank the settings by their mean score."""
    inputs = {}
    for seed in seeds:
        leaks, year = load_or_simulate_scada(False, seed)
        inputs[seed] = (leaks, year, fusion_inputs(year, list(year.pressure_m.columns)))
    rows = []
    for values in itertools.product(*FUSION_GRID.values()):
        settings = dict(zip(FUSION_GRID, values, strict=True))
        row: dict[str, object] = dict(settings)
        for seed, (
            leaks,
            year,
            (net, residual, pressure, names, zones, matrix, nuisance),
        ) in inputs.items():
            detections = named(
                detect_leaks_fused(
                    residual,
                    pressure,
                    net,
                    names,
                    zones,
                    matrix,
                    nuisance,
                    FusionSettings(**settings),
                )
            )
            score = score_detections(
                net, leaks, year.leak_flow_m3_h, detections, period_start=START
            )
            row |= {
                f"eur_{seed}": round(score.total_eur),
                f"found_{seed}": score.true_positives,
                f"false_{seed}": score.false_positives,
            }
        rows.append(row)
    table = pd.DataFrame(rows)
    table["mean_eur"] = table[[f"eur_{seed}" for seed in seeds]].mean(axis=1).round()
    print(table.sort_values("mean_eur", ascending=False).head(10).to_string(index=False))


def run_fusion(leaks, year: ScadaYear, sensors: list[str], perfect: float) -> None:
    net, residual, pressure, names, zones, matrix, nuisance = fusion_inputs(year, sensors)
    for zone in residual.columns:
        print(
            f"zone {zone}: night-flow residual noise sd {noise_sd(residual[zone].to_numpy()):.2f}"
            f" m3/h, night flow mean {residual[zone].mean():.2f}"
        )
    results = []
    t = time.perf_counter()
    for values in itertools.product(*FUSION_GRID.values()):
        settings = FusionSettings(**dict(zip(FUSION_GRID, values, strict=True)))
        detections = named(
            detect_leaks_fused(residual, pressure, net, names, zones, matrix, nuisance, settings)
        )
        score = score_detections(net, leaks, year.leak_flow_m3_h, detections, period_start=START)
        results.append(
            (
                score.total_eur,
                score.true_positives,
                score.false_positives,
                settings,
                score,
                detections,
            )
        )
    print(f"fusion: grid of {len(results)} settings scored in {time.perf_counter() - t:.0f} s")
    report("flow + pressure", results, len(leaks), perfect)


def report(label: str, results: list, n_leaks: int, perfect: float) -> None:
    results.sort(key=lambda r: -r[0])
    best = results[0]
    print(
        f"[{label}] best on 2018: EUR {best[0]:,.0f} ({best[0] / perfect:.0%} of perfect), "
        f"{best[1]}/{n_leaks} leaks found, {best[2]} false alarms; {best[3]}"
    )
    print(best[4].per_detection.to_string())
    for limit in (0, 2, 5, 10):
        few = next((r for r in results if r[2] <= limit), None)
        if few is not None:
            print(
                f"[{label}] best with <= {limit} false alarms: EUR {few[0]:,.0f} "
                f"({few[0] / perfect:.0%}), {few[1]}/{n_leaks} found, "
                f"{few[2]} false alarms; {few[3]}"
            )


def run_real_2019(alarms_per_month: float) -> None:
    """The leak watch on the real 2019 flows and level: alarms, months, delays, run time."""
    t = time.perf_counter()
    watch = watch_scada(DATA / "L-TOWN.inp", DATA, alarms_per_month=alarms_per_month)
    elapsed = time.perf_counter() - t
    for zone in watch.watches:
        print(
            f"zone {zone.zone.name}: noise sd {zone.noise.sd_m3_h:.2f} m3/h, "
            f"phi {zone.noise.phi:.2f}, threshold {zone.h_sd:.1f} sd, "
            f"{zone.expected_alarms_per_month:.2f} alarms/month on its noise alone"
        )
    leaks = watch.leaks
    delay = (leaks["alarm_time"] - leaks["start_time"]).dt.total_seconds() / 86_400
    print(leaks.assign(delay_days=delay.round(1)).to_string(index=False))
    months = leaks["alarm_time"].dt.month.value_counts().sort_index()
    print(
        f"{len(leaks)} alarms in 2019 ({len(leaks) / 12:.2f} a month; "
        f"most in one month: {months.max()}), delay after the step's first night: "
        f"median {delay.median():.1f} d, max {delay.max():.1f} d; run {elapsed:.1f} s"
    )


def run_calibrated(seed: int, alarms_per_month: float, injections: int = 0) -> None:
    """2018 simulated with the real flows' night noise, the leak watch, scored officially.

    ``injections`` 0: the noise drawn with ``seed`` (one draw, per detection printed);
    ``injections`` N: N more draws of the real-flow noise (generators 1000..1000+N-1) on the
    same simulated year, summarised (mean and spread of the score, false positives).
    """
    real = {z.zone.inflows: z.noise for z in watch_scada(DATA / "L-TOWN.inp", DATA).watches}
    leaks, year = load_or_simulate_scada(False, seed)
    sensors = list(year.pressure_m.columns)
    inputs = fusion_inputs(year, sensors)
    perfect = score_detections(
        inputs[0],
        leaks,
        year.leak_flow_m3_h,
        pd.DataFrame({"link_id": [lk.link_id for lk in leaks], "time": [lk.start for lk in leaks]}),
        period_start=START,
    ).total_eur
    if injections:
        runs = [
            calibrated_score(leaks, year, inputs, real, np.random.default_rng(1000 + k),
                             alarms_per_month)
            for k in range(injections)
        ]  # fmt: skip
        eur, found, false = (
            np.array(col, dtype=np.float64) for col in zip(*(r[:3] for r in runs), strict=True)
        )
        print_reliability(runs)
        print(
            f"[leak watch + pressure localisation, simulated draw {seed}, {injections} draws "
            f"of the real-flow noise] EUR mean {eur.mean():,.0f} ({eur.mean() / perfect:.0%} "
            f"of {perfect:,.0f}; sd {eur.std():,.0f}, {eur.min():,.0f}-{eur.max():,.0f}), found "
            f"{found.mean():.1f}/{len(leaks)}, false positives mean {false.mean():.1f}, max "
            f"{false.max():.0f}, <= 4 in {np.mean(false <= 4):.0%} of draws"
        )
        return
    _, _, _, score, alarms, detections = calibrated_score(
        leaks, year, inputs, real, np.random.default_rng(seed), alarms_per_month, verbose=True
    )
    print(
        score.per_detection.assign(
            zone=detections["zone"].to_numpy(),
            size_m3_h=detections["size_m3_h"].round(1).to_numpy(),
            hit_probability=detections["hit_probability"].round(2).to_numpy(),
        ).to_string()
    )
    print(
        f"[leak watch + pressure localisation, draw {seed}, real-flow noise] "
        f"EUR {score.total_eur:,.0f} ({score.total_eur / perfect:.0%} of {perfect:,.0f}), "
        f"{score.true_positives}/{len(leaks)} found, {score.false_positives} false positives; "
        f"{len(alarms)} zone alarms, {len(alarms) - len(detections)} left at their zone "
        f"(hit probability < {FusionSettings().min_hit_probability}); missed: "
        f"{sorted({lk.link_id for lk in leaks} - set(score.per_detection['leak']))}"
    )


def print_reliability(runs: list) -> None:
    """Of the pipes named, how many lie within 300 m of a leak then running (calibration)."""
    table = pd.concat(
        [r[3].per_detection.assign(p=r[5]["hit_probability"].to_numpy(),
                                   late=(r[5]["placed_time"] > r[5]["alarm_night"]).to_numpy())
         for r in runs]
    )  # fmt: skip
    table["within"] = table["leak"] != ""
    gate = FusionSettings().min_hit_probability
    for low, high in ((gate, 0.95), (0.95, 0.99), (0.99, 1.01)):
        part = table[(table["p"] >= low) & (table["p"] < high)]
        if len(part):
            print(
                f"  hit_probability {low}-{min(high, 1.0)}: {len(part)} named, "
                f"{part['within'].mean():.0%} within 300 m of a running leak"
            )
    late = table[table["late"]]
    print(
        f"  named on the alarm night: {int((~table['late']).sum())} "
        f"({table.loc[~table['late'], 'within'].mean():.0%} within reach); on a later night: "
        f"{len(late)} ({late['within'].mean() if len(late) else float('nan'):.0%} within reach)"
    )


def calibrated_score(leaks, year, inputs, real, rng, alarms_per_month, *, verbose=False):
    """Add the real flows' night noise to the simulated residuals, run the watch, score."""
    net, clean, pressure, names, zones, matrix, nuisance = inputs
    residual = clean.copy()
    thresholds = {}
    for zone in ZONES:
        sim = learn_noise(residual[zone.name].to_numpy())
        target = real[zone.inflows]
        extra = NoiseModel(float(np.sqrt(max(target.sd_m3_h**2 - sim.sd_m3_h**2, 0.0))), target.phi)
        residual[zone.name] = residual[zone.name] + extra.simulate(len(residual), rng)
        noisy = learn_noise(residual[zone.name].to_numpy())
        h_sd, rate = calibrate_threshold(
            noisy, alarms_per_month=alarms_per_month / len(ZONES), n_days=len(residual)
        )
        thresholds[zone.name] = (noisy.sd_m3_h, h_sd)
        if verbose:
            print(
                f"zone {zone.name}: simulated noise sd {sim.sd_m3_h:.2f} (phi {sim.phi:.2f}), "
                f"real sd {target.sd_m3_h:.2f} (phi {target.phi:.2f}), added sd "
                f"{extra.sd_m3_h:.2f}; learned after {noisy.sd_m3_h:.2f} (phi {noisy.phi:.2f}), "
                f"threshold {h_sd:.1f} sd ({rate:.2f}/month on noise)"
            )
    alarms = detect_leaks_fused(
        residual, pressure, net, names, zones, matrix, nuisance, thresholds=thresholds
    )
    detections = named(alarms.assign(alarm_night=alarms["time"]))
    score = score_detections(net, leaks, year.leak_flow_m3_h, detections, period_start=START)
    return (
        score.total_eur,
        score.true_positives,
        score.false_positives,
        score,
        alarms,
        detections,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument(
        "--real-2019",
        action="store_true",
        help="the leak watch on the real 2019 flows and level (alarms, timing)",
    )
    parser.add_argument(
        "--calibrated",
        action="store_true",
        help="2018 simulated, noise calibrated to the real flows, scored",
    )
    parser.add_argument("--alarms-per-month", type=float, default=1.0)
    parser.add_argument(
        "--injections",
        type=int,
        default=0,
        help="with --calibrated: N draws of the real-flow noise on the simulated year, summarised",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=2018,
        help="noise draw of the simulation (2018: the tuning year)",
    )
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="no grid: score FusionSettings() (the tuned defaults) only",
    )
    parser.add_argument(
        "--tune-seeds",
        default="",
        help="comma-separated noise draws: grid on all, ranked by mean score",
    )
    args = parser.parse_args()
    if args.real_2019:
        run_real_2019(args.alarms_per_month)
        return
    if args.calibrated:
        run_calibrated(args.seed, args.alarms_per_month, args.injections)
        return
    if args.tune_seeds:
        tune_over_seeds([int(x) for x in args.tune_seeds.split(",")])
        return
    leaks, year = load_or_simulate_scada(args.fresh, args.seed)
    sensors = list(year.pressure_m.columns)
    net = read_inp(DATA / "L-TOWN.inp")
    perfect = score_detections(
        net,
        leaks,
        year.leak_flow_m3_h,
        pd.DataFrame({"link_id": [lk.link_id for lk in leaks], "time": [lk.start for lk in leaks]}),
        period_start=START,
    ).total_eur
    print(f"perfect 2018 submission (every leak at its start, on its pipe): EUR {perfect:,.0f}")
    if args.defaults:
        net, residual, pressure, names, zones, matrix, nuisance = fusion_inputs(year, sensors)
        detections = named(
            detect_leaks_fused(residual, pressure, net, names, zones, matrix, nuisance)
        )
        score = score_detections(net, leaks, year.leak_flow_m3_h, detections, period_start=START)
        table = score.per_detection.assign(
            size_m3_h=detections["size_m3_h"].to_numpy(), gain=detections["gain"].to_numpy()
        )
        print(table.round(2).to_string())
        print(
            f"[flow + pressure, {FusionSettings()}] EUR {score.total_eur:,.0f} "
            f"({score.total_eur / perfect:.0%}), {score.true_positives}/{len(leaks)} found, "
            f"{score.false_positives} false alarms; missed: "
            f"{sorted({lk.link_id for lk in leaks} - set(table['leak']))}"
        )
        return
    run_fusion(leaks, year, sensors, perfect)


if __name__ == "__main__":
    main()
