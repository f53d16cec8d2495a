"""Drainage network topology from an EPA SWMM 5 ``.inp`` file (no SWMM engine needed).

Reads the sections that define the network: ``[JUNCTIONS]`` (manholes), ``[OUTFALLS]``,
``[STORAGE]`` (tanks), ``[DIVIDERS]``, the links ``[CONDUITS]``, ``[PUMPS]``, ``[ORIFICES]``,
``[WEIRS]``, ``[OUTLETS]``, the conduit sizes in ``[XSECTIONS]`` (``Geom1`` of a circular
section is its diameter) and ``[COORDINATES]``. US flow units (CFS, GPM, MGD) mean lengths in
feet, SI units (CMS, LPS, MLD) metres; both are converted to metres and millimetres.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shancheng.errors import PipeNetworkError
from shancheng.lifelines.inp_check import check_swmm, read_sections
from shancheng.lifelines.pipes import LINK_COLUMNS, NODE_COLUMNS, PipeNetwork, build_network

_NODE_SECTIONS = {"JUNCTIONS": "manhole", "OUTFALLS": "outfall", "STORAGE": "tank",
                  "DIVIDERS": "junction"}  # fmt: skip
_LINK_SECTIONS = {"CONDUITS": "pipe", "PUMPS": "pump", "ORIFICES": "regulator",
                  "WEIRS": "regulator", "OUTLETS": "regulator"}  # fmt: skip
_US_UNITS = {"CFS", "GPM", "MGD"}
_SI_UNITS = {"CMS", "LPS", "MLD"}
_FEET_M = 0.3048


def read_swmm(path: str | Path) -> PipeNetwork:
    """Read a drainage network from a SWMM 5 ``.inp`` file.

    Raises
    ------
    PipeNetworkError
        Unreadable file, unknown ``FLOW_UNITS``, or any problem
        :func:`~shancheng.lifelines.inp_check.check_swmm` finds (file and line named): too few
        fields, a non-number, a duplicate id, an undefined node, a node without coordinates,
        an EPANET file given as SWMM.
    """
    file = Path(path)
    sections, _, _ = read_sections(file)
    check_swmm(file, sections)
    units = "CFS"
    for number, fields in sections.get("OPTIONS", []):
        if fields[0].upper() == "FLOW_UNITS":
            units = fields[1].upper() if len(fields) > 1 else ""
            if units not in _US_UNITS | _SI_UNITS:
                msg = (
                    f"{file}, line {number}: FLOW_UNITS must be one of "
                    f"{sorted(_US_UNITS | _SI_UNITS)}, got {units!r}"
                )
                raise PipeNetworkError(msg)
    to_m = _FEET_M if units in _US_UNITS else 1.0
    xy = {fields[0]: (fields[1], fields[2]) for _, fields in sections.get("COORDINATES", [])}
    nodes = []
    for section, kind in _NODE_SECTIONS.items():
        for _, fields in sections.get(section, []):
            x, y = xy.get(fields[0], ("nan", "nan"))
            nodes.append((fields[0], kind, _number(file, 0, x), _number(file, 0, y), 0, 0.0))
    diameter = {
        fields[0]: _number(file, number, fields[2]) * to_m * 1000.0
        for number, fields in sections.get("XSECTIONS", [])
        if len(fields) > 2  # noqa: PLR2004 - link, shape, geom1
    }
    links = []
    for section, kind in _LINK_SECTIONS.items():
        for number, fields in sections.get(section, []):
            if len(fields) < 3:  # noqa: PLR2004 - name, from, to
                msg = f"{file}, line {number}: [{section}] needs name, from node and to node"
                raise PipeNetworkError(msg)
            length = _number(file, number, fields[3]) * to_m if kind == "pipe" else 0.0
            links.append((fields[0], kind, fields[1], fields[2], length,
                          diameter.get(fields[0], float("nan")), "", -1))  # fmt: skip
    return build_network(
        "drainage",
        pd.DataFrame(nodes, columns=list(NODE_COLUMNS)),
        pd.DataFrame(links, columns=list(LINK_COLUMNS)),
        source=str(file),
    )


def _number(file: Path, line: int, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        msg = f"{file}, line {line}: expected a number, got {text!r}"
        raise PipeNetworkError(msg) from None
