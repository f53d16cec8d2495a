"""Sensor placement on the demo city: greedy vs exact set cover (HiGHS), same coverage sets.

For each network (gas, water) of the generated demo city (``DemoConfig()``, the city of
``make demo``): the coverage of the city's own sensors, then the fewest new sensors that watch
every pipe in dense cells (``shancheng.lifelines.monitoring.place_sensors``), greedy and exact.

    .venv/bin/python benchmarks/placement.py [--radius 200] [--density 10000]
"""

from __future__ import annotations

import argparse
import time

from shancheng.data.demo import DemoConfig, generate_demo_city
from shancheng.lifelines.monitoring import compute_coverage, place_sensors
from shancheng.lifelines.pipes import from_city
from shancheng.lifelines.segments import segment_network
from shancheng.lifelines.sensors import sensors_from_city


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--radius", type=float, default=200.0)
    parser.add_argument("--density", type=float, default=10_000.0)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    city = generate_demo_city(DemoConfig())
    sensors = list(sensors_from_city(city).values())
    print(
        "| network | links | dense km | watched now | greedy sensors | greedy s | exact sensors "
        "| method | lower bound | exact s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for network in ("gas", "water"):
        net = from_city(city, network)
        seg = segment_network(net)
        cov = compute_coverage(
            city, net, sensors, threshold_per_km2=args.density, radius_m=args.radius, seg=seg
        )
        t = time.perf_counter()
        greedy = place_sensors(
            net, cov.dense, cov.watched, radius_m=args.radius, seg=seg, method="greedy"
        )
        t_greedy = time.perf_counter() - t
        t = time.perf_counter()
        exact = place_sensors(
            net,
            cov.dense,
            cov.watched,
            radius_m=args.radius,
            seg=seg,
            method="auto",
            time_limit_s=args.time_limit,
        )
        t_exact = time.perf_counter() - t
        assert exact["share"].iloc[-1] >= 1.0 - 1e-9
        print(
            f"| {network} | {net.n_links:,} | {cov.dense_length_m / 1e3:,.1f} | {cov.share:.0%} "
            f"| {len(greedy)} | {t_greedy:.2f} | **{len(exact)}** | {exact.attrs['method']} "
            f"| {exact.attrs['lower_bound']:.0f} | {t_exact:.2f} |"
        )


if __name__ == "__main__":
    main()
