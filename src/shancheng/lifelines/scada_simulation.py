"""A simulated BattLeDIM SCADA year: pressures, inflows and tank level at 5-minute steps.

The official 2018 SCADA files of L-Town are not available here, so the year is made with
EPANET (through WNTR's toolkit binding) from ``L-TOWN.inp`` and the leak configuration, at
the positions of the official sensors: the 33 pressure sensors, the flow meters on the two
reservoir pipes (``p227``, ``p235``) and on ``PUMP_1``, and the level of tank ``T1``.

The "real" network differs from the model by (one seeded random draw, documented so the
figures can be reproduced and judged):

- *static demand error*: each junction's base demands times ``N(1, 0.05)``, clipped to
  [0.85, 1.15] (the model's demand allocation is wrong by a few per cent);
- *daily demand swing*: each demand pattern times ``N(1, daily_sd)`` per day (weather,
  weekdays and holidays move the whole town together);
- *fast demand fluctuation*: each pattern times ``1 + e_t`` at every 5-minute step, ``e`` an
  AR(1) process with standard deviation ``fast_sd`` and a one-hour correlation time;
- *leaks*: each leak an orifice at its pipe's midpoint, ``Q = 0.75 A(t) sqrt(2 g p)``, ``A``
  growing linearly to the peak time for incipient leaks, full at once for abrupt ones, ``p``
  the model's mean pressure there over the first week; entered as a demand so its outflow
  is known exactly for scoring;
- *sensor noise*: pressures ``+ N(0, 0.05 m)``, flows ``x (1 + N(0, 0.01))`` (a 1 % meter),
  tank level rounded to 1 cm as in the official ``Levels.csv``.

The leak-free *model* pressures come from the nominal network with the same clock, so the
detectors see exactly what a utility would: measurements and a calibrated-but-imperfect model.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from contextlib import chdir
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shancheng.lifelines.leaks import STEP_S

if TYPE_CHECKING:
    from datetime import datetime

    from shancheng.lifelines.leaks import Leak
    from shancheng.types import FloatArray


DISCHARGE_COEFFICIENT = 0.75
GRAVITY_M_S2 = 9.81
FLOW_SENSORS = ("p227", "p235", "PUMP_1")
"""L-Town's flow meters in the BattLeDIM SCADA files (m³/h)."""
LEVEL_SENSORS = ("T1",)
"""L-Town's tank level sensor (m)."""
_EN_FLOW, _EN_PRESSURE, _EN_HEAD, _EN_ELEVATION = 8, 11, 10, 0
_DEMAND_PATTERNS = ("P-Residential", "P-Commercial")


@dataclass(frozen=True, slots=True)
class NoiseSettings:
    """Demand and sensor noise of the simulated year (module docstring)."""

    static_sd: float = 0.05
    daily_sd: float = 0.03
    fast_sd: float = 0.05
    fast_correlation_s: float = 3600.0
    pressure_sd_m: float = 0.05
    flow_relative_sd: float = 0.01
    level_resolution_m: float = 0.01


@dataclass(frozen=True, eq=False)
class ScadaYear:
    """Five-minute SCADA readings of the simulated year and of the leak-free model.

    Attributes
    ----------
    pressure_m
        Measured pressure (m) at the pressure sensors (columns = node ids).
    model_pressure_m
        The leak-free nominal model's pressure at the same sensors and times.
    flow_m3_h
        Measured flow (m³/h) at :data:`FLOW_SENSORS`.
    level_m
        Measured tank level (m) at :data:`LEVEL_SENSORS`.
    leak_flow_m3_h
        Each leak's true outflow (m³/h) at 5-minute steps from the start, keyed by link id.
    """

    pressure_m: pd.DataFrame
    model_pressure_m: pd.DataFrame
    flow_m3_h: pd.DataFrame
    level_m: pd.DataFrame
    leak_flow_m3_h: dict[str, FloatArray]


def _ar1(rng: np.random.Generator, n: int, sd: float, correlation_s: float) -> FloatArray:
    """Draw an AR(1) series of ``n`` 5-minute steps with stationary standard deviation ``sd``."""
    phi = math.exp(-STEP_S / correlation_s)
    shocks = rng.normal(0.0, sd * math.sqrt(1 - phi**2), n)
    out = np.empty(n, dtype=np.float64)
    level = rng.normal(0.0, sd)
    for i in range(n):
        level = phi * level + shocks[i]
        out[i] = level
    return out


def _orifice_flow(leak: Leak, t_s: FloatArray, start: datetime, pressure_m: float) -> FloatArray:
    """Return the outflow (m³/s) of a leak at times ``t_s`` after ``start``."""
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


def _mean_link_pressure(inp: Path, *, days: int) -> dict[str, float]:
    """Return the mean model pressure (m) at each pipe's midpoint (mean of its end nodes)."""
    import wntr  # noqa: PLC0415 - heavy

    wn = wntr.network.WaterNetworkModel(str(inp))
    wn.options.time.duration = days * 86_400
    wn.options.time.report_timestep = 3_600
    with tempfile.TemporaryDirectory() as folder, chdir(folder), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(Path(folder) / "run"))
    pressure = results.node["pressure"].mean()
    return {
        name: float((pressure[link.start_node_name] + pressure[link.end_node_name]) / 2)
        for name, link in wn.pipes()
    }


def _real_network(
    inp: Path, leaks: list[Leak], *, start: datetime, days: int, noise: NoiseSettings, seed: int
) -> tuple[Any, dict[str, FloatArray]]:
    """Build the 'real' L-Town: noisy demands and the leaks as demand junctions."""
    import wntr  # noqa: PLC0415 - heavy

    rng = np.random.default_rng(seed)
    real = wntr.network.WaterNetworkModel(str(inp))
    n_steps = days * 86_400 // STEP_S
    per_day = 86_400 // STEP_S
    for name in _DEMAND_PATTERNS:
        pattern = real.get_pattern(name)
        base = np.resize(np.asarray(pattern.multipliers, dtype=np.float64), n_steps)
        daily = np.repeat(1.0 + rng.normal(0.0, noise.daily_sd, days), per_day)
        fast = 1.0 + _ar1(rng, n_steps, noise.fast_sd, noise.fast_correlation_s)
        pattern.multipliers = np.maximum(base * daily * fast, 0.0).tolist()
    for _, junction in real.junctions():
        factor = float(np.clip(rng.normal(1.0, noise.static_sd), 0.85, 1.15))
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
    return real, flows


def step_through(
    inp: Path,
    sensors: list[str],
    *,
    days: int,
    flow_sensors: tuple[str, ...] = FLOW_SENSORS,
    level_sensors: tuple[str, ...] = LEVEL_SENSORS,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Run EPANET step by step; keep pressures, flows and tank levels at every 5 minutes.

    Pressures (m) at the ``sensors`` junctions, flows (the model's unit, m³/h for L-Town) on
    ``flow_sensors``, levels (m above the bottom) of ``level_sensors``; the clock starts at the
    model's time 0 (its pattern start), so row ``k`` is ``k x 5`` minutes in.
    """
    from wntr.epanet import toolkit  # noqa: PLC0415 - heavy

    n_steps = days * 86_400 // STEP_S
    pressure = np.empty((n_steps, len(sensors)))
    flow = np.empty((n_steps, len(flow_sensors)))
    level = np.empty((n_steps, len(level_sensors)))
    with tempfile.TemporaryDirectory() as folder, chdir(folder):
        en = toolkit.ENepanet()
        en.ENopen(str(inp), str(Path(folder) / "r.rpt"), str(Path(folder) / "r.bin"))
        try:
            en.ENsettimeparam(0, (n_steps - 1) * STEP_S)
            nodes = [en.ENgetnodeindex(s) for s in sensors]
            links = [en.ENgetlinkindex(s) for s in flow_sensors]
            tanks = [en.ENgetnodeindex(s) for s in level_sensors]
            bottom = [en.ENgetnodevalue(i, _EN_ELEVATION) for i in tanks]
            en.ENopenH()
            en.ENinitH(0)
            k = 0
            while k < n_steps:
                t = en.ENrunH()
                if t % STEP_S == 0 and t // STEP_S == k:
                    pressure[k] = [en.ENgetnodevalue(i, _EN_PRESSURE) for i in nodes]
                    flow[k] = [en.ENgetlinkvalue(i, _EN_FLOW) for i in links]
                    level[k] = [
                        en.ENgetnodevalue(i, _EN_HEAD) - b
                        for i, b in zip(tanks, bottom, strict=True)
                    ]
                    k += 1
                if en.ENnextH() <= 0:
                    break
            en.ENcloseH()
        finally:
            en.ENclose()
    return pressure[:k], flow[:k], level[:k]


def simulate_scada_year(
    inp: str | Path,
    leaks: list[Leak],
    sensors: list[str],
    *,
    start: datetime,
    days: int = 365,
    seed: int = 2018,
    noise: NoiseSettings | None = None,
) -> ScadaYear:
    """Simulate ``days`` of L-Town SCADA readings with ``leaks`` (see the module docstring).

    Parameters
    ----------
    inp
        The nominal EPANET model (``L-TOWN.inp``); its flow unit must be m³/h (CMH).
    leaks
        The leak configuration (:func:`shancheng.lifelines.leaks.read_leak_configuration`).
    sensors
        Pressure sensor node ids.
    start
        The clock time of the first step.
    """
    import wntr  # noqa: PLC0415 - heavy

    noise = noise or NoiseSettings()
    inp = Path(inp).resolve()
    rng = np.random.default_rng(seed + 1)
    real, leak_flows = _real_network(inp, leaks, start=start, days=days, noise=noise, seed=seed)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        real_inp = Path(folder) / "real.inp"
        wntr.network.write_inpfile(real, str(real_inp))
        pressure, flow, level = step_through(real_inp, sensors, days=days)
        model_pressure, _, _ = step_through(inp, sensors, days=days)
    index = pd.date_range(start, periods=pressure.shape[0], freq=f"{STEP_S}s")
    pressure = pressure + rng.normal(0.0, noise.pressure_sd_m, pressure.shape)
    flow = flow * (1.0 + rng.normal(0.0, noise.flow_relative_sd, flow.shape))
    level = np.round(level / noise.level_resolution_m) * noise.level_resolution_m
    return ScadaYear(
        pressure_m=pd.DataFrame(pressure, index=index, columns=sensors),
        model_pressure_m=pd.DataFrame(model_pressure, index=index, columns=sensors),
        flow_m3_h=pd.DataFrame(flow, index=index, columns=list(FLOW_SENSORS)),
        level_m=pd.DataFrame(level, index=index, columns=list(LEVEL_SENSORS)),
        leak_flow_m3_h=leak_flows,
    )
