"""Valve segmentation + full segment criticality vs WNTR's valve_segments on the largest network.

Input: BWSN_Network_2 (12,523 junctions, 14,822 pipes), shipped by the `epyt` package, with
WNTR's random valve layer on half the pipe ends' count (seed 1) — the setting where the
research note measured WNTR at about 23 s. shancheng labels the segments
(scipy connected components on the node+link element graph) and ranks *every* segment by what
its isolation takes out of service (one DFS of the segment graph); WNTR only labels them.
Each side runs in a forked child so its peak RSS is its own; the partitions are compared.

With --plans it also times the checked isolation plans: close_off (valves, pumps to stop,
the check on the directed flow graph) for every pipe, and isolate_break (plus what is lost,
one directed search of the network each) for 1,000 pipes; --skip-peer skips WNTR.

    .venv/bin/python benchmarks/isolation.py [--network BWSN_Network_2] [--layer random|strategic]
    .venv/bin/python benchmarks/isolation.py --plans --skip-peer
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time
import warnings
from pathlib import Path

import epyt
import numpy as np
import wntr

from shancheng.lifelines.criticality import rank_segments
from shancheng.lifelines.isolation import close_off, isolate_break
from shancheng.lifelines.pipes import from_wntr
from shancheng.lifelines.segments import segment_network
from shancheng.lifelines.supply import flow_graph

NETWORKS = Path(epyt.__file__).parent / "networks" / "asce-tf-wdst"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ours(path, layer, queue):
    wn = wntr.network.WaterNetworkModel(str(path))
    net = from_wntr(wn, source=str(path)).with_valves(layer)
    start = time.perf_counter()
    seg = segment_network(net)
    t_seg = time.perf_counter() - start
    table = rank_segments(net, seg)
    t_all = time.perf_counter() - start
    labels = {("N", n): int(s) for n, s in zip(net.nodes["node_id"], seg.node_segment, strict=True)}
    labels |= {
        ("L", n): int(s) for n, s in zip(net.links["link_id"], seg.link_segment, strict=True)
    }
    queue.put(
        {
            "t_seg": t_seg,
            "t_all": t_all,
            "segments": seg.n_segments,
            "labels": labels,
            "worst": int(table["lost_nodes"].max()),
            "rss": peak_rss_mb(),
        }
    )


def plans(path, layer, queue):
    import logging

    logging.disable(logging.WARNING)  # the plans that cannot isolate say so in a warning
    wn = wntr.network.WaterNetworkModel(str(path))
    net = from_wntr(wn, source=str(path)).with_valves(layer)
    start = time.perf_counter()
    seg, graph = segment_network(net), flow_graph(net)
    t_setup = time.perf_counter() - start
    pipes = wn.pipe_name_list
    start = time.perf_counter()
    closures = [close_off(net, p, seg=seg, graph=graph) for p in pipes]
    t_close = time.perf_counter() - start
    sample = np.random.default_rng(1).choice(pipes, 1000, replace=False)
    start = time.perf_counter()
    for p in sample:
        isolate_break(net, str(p), seg=seg, graph=graph)
    t_plan = time.perf_counter() - start
    queue.put(
        {
            "setup": t_setup,
            "close": t_close,
            "n": len(pipes),
            "plan": t_plan,
            "not_isolated": sum(not c.isolated for c in closures),
            "also": sum(bool(c.also_close) for c in closures),
        }
    )


def peer(path, layer, queue):
    wn = wntr.network.WaterNetworkModel(str(path))
    graph = wn.to_graph()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        node_seg, link_seg, sizes = wntr.metrics.topographic.valve_segments(graph, layer.copy())
    elapsed = time.perf_counter() - start
    labels = {("N", n): int(s) for n, s in node_seg.items()}
    labels |= {("L", n): int(s) for n, s in link_seg.items()}
    queue.put({"t_seg": elapsed, "segments": len(sizes), "labels": labels, "rss": peak_rss_mb()})


def partition(labels):
    groups = {}
    for name, label in labels.items():
        groups.setdefault(label, set()).add(name)
    return {frozenset(g) for g in groups.values()}


def run(target, *args):
    queue = mp.get_context("fork").Queue()
    process = mp.get_context("fork").Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--network", default="BWSN_Network_2")
    parser.add_argument("--layer", default="random", choices=["random", "strategic"])
    parser.add_argument("--plans", action="store_true", help="time the checked plans too")
    parser.add_argument("--skip-peer", action="store_true", help="do not run WNTR")
    args = parser.parse_args()
    path = NETWORKS / f"{args.network}.inp"
    wn = wntr.network.WaterNetworkModel(str(path))
    n = len(wn.pipe_name_list) // 2 if args.layer == "random" else 1
    layer = wntr.network.generate_valve_layer(wn, args.layer, n, seed=1)
    print(
        f"{args.network}: {wn.num_junctions:,} junctions, {wn.num_pipes:,} pipes, "
        f"{len(layer):,} valves ({args.layer} layer, n={n}, seed 1)"
    )
    if args.plans:
        p = run(plans, path, layer)
        print(
            f"plans: segments + flow graph {p['setup']:.2f} s; close_off for all {p['n']:,} "
            f"pipes {p['close']:.2f} s ({p['close'] / p['n'] * 1e3:.2f} ms each; "
            f"{p['not_isolated']} cannot be isolated, {p['also']} need a pump or control "
            f"valve closed too); isolate_break with losses for 1,000 pipes {p['plan']:.2f} s "
            f"({p['plan']:.2f} ms each)"
        )
    if args.skip_peer:
        return
    us = run(ours, path, layer)
    them = run(peer, path, layer)
    same = partition(us["labels"]) == partition(them["labels"])
    print(
        f"shancheng: segmentation {us['t_seg']:.3f} s, + full criticality {us['t_all']:.3f} s, "
        f"{us['segments']:,} segments, peak RSS {us['rss']:.0f} MB "
        f"(worst segment isolates {us['worst']:,} nodes)"
    )
    print(
        f"WNTR valve_segments: {them['t_seg']:.2f} s, {them['segments']:,} segments, "
        f"peak RSS {them['rss']:.0f} MB"
    )
    print(
        f"same partition: {same}; ratio WNTR segmentation / shancheng segmentation+criticality: "
        f"{them['t_seg'] / us['t_all']:.0f}x"
    )


if __name__ == "__main__":
    main()
