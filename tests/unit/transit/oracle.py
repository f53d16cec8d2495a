"""A time-expanded graph of a timetable, searched with networkx Dijkstra: the RAPTOR oracle.

Built from plain stop-time rows and footpaths, never from the code under test's patterns.
Nodes: a wait node per (stop, departure time) chained in time order, an arrival and a
departure node per stop time. A rider reaches a stop by arriving on a trip (then may board
any departure there at or after that time) or by one footpath from such an arrival (or from
the origin); footpaths never follow each other.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict

import networkx as nx
import numpy as np


class TimeExpandedGraph:
    """Earliest arrivals by Dijkstra over departure and arrival events plus walking."""

    def __init__(self, n_stops, trip, stop, arr, dep, footpaths):
        self.n_stops = n_stops
        self.walks = defaultdict(list)
        for a, b, w in footpaths:
            if a != b:
                self.walks[int(a)].append((int(b), int(w)))
        self.stop = [int(s) for s in stop]
        self.arr = [int(t) for t in arr]
        departures = defaultdict(set)
        for s, t in zip(self.stop, dep, strict=True):
            departures[s].add(int(t))
        self.waits = {s: sorted(ts) for s, ts in departures.items()}
        graph = nx.DiGraph()
        for s, times in self.waits.items():
            for t0, t1 in itertools.pairwise(times):
                graph.add_edge(("w", s, t0), ("w", s, t1), weight=t1 - t0)
        n = len(self.stop)
        for r in range(n):
            s, a, d = self.stop[r], int(arr[r]), int(dep[r])
            graph.add_edge(("a", r), ("d", r), weight=d - a)
            graph.add_edge(("w", s, d), ("d", r), weight=0)
            if r + 1 < n and trip[r + 1] == trip[r]:
                graph.add_edge(("d", r), ("a", r + 1), weight=int(arr[r + 1]) - d)
            self._to_wait(graph, ("a", r), s, a, a)
            for b, w in self.walks[s]:
                self._to_wait(graph, ("a", r), b, a + w, a)
        self.graph = graph

    def _to_wait(self, graph, node, s, ready, now):
        times = self.waits.get(s, [])
        k = bisect.bisect_left(times, ready)
        if k < len(times):
            graph.add_edge(node, ("w", s, times[k]), weight=times[k] - now)

    def earliest_arrivals(self, origin, t0):
        graph = self.graph
        self._to_wait(graph, "origin", origin, t0, t0)
        for b, w in self.walks[origin]:
            self._to_wait(graph, "origin", b, t0 + w, t0)
        try:
            dist = (
                nx.single_source_dijkstra_path_length(graph, "origin") if "origin" in graph else {}
            )
        finally:
            if "origin" in graph:
                graph.remove_node("origin")
        best = np.full(self.n_stops, np.iinfo(np.int64).max, dtype=np.int64)
        best[origin] = t0
        for b, w in self.walks[origin]:
            best[b] = min(best[b], t0 + w)
        for node, d in dist.items():
            if node[0] != "a":
                continue
            r = node[1]
            s, t = self.stop[r], t0 + d
            assert t == self.arr[r]  # every path lands on the event's own time
            best[s] = min(best[s], t)
            for b, w in self.walks[s]:
                best[b] = min(best[b], t + w)
        return best
