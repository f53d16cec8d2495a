"""Water leak detection and localisation from pressure sensors and the hydraulic model.

Method (a night-residual change detector with a sensitivity-matrix localiser):

1. *Residuals.* Measured pressure minus the leak-free model's pressure at each sensor, averaged
   over the night hours (01:00-04:00, when demand and head losses are lowest), one vector a day.
2. *Common modes.* Day-to-day swings of the whole town's demand move every sensor together
   along a few directions; the ``common_modes`` main directions of the daily changes (SVD,
   estimated on the analysed period) are projected out of the residuals and the signatures.
3. *Detection.* A day's drop below the median of a reference window (days ``d - lag - window``
   to ``d - lag``) larger than ``threshold_m`` at any sensor raises a detection; then the
   detector rests ``cooldown_days`` while the reference catches up with the new state.
4. *Localisation.* The drop vector is compared (cosine similarity) with each pipe's signature:
   the pressure change at the sensors when a small leak opens at the pipe's end nodes, one
   steady-state EPANET solve per node at night demand (:func:`node_signatures`). Drops that
   resemble no pipe (similarity below ``min_similarity``) are not reported.

:mod:`shancheng.lifelines.scada_simulation` makes a training year for L-Town when the official
SCADA files are absent; :mod:`shancheng.lifelines.leak_fusion` adds the zones' flow evidence.
"""

from __future__ import annotations

import logging
import math
import tempfile
from contextlib import chdir
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
STEP_S = 300
NIGHT_HOURS = (1, 2, 3)
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


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Tunable parameters of the detector (tune on the training year only)."""

    threshold_m: float = 0.3
    window_days: int = 7
    lag_days: int = 2
    cooldown_days: int = 14
    min_similarity: float = 0.0
    common_modes: int = 2


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


def _common_modes(values: FloatArray, k: int) -> FloatArray:
    """Return the ``k`` main directions of day-to-day residual change (demand swings)."""
    if k <= 0 or values.shape[0] < k + 2:
        return np.zeros((0, values.shape[1]))
    change = np.diff(values, axis=0)
    _, _, vt = np.linalg.svd(change - change.mean(axis=0), full_matrices=False)
    modes: FloatArray = vt[:k]
    return modes


def detect_leaks(
    measured_m: pd.DataFrame,
    model_m: pd.DataFrame,
    pipe_names: list[str],
    pipe_signature: FloatArray,
    settings: DetectorSettings | None = None,
) -> pd.DataFrame:
    """Run the detector; one row per detection: ``link_id, time, drop_m, similarity``."""
    settings = settings or DetectorSettings()
    residual = measured_m - model_m
    stamps = pd.DatetimeIndex(residual.index)
    night = residual[stamps.hour.isin(NIGHT_HOURS)]
    daily = night.groupby(pd.DatetimeIndex(night.index).normalize()).mean()
    values = daily.to_numpy()
    modes = _common_modes(values, settings.common_modes)
    values = values - (values @ modes.T) @ modes
    signature = pipe_signature - (pipe_signature @ modes.T) @ modes
    unit = signature / np.maximum(np.linalg.norm(signature, axis=1, keepdims=True), 1e-12)
    rows = []
    rest_until = -1
    first = settings.window_days + settings.lag_days
    for d in range(first, values.shape[0]):
        if d <= rest_until:
            continue
        reference = np.median(values[d - first : d - settings.lag_days], axis=0)
        drop = reference - values[d]
        if float(drop.max()) <= settings.threshold_m:
            continue
        similarity = unit @ (-drop / max(float(np.linalg.norm(drop)), 1e-12))
        best = int(np.argmax(similarity))
        if similarity[best] < settings.min_similarity:
            continue
        when = daily.index[d].to_pydatetime() + timedelta(hours=max(NIGHT_HOURS) + 1)
        rows.append((pipe_names[best], when, float(drop.max()), float(similarity[best])))
        rest_until = d + settings.cooldown_days
    return pd.DataFrame(rows, columns=["link_id", "time", "drop_m", "similarity"])
