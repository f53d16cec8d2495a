"""From a zone to a pipe: locate the leak watch's alarms with the SCADA pressures.

Flows say a zone is losing water (:mod:`shancheng.lifelines.leak_watch`); pressures say where.
When the SCADA export has pressure sensors, each zone alarm is handed to
:func:`~shancheng.lifelines.leak_fusion.detect_leaks_fused` with the zone's learned noise and
calibrated threshold, so the steps are the watch's own: the change of the night pressure
residual (measured minus the leak-free model, run here with EPANET from the model's clock) is
fitted by each pipe of the zone's sensitivity per m³/h
(:func:`~shancheng.lifelines.leak_signatures.node_signatures`, one steady solve per junction),
with town-wide demand changes fitted out. A step whose best pipe explains little of the
pressure change keeps its zone and no pipe.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shancheng.lifelines.leak_fusion import detect_leaks_fused
from shancheng.lifelines.leak_signatures import node_signatures, pipe_signatures
from shancheng.lifelines.leaks import STEP_S
from shancheng.lifelines.scada_simulation import step_through
from shancheng.lifelines.water_balance import night_mean

if TYPE_CHECKING:
    from shancheng.lifelines.leak_watch import ZoneWatch
    from shancheng.lifelines.pipes import PipeNetwork
    from shancheng.lifelines.scada import Scada


def model_pressures(inp: str | Path, sensors: list[str], index: pd.DatetimeIndex) -> pd.DataFrame:
    """Leak-free model pressures (m) at ``sensors`` on the readings' 5-minute clock.

    The model's time 0 is the first reading (BattLeDIM's clock: patterns start with the year).
    """
    first = pd.Timestamp(index[0])
    days = max(1, math.ceil((pd.Timestamp(index[-1]) - first).total_seconds() / 86_400) + 1)
    pressure, _, _ = step_through(
        Path(inp).resolve(), sensors, days=days, flow_sensors=(), level_sensors=()
    )
    clock = pd.date_range(first, periods=pressure.shape[0], freq=f"{STEP_S}s")
    return pd.DataFrame(pressure, index=clock, columns=sensors).reindex(index)


def locate(
    inp: str | Path,
    net: PipeNetwork,
    wn: Any,  # noqa: ANN401 - wntr is untyped
    scada: Scada,
    residuals: pd.DataFrame,
    watches: list[ZoneWatch],
    zone_of_node: dict[str, str],
) -> pd.DataFrame:
    """Pipe of each zone alarm the pressures can place.

    Returns
    -------
    pandas.DataFrame
        :func:`~shancheng.lifelines.leak_fusion.detect_leaks_fused`'s table: ``link_id``
        (empty where the pressures could not place the step), ``time`` (the alarm night's
        end), ``placed_time`` (the end of the night the pipe was named), one row per step.
    """
    sensors = [str(c) for c in scada.pressures_m.columns]
    model = model_pressures(inp, sensors, pd.DatetimeIndex(scada.pressures_m.index))
    night = night_mean(scada.pressures_m - model).reindex(residuals.index)
    unit = node_signatures(inp, sensors, per_unit_flow=True)
    names, matrix = pipe_signatures(net.links[net.links["kind"] == "pipe"], unit)
    start_of = dict(zip(net.links["link_id"].astype(str), net.links["from_node"].astype(str),
                        strict=True))  # fmt: skip
    zones = [zone_of_node.get(start_of[name], "") for name in names]
    keep = [i for i, zone in enumerate(zones) if zone]
    weight = pd.Series(
        {n: sum(d.base_value for d in j.demand_timeseries_list) for n, j in wn.junctions()}
    )
    nuisance = np.column_stack(
        [
            (unit.loc[w.index].to_numpy() * w.to_numpy()[:, None]).sum(axis=0)
            / max(float(w.sum()), 1e-12)
            for watch in watches
            for w in [weight[[n for n in weight.index if zone_of_node.get(n) == watch.zone.name]]]
        ]
    )
    thresholds = {w.zone.name: (w.noise.sd_m3_h, w.h_sd) for w in watches}
    return detect_leaks_fused(
        residuals, night, net, [names[i] for i in keep], [zones[i] for i in keep],
        matrix[keep], nuisance, thresholds=thresholds,
    )  # fmt: skip
