"""PNG maps of an isolation plan and of monitoring coverage (matplotlib, no display needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib as mpl

mpl.use("Agg")  # files only: no display on servers and in tests
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection

if TYPE_CHECKING:
    from pathlib import Path

    import numpy.typing as npt
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from shancheng.lifelines.isolation import IsolationPlan
    from shancheng.lifelines.monitoring import Coverage
    from shancheng.lifelines.pipes import PipeNetwork
    from shancheng.lifelines.segments import Segmentation


def _segments(net: PipeNetwork, mask: npt.NDArray[np.bool_]) -> list[npt.NDArray[np.float64]]:
    x = net.nodes["x"].to_numpy(dtype=np.float64)
    y = net.nodes["y"].to_numpy(dtype=np.float64)
    tail, head = net.tail[mask], net.head[mask]
    pairs = np.stack([np.column_stack([x[tail], y[tail]]), np.column_stack([x[head], y[head]])],
                     axis=1)  # fmt: skip
    return list(pairs)


def _figure(net: PipeNetwork, title: str) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(9, 9), dpi=110)
    every = np.ones(net.n_links, dtype=bool)
    ax.add_collection(LineCollection(_segments(net, every), colors="#c8c8c8", linewidths=0.4))
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.autoscale()
    ax.set_xticks([])
    ax.set_yticks([])
    return fig, ax


def plot_isolation(
    net: PipeNetwork, seg: Segmentation, plan: IsolationPlan, path: Path, *,
    facilities: pd.DataFrame | None = None,
) -> Path:  # fmt: skip
    """Draw an isolation plan into a PNG at ``path``.

    The lost segment is red, the cut-off segments orange, the valves to close black squares
    and the critical facilities losing service purple stars.
    """
    fig, ax = _figure(net, f"break on {plan.link_id}: close {len(plan.valves_to_close)} valves")
    lost = seg.link_segment == plan.segment
    cut = np.isin(seg.link_segment, plan.cut_off_segments)
    ax.add_collection(LineCollection(_segments(net, cut), colors="#f39c12", linewidths=1.2))
    ax.add_collection(LineCollection(_segments(net, lost), colors="#d62728", linewidths=2.0))
    closing = net.valves[net.valves["valve_id"].isin(plan.valves_to_close)]
    rows = closing["node_index"].to_numpy(dtype=np.int64)
    ax.scatter(net.nodes["x"].to_numpy()[rows], net.nodes["y"].to_numpy()[rows], c="black",
               s=30, marker="s", label="valves to close", zorder=3)  # fmt: skip
    if facilities is not None and len(plan.facilities):
        hit = facilities[facilities["facility_id"].isin(plan.facilities["facility_id"])]
        at = hit["node_index"].to_numpy(dtype=np.int64)
        ax.scatter(net.nodes["x"].to_numpy()[at], net.nodes["y"].to_numpy()[at], c="#8e44ad",
                   s=90, marker="*", label="critical facilities out", zorder=4)  # fmt: skip
    ax.legend(loc="lower left")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_coverage(
    net: PipeNetwork, coverage: Coverage, new_sites: pd.DataFrame, path: Path
) -> Path:
    """Draw dense-area pipes watched (green) and not (red), and proposed sensors (blue)."""
    fig, ax = _figure(net, f"dense-area pipes watched: {coverage.share:.0%}")
    watched, unwatched = coverage.dense & coverage.watched, coverage.dense & ~coverage.watched
    ax.add_collection(LineCollection(_segments(net, watched), colors="#2ca02c", linewidths=1.4))
    ax.add_collection(LineCollection(_segments(net, unwatched), colors="#d62728", linewidths=1.4))
    rows = net.nodes.index[net.nodes["node_id"].isin(new_sites["node_id"])].to_numpy()
    ax.scatter(net.nodes["x"].to_numpy()[rows], net.nodes["y"].to_numpy()[rows], c="#1f77b4",
               s=12, label=f"{len(new_sites)} sensors to reach 100 %", zorder=3)  # fmt: skip
    ax.legend(loc="lower left")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
