"""Pressure sensitivities of a water network: how each sensor sees a leak at each pipe.

A small leak opened at a junction (an EPANET emitter) lowers the pressure at every sensor by an
amount that depends on where it is: one steady-state solve per junction at night demand gives
that *signature* (:func:`node_signatures`), and a pipe's signature is the mean of its end
junctions' (:func:`pipe_signatures`). :mod:`shancheng.lifelines.leak_fusion` compares a
measured night pressure change with them to name the leaking pipe. (The pressure-only detector
that lived here before the flow + pressure one is gone: it was superseded and no command
reached it.)
"""

from __future__ import annotations

import math
import tempfile
from contextlib import chdir
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from shancheng.types import FloatArray

_EN_EMITTER, _EN_PRESSURE, _EN_DURATION, _EN_PATTERNSTART = 3, 11, 0, 4


def node_signatures(
    inp: str | Path,
    sensors: list[str],
    *,
    at_s: int = 3 * 3600,
    emitter: float = 1.0,
    per_unit_flow: bool = False,
) -> pd.DataFrame:
    """Pressure change (m) at each sensor when a small leak opens at each junction.

    One steady-state EPANET solve per junction at ``at_s`` into the demand patterns (night),
    through the EPANET toolkit (no file written per solve). With ``per_unit_flow`` each row is
    divided by the leak's outflow (``emitter x sqrt(pressure)``, in the model's flow unit, m³/h
    for L-Town): the sensitivity per unit of leak flow, to compare with a metered flow step.

    Returns
    -------
    pandas.DataFrame
        Index = junction ids, columns = sensor ids; values <= 0 (pressure falls).
    """
    from wntr.epanet import toolkit  # noqa: PLC0415 - heavy

    inp = Path(inp).resolve()
    with tempfile.TemporaryDirectory() as folder, chdir(folder):
        en = toolkit.ENepanet()
        en.ENopen(str(inp), str(Path(folder) / "r.rpt"), str(Path(folder) / "r.bin"))
        try:
            en.ENsettimeparam(_EN_DURATION, 0)
            en.ENsettimeparam(_EN_PATTERNSTART, at_s)
            sensor_index = [en.ENgetnodeindex(s) for s in sensors]
            count = en.ENgetcount(0)
            junctions = [i for i in range(1, count + 1) if en.ENgetnodetype(i) == 0]
            base = _solve(en, sensor_index)
            rows = []
            for i in junctions:
                en.ENsetnodevalue(i, _EN_EMITTER, emitter)
                values = _solve(en, [*sensor_index, i])
                en.ENsetnodevalue(i, _EN_EMITTER, 0.0)
                change = values[:-1] - base
                if per_unit_flow:
                    change = change / max(emitter * math.sqrt(max(values[-1], 0.0)), 1e-9)
                rows.append(change)
            names = [en.ENgetnodeid(i) for i in junctions]
        finally:
            en.ENclose()
    return pd.DataFrame(np.asarray(rows), index=names, columns=sensors)


def _solve(en: Any, sensor_index: list[int]) -> FloatArray:  # noqa: ANN401 - toolkit object
    en.ENopenH()
    en.ENinitH(0)
    en.ENrunH()
    values = np.array([en.ENgetnodevalue(i, _EN_PRESSURE) for i in sensor_index])
    en.ENcloseH()
    return values


def pipe_signatures(links: pd.DataFrame, signatures: pd.DataFrame) -> tuple[list[str], FloatArray]:
    """Per pipe: the mean of its end junctions' signatures (pipes without one are skipped)."""
    names, rows = [], []
    known = signatures.index
    for link_id, a, b in links[["link_id", "from_node", "to_node"]].itertuples(
        index=False, name=None
    ):
        ends = [n for n in (a, b) if n in known]
        if ends:
            names.append(str(link_id))
            rows.append(signatures.loc[ends].to_numpy().mean(axis=0))
    return names, np.asarray(rows)
