"""BattLeDIM leak benchmark: the leak configuration and the competition's scoring rule.

The rule (Vrachimis et al., JWRPM 2022, doi:10.1061/(ASCE)WR.1943-5452.0001601, as the
organisers' MATLAB scoring script ``KIOS-Research/BattLeDIM`` computes it): times become
5-minute steps since the period start, rounded; detections are taken in time order; a
detection scores against a leak when its step lies within the leak's ``[start, end]`` steps and
the pipe distance between the centres of the detected and the leaking pipe is at most 300 m (0
for the same pipe, otherwise the shortest path between their end nodes on the organisers'
distance graph, :func:`distance_graph`, where pumps and valves are no path, plus half of each
pipe's length). Among the leaks it hits that are not yet found, it takes the nearest; it then
earns the water saved from the detection to the end of the evaluation period at €0.8 per m³,
less the crew's search cost ``(distance / 300) x €500``. A detection that hits only leaks
already found scores 0; one that hits none is a false alarm and costs €500. Detections dated
before the evaluation period are ignored.

The water saved is the leak's outflow series (m³/h at 5-minute steps) summed from the step
before the detection's (the script's 1-based ``timeSeries(max(td, 1):end)``) to the end,
divided by 12.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_array, csr_array
from scipy.sparse.csgraph import dijkstra

from shancheng.errors import InputError

if TYPE_CHECKING:
    from shancheng.lifelines.pipes import PipeNetwork
    from shancheng.types import FloatArray


MAX_DISTANCE_M = 300.0
WATER_EUR_PER_M3 = 0.8
CREW_EUR = 500.0
STEP_S = 300
"""BattLeDIM's time step: 5 minutes."""
_LEAK_LINE = re.compile(
    r"^-\s*(?P<link>[^,\s]+),\s*(?P<start>[\d-]+ [\d:]+),\s*(?P<end>[\d-]+ [\d:]+),\s*"
    r"(?P<diameter>[\d.eE+-]+),\s*(?P<kind>abrupt|incipient),\s*(?P<peak>[\d-]+ [\d:]+)\s*$"
)


@dataclass(frozen=True, slots=True)
class Leak:
    """One leak of the configuration: pipe, start, end, orifice diameter, type, peak time."""

    link_id: str
    start: datetime
    end: datetime
    diameter_m: float
    kind: str
    peak: datetime


def read_leak_configuration(path: str | Path) -> list[Leak]:
    """Read the ``leakages`` list of a BattLeDIM dataset configuration (``.yalm``) file.

    Raises
    ------
    InputError
        The file has no ``leakages:`` section or a leak line does not parse (line named).
    """
    file = Path(path)
    lines = file.read_text(encoding="utf-8").splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "leakages:")
    except StopIteration:
        msg = f"{file}: no `leakages:` section"
        raise InputError(msg) from None
    leaks = []
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        text = line.strip()
        if not text.startswith("-"):
            break
        if text.startswith("- #"):
            continue
        match = _LEAK_LINE.match(text)
        if match is None:
            msg = f"{file}, line {number}: not a leak entry: {text!r}"
            raise InputError(msg)
        leaks.append(
            Leak(
                link_id=match["link"],
                start=datetime.fromisoformat(match["start"]),
                end=datetime.fromisoformat(match["end"]),
                diameter_m=float(match["diameter"]),
                kind=match["kind"],
                peak=datetime.fromisoformat(match["peak"]),
            )
        )
    return leaks


def distance_graph(net: PipeNetwork) -> csr_array:
    """Build the organisers' node distance graph: one edge per node pair, the link length.

    As the official ``nodeTopologicalDistance.m`` builds it: the links are taken in file
    order and each writes its length into the node pair's entry, so a later link between the
    same nodes overwrites an earlier one; a zero entry is no edge, so pumps and valves (length
    0 in EPANET) are *not* paths between their nodes.
    """
    length = np.nan_to_num(net.links["length_m"].to_numpy(dtype=np.float64))
    pair: dict[tuple[int, int], float] = {}
    for a, b, value in zip(net.tail.tolist(), net.head.tolist(), length.tolist(), strict=True):
        pair[(min(a, b), max(a, b))] = value
    kept = [(a, b, value) for (a, b), value in pair.items() if value > 0]
    rows = np.array([a for a, _, _ in kept], dtype=np.int64)
    cols = np.array([b for _, b, _ in kept], dtype=np.int64)
    weights = np.array([value for _, _, value in kept], dtype=np.float64)
    n = net.n_nodes
    return coo_array(
        (np.r_[weights, weights], (np.r_[rows, cols], np.r_[cols, rows])), shape=(n, n)
    ).tocsr()


def pipe_centre_distances(net: PipeNetwork, link_ids: list[str]) -> FloatArray:
    """Distance between the centres of ``link_ids`` and every link (rows: ``link_ids``).

    Zero on the same link; otherwise the shortest path on :func:`distance_graph` between
    their nearest ends, plus half of both links' lengths (the official ``scoring_function.m``).
    """
    length = np.nan_to_num(net.links["length_m"].to_numpy(dtype=np.float64))
    graph = distance_graph(net)
    row_of = pd.Series(np.arange(net.n_links), index=net.links["link_id"].to_numpy())
    rows = row_of.loc[link_ids].to_numpy()
    ends = np.unique(np.concatenate([net.tail[rows], net.head[rows]]))
    node_dist = dijkstra(graph, directed=False, indices=ends)
    position = {int(node): k for k, node in enumerate(ends)}
    out = np.empty((rows.shape[0], net.n_links), dtype=np.float64)
    for r, link in enumerate(rows):
        a, b = position[int(net.tail[link])], position[int(net.head[link])]
        best = np.minimum.reduce(
            [node_dist[a, net.tail], node_dist[a, net.head],
             node_dist[b, net.tail], node_dist[b, net.head]]
        )  # fmt: skip
        out[r] = best + length[link] / 2 + length / 2
        out[r, link] = 0.0
    return out


@dataclass(frozen=True, slots=True)
class Score:
    """Outcome of scoring a list of detections."""

    total_eur: float
    true_positives: int
    false_positives: int
    false_negatives: int
    per_detection: pd.DataFrame


def _steps(times: pd.Series, period_start: datetime) -> npt.NDArray[np.int64]:
    """5-minute steps since ``period_start``, rounded (the official ``time2steps.m``)."""
    seconds = (pd.to_datetime(times) - pd.Timestamp(period_start)).dt.total_seconds()
    steps: npt.NDArray[np.int64] = np.round(seconds.to_numpy() / STEP_S).astype(np.int64)
    return steps


def score_detections(
    net: PipeNetwork,
    leaks: list[Leak],
    leak_flow_m3_h: dict[str, FloatArray],
    detections: pd.DataFrame,
    *,
    period_start: datetime,
) -> Score:
    """Score ``detections`` (columns ``link_id, time``) by the BattLeDIM rule (module doc).

    Parameters
    ----------
    net
        The network (for pipe distances).
    leaks
        The ground truth.
    leak_flow_m3_h
        Each leak's outflow, m³/h at 5-minute steps from ``period_start``, keyed by link id.
    detections
        ``link_id`` (a link of ``net``) and ``time`` (naive datetimes, the network's clock).
    period_start
        First instant of the evaluation period; earlier detections are ignored.

    Returns
    -------
    Score
        Total in euros, true/false positives, missed leaks, and one row per detection:
        ``link_id, time, leak, distance_m, score_eur``.
    """
    unknown = sorted(set(detections["link_id"]) - set(net.links["link_id"]))
    if unknown:
        msg = f"detections name links that are not in {net.source}: {', '.join(unknown[:10])}"
        raise InputError(msg)
    times = pd.to_datetime(detections["time"])
    kept = detections.assign(time=times, step=_steps(times, period_start))
    kept = kept[kept["step"] >= 0].sort_values("step", kind="stable")
    leak_links = [leak.link_id for leak in leaks]
    row_of = pd.Series(np.arange(net.n_links), index=net.links["link_id"].to_numpy())
    distance = pipe_centre_distances(net, leak_links) if leaks else np.zeros((0, net.n_links))
    found: set[int] = set()
    rows = []
    windows = [
        (int(_steps(pd.Series([leak.start]), period_start)[0]),
         int(_steps(pd.Series([leak.end]), period_start)[0]))
        for leak in leaks
    ]  # fmt: skip
    for link_id, when, step in kept[["link_id", "time", "step"]].itertuples(index=False, name=None):
        column = int(row_of[link_id])
        hits = [
            j for j, (first, last) in enumerate(windows)
            if first <= step <= last and distance[j, column] <= MAX_DISTANCE_M
        ]  # fmt: skip
        fresh = [j for j in hits if j not in found]
        if not hits:
            rows.append((link_id, when, "", np.nan, -CREW_EUR))
        elif not fresh:
            rows.append((link_id, when, "(already found)", np.nan, 0.0))
        else:
            j = min(fresh, key=lambda k: distance[k, column])
            found.add(j)
            # the organisers sum timeSeries(max(td, 1):end) with MATLAB's 1-based index, so
            # from the step before the detection's (the series starts at period_start)
            saved_m3 = float(leak_flow_m3_h[leaks[j].link_id][max(step, 1) - 1 :].sum()) / 12.0
            x = float(distance[j, column])
            score = saved_m3 * WATER_EUR_PER_M3 - x / MAX_DISTANCE_M * CREW_EUR
            rows.append((link_id, when, leaks[j].link_id, x, score))
    table = pd.DataFrame(rows, columns=["link_id", "time", "leak", "distance_m", "score_eur"])
    false_positives = int((table["leak"] == "").sum())
    return Score(
        total_eur=round(float(table["score_eur"].sum()), 2),
        true_positives=len(found),
        false_positives=false_positives,
        false_negatives=len(leaks) - len(found),
        per_detection=table,
    )
