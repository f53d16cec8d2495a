"""Any pipe network file, and a valve layer for it: what ``validate`` and ``isolate`` read.

:func:`read_network` picks the loader from the file name and the network kind the caller
names (an EPANET and a SWMM file both end in ``.inp``); :func:`read_valve_layer` reads isolation
valves from a CSV in WNTR's valve-layer format (``link,node``: the valve sits on ``link`` at
``node``), the format ``wntr.network.generate_valve_layer`` writes and utilities can export from
their GIS.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from shancheng.errors import PipeNetworkError
from shancheng.lifelines.pipes import read_gaslib, read_geojson, read_inp
from shancheng.lifelines.swmm import read_swmm

if TYPE_CHECKING:
    from shancheng.lifelines.pipes import NetworkKind, PipeNetwork

NETWORK_SUFFIXES = (".inp", ".geojson", ".json", ".net", ".zip")
"""File name endings :func:`read_network` knows."""


def read_network(path: str | Path, network: NetworkKind) -> PipeNetwork:
    """Read a pipe network file of the given kind, choosing the loader from its suffix.

    ``.inp`` is EPANET for ``water`` and SWMM 5 for ``drainage``; ``.geojson``/``.json`` is
    the GeoJSON layout of :func:`~shancheng.lifelines.pipes.read_geojson`; ``.net``/``.zip``
    is GasLib (``gas`` only).

    Raises
    ------
    PipeNetworkError
        Unknown suffix, a kind the format cannot hold, or any problem the loader finds.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".inp" and network == "drainage":
        return read_swmm(file)
    if suffix == ".inp" and network == "water":
        return read_inp(file)
    if suffix in {".geojson", ".json"}:
        return read_geojson(file, network)
    if suffix in {".net", ".zip"} and network == "gas":
        return read_gaslib(file)
    if suffix not in NETWORK_SUFFIXES:
        msg = f"{file}: unknown network file type {suffix!r}; expected one of {NETWORK_SUFFIXES}"
        raise PipeNetworkError(msg)
    formats = {".inp": "water (EPANET) or drainage (SWMM)", ".net": "gas", ".zip": "gas"}
    msg = f"{file}: a {suffix} file holds a {formats[suffix]} network, not {network}"
    raise PipeNetworkError(msg)


def read_valve_layer(path: str | Path, net: PipeNetwork) -> PipeNetwork:
    """Return ``net`` with the isolation valves of a valve-layer CSV (columns ``link,node``).

    An optional ``valve_id`` column names the valves (else ``V<row>``, as
    :meth:`~shancheng.lifelines.pipes.PipeNetwork.with_valves` does).

    Raises
    ------
    PipeNetworkError
        Unreadable file, a missing column, or a row whose link or node is unknown or whose
        node is not an end of its link -- each named by its line in the file.
    """
    file = Path(path)
    try:
        with file.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
            fields = set(rows[0]) if rows else set()
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        msg = f"{file}: not a readable valve layer CSV ({type(exc).__name__}: {exc})"
        raise PipeNetworkError(msg) from exc
    missing = [c for c in ("link", "node") if c not in fields]
    if missing:
        msg = f"{file}: a valve layer needs columns `link` and `node`; missing {missing}"
        raise PipeNetworkError(msg)
    ends = dict(
        zip(net.links["link_id"], zip(net.links["from_node"], net.links["to_node"], strict=True),
            strict=True)
    )  # fmt: skip
    problems = []
    for line, row in enumerate(rows, start=2):
        link, node = (row["link"] or "").strip(), (row["node"] or "").strip()
        if link not in ends:
            problems.append(f"{file}, line {line}: unknown link {link!r} in {net.source}")
        elif node not in ends[link]:
            problems.append(
                f"{file}, line {line}: node {node!r} is not an end of link {link!r} "
                f"(ends {ends[link][0]!r}, {ends[link][1]!r})"
            )
    if problems:
        raise PipeNetworkError("\n".join(problems))
    layer = pd.DataFrame(
        {
            "valve_id": [row.get("valve_id") or f"V{i}" for i, row in enumerate(rows)],
            "link": [row["link"].strip() for row in rows],
            "node": [row["node"].strip() for row in rows],
        }
    )
    return net.with_valves(layer)
