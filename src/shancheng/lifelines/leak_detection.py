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

:func:`simulate_battledim_year` makes a training year for L-Town when the official pressure
files are absent: the nominal model with ±5 % static demand error per junction, ±3 % daily
demand noise and 0.05 m sensor noise, and each leak of the configuration as an orifice at its
pipe's midpoint (``Q = 0.75 A(t) sqrt(2 g p)``, ``A`` growing linearly to the peak time for
incipient leaks, full at once for abrupt ones, ``p`` the model's mean pressure there). The leak
enters EPANET as a demand with that time series, so its outflow is known exactly for scoring.
"""

from __future__ import annotations

import logging
import math
import tempfile
import warnings
from contextlib import chdir
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from shancheng.lifelines.leaks import Leak

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
STEP_S = 300
NIGHT_HOURS = (1, 2, 3)
DISCHARGE_COEFFICIENT = 0.75
GRAVITY_M_S2 = 9.81
_EN_EMITTER, _EN_PRESSURE, _EN_DURATION, _EN_PATTERNSTART = 3, 11, 0, 4


@dataclass(frozen=True, eq=False)
class SimulatedYear:
    """Hourly sensor pressures of the 'real' network and of the leak-free model.

    Attributes
    ----------
    measured_m, model_m
        Hourly pressure (m) at the sensors, index = timestamps, columns = sensor node ids.
    leak_flow_m3_h
        Each leak's outflow at 5-minute steps from the start, keyed by link id.
    """

    measured_m: pd.DataFrame
    model_m: pd.DataFrame
    leak_flow_m3_h: dict[str, FloatArray]


def _load(inp: Path, days: int) -> Any:  # noqa: ANN401 - wntr is untyped
    import wntr  # noqa: PLC0415 - heavy

    wn = wntr.network.WaterNetworkModel(str(inp))
    wn.options.time.duration = days * 86_400
    wn.options.time.report_timestep = 3_600
    return wn


def _run(wn: Any, sensors: list[str]) -> pd.DataFrame:  # noqa: ANN401 - wntr is untyped
    import wntr  # noqa: PLC0415

    # EPANET writes scratch files into the working directory: keep them in a temporary one
    with tempfile.TemporaryDirectory() as folder, chdir(folder), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(Path(folder) / "run"))
    pressure: pd.DataFrame = results.node["pressure"][sensors]
    return pressure


def simulate_battledim_year(
    inp: str | Path,
    leaks: list[Leak],
    sensors: list[str],
    *,
    start: datetime,
    days: int = 365,
    seed: int = 2018,
) -> SimulatedYear:
    """Simulate ``days`` of L-Town SCADA pressures with ``leaks`` (see the module docstring)."""
    import wntr  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    model = _load(Path(inp), days)
    model_p = _run(model, sensors)
    real = _load(Path(inp), days)
    n_steps = days * 86_400 // STEP_S
    for name in ("P-Residential", "P-Commercial"):
        pattern = real.get_pattern(name)
        base = np.resize(np.asarray(pattern.multipliers, dtype=np.float64), n_steps)
        daily = np.repeat(1.0 + rng.normal(0.0, 0.03, days), 86_400 // STEP_S)
        pattern.multipliers = (base * daily).tolist()
    for _, junction in real.junctions():
        factor = float(np.clip(rng.normal(1.0, 0.05), 0.85, 1.15))
        for demand in junction.demand_timeseries_list:
            demand.base_value *= factor
    mean_p = _mean_link_pressure(inp, days=min(days, 7))
    flows: dict[str, FloatArray] = {}
    t = np.arange(n_steps, dtype=np.float64) * STEP_S
    for leak in leaks:
        flow_m3_s = _orifice_flow(leak, t, start, mean_p.get(leak.link_id, 40.0))
        flows[leak.link_id] = flow_m3_s * 3600.0
        junction_name = f"leak_{leak.link_id}"
        real = wntr.morph.split_pipe(real, leak.link_id, f"{leak.link_id}_b", junction_name)
        real.add_pattern(junction_name, flow_m3_s.tolist())
        real.get_node(junction_name).add_demand(1.0, junction_name)
    measured = _run(real, sensors) + rng.normal(0.0, 0.05, (len(model_p), len(sensors)))
    index = pd.date_range(start, periods=len(model_p), freq="h")
    measured.index = index
    model_p.index = index
    return SimulatedYear(measured, model_p, flows)


def _orifice_flow(leak: Leak, t_s: FloatArray, start: datetime, pressure_m: float) -> FloatArray:
    """Outflow (m³/s) of a leak at times ``t_s`` after ``start``."""
    begin = (leak.start - start).total_seconds()
    end = (leak.end - start).total_seconds()
    peak = (leak.peak - start).total_seconds()
    if leak.kind == "incipient" and peak > begin:
        growth = np.clip((t_s - begin) / (peak - begin), 0.0, 1.0)
    else:
        growth = (t_s >= begin).astype(np.float64)
    growth = np.where((t_s >= begin) & (t_s <= end), growth, 0.0)
    area = math.pi * leak.diameter_m**2 / 4
    speed = math.sqrt(2 * GRAVITY_M_S2 * max(pressure_m, 0.0))
    flow: FloatArray = DISCHARGE_COEFFICIENT * area * speed * growth
    return flow


def _mean_link_pressure(inp: str | Path, *, days: int) -> dict[str, float]:
    """Mean model pressure (m) at each pipe's midpoint, as the mean of its end nodes."""
    wn = _load(Path(inp), days)
    pressure = _run(wn, list(wn.node_name_list)).mean()
    return {
        name: float((pressure[link.start_node_name] + pressure[link.end_node_name]) / 2)
        for name, link in wn.pipes()
    }


def node_signatures(
    inp: str | Path, sensors: list[str], *, at_s: int = 3 * 3600, emitter: float = 1.0
) -> pd.DataFrame:
    """Pressure change (m) at each sensor when a small leak opens at each junction.

    One steady-state EPANET solve per junction at ``at_s`` into the demand patterns (night),
    through the EPANET toolkit (no file written per solve).

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
                rows.append(_solve(en, sensor_index) - base)
                en.ENsetnodevalue(i, _EN_EMITTER, 0.0)
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
