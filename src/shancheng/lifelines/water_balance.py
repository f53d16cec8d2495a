"""Zone water balance and minimum night flow (MNF): the flow evidence of a new leak.

A leak is water the customers do not use, and at night (02:00-05:00) customers use least, so a
new leak shows as a *step* in a zone's night inflow. This module:

1. turns the SCADA meters into each zone's consumption, ``inflows - outflows - storage
   change`` (a tank's level change times its area) (:func:`zone_consumption`);
2. averages it over the night, one value a day (:func:`night_mean`);
3. predicts the leak-free night flow from the hydraulic model's demand patterns, scaled to
   leak-free training days (:func:`expected_night_flow`, :func:`fit_scale`);
4. finds steps in the difference with a two-sided CUSUM on an *anchored* baseline (a slowly
   growing leak adds up instead of being absorbed by a moving average), and sizes each step in
   m³/h (:func:`flow_steps`).

Steps down (a repair) re-anchor the baseline and are reported with a negative size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shancheng.errors import InputError

if TYPE_CHECKING:
    from shancheng.types import FloatArray

NIGHT_HOURS = (2, 3, 4)
"""Hours (clock) averaged into the night flow: 02:00-04:59, the lowest use of the day."""


@dataclass(frozen=True, slots=True)
class BalanceZone:
    """A metered zone: flow sensors into it, out of it, and tanks inside it.

    Attributes
    ----------
    name
        The zone's name (a column of :func:`zone_consumption`).
    inflows, outflows
        Flow sensor ids (m³/h) counted in and out.
    tanks
        ``(level sensor id, tank area m²)``: the tank's filling is water not consumed.
    """

    name: str
    inflows: tuple[str, ...]
    outflows: tuple[str, ...] = ()
    tanks: tuple[tuple[str, float], ...] = ()


def zone_consumption(
    flow_m3_h: pd.DataFrame, level_m: pd.DataFrame, zones: list[BalanceZone]
) -> pd.DataFrame:
    """Each zone's consumption (m³/h) at the meters' time steps.

    The storage change uses the forward difference of the level, so the night mean of the
    result telescopes to the tank's volume change over the night.

    Raises
    ------
    InputError
        A zone names a sensor that is not a column of ``flow_m3_h`` / ``level_m``.

    Examples
    --------
    >>> idx = pd.date_range("2018-01-01", periods=3, freq="1h")
    >>> flows = pd.DataFrame({"in": [10.0, 10.0, 10.0], "pump": [4.0, 4.0, 0.0]}, index=idx)
    >>> levels = pd.DataFrame({"T": [1.0, 1.5, 1.5]}, index=idx)
    >>> zones = [BalanceZone("low", ("in",), ("pump",)),
    ...          BalanceZone("high", ("pump",), (), (("T", 4.0),))]
    >>> zone_consumption(flows, levels, zones).round(1).to_numpy().tolist()
    [[6.0, 2.0], [6.0, 4.0], [10.0, 0.0]]
    """
    out = {}
    for zone in zones:
        _check(zone, flow_m3_h, level_m)
        total = flow_m3_h[list(zone.inflows)].sum(axis=1) - flow_m3_h[list(zone.outflows)].sum(
            axis=1
        )
        for sensor, area_m2 in zone.tanks:
            level = level_m[sensor]
            step_h = pd.Series(level.index, index=level.index).diff().shift(-1).dt.total_seconds()
            rate = (level.shift(-1) - level) / (step_h / 3600.0)
            total = total - (rate.ffill().fillna(0.0) * area_m2)
        out[zone.name] = total
    return pd.DataFrame(out, index=flow_m3_h.index)


def _check(zone: BalanceZone, flow_m3_h: pd.DataFrame, level_m: pd.DataFrame) -> None:
    missing = [s for s in (*zone.inflows, *zone.outflows) if s not in flow_m3_h.columns]
    missing += [s for s, _ in zone.tanks if s not in level_m.columns]
    if missing:
        msg = f"zone {zone.name!r}: no readings for sensor(s) {', '.join(missing)}"
        raise InputError(msg)


def night_mean(frame: pd.DataFrame, *, hours: tuple[int, ...] = NIGHT_HOURS) -> pd.DataFrame:
    """Mean of ``frame`` over the night ``hours``, one row per calendar day (index: midnight)."""
    stamps = pd.DatetimeIndex(frame.index)
    night = frame[stamps.hour.isin(hours)]
    return night.groupby(pd.DatetimeIndex(night.index).normalize()).mean()


def expected_night_flow(
    base_m3_h: dict[str, float],
    multipliers: dict[str, FloatArray],
    days: pd.DatetimeIndex,
    *,
    pattern_start: pd.Timestamp,
    step_s: int,
    hours: tuple[int, ...] = NIGHT_HOURS,
) -> FloatArray:
    """Predict the demand model's night flow (m³/h) on each of ``days``.

    ``sum over patterns of base demand x the pattern's mean multiplier over the night hours``;
    patterns repeat (EPANET's rule) from ``pattern_start``; a pattern missing from
    ``multipliers`` is constant 1.

    Examples
    --------
    >>> days = pd.DatetimeIndex(["2018-01-01", "2018-01-02"])
    >>> week = np.r_[np.full(24, 1.0), np.full(24, 2.0)]  # hourly, two days
    >>> expected_night_flow({"res": 10.0, "ind": 1.0}, {"res": week}, days,
    ...                     pattern_start=days[0], step_s=3600).tolist()
    [11.0, 21.0]
    """
    out = np.zeros(len(days), dtype=np.float64)
    offsets = np.array([h * 3600 + s for h in hours for s in range(0, 3600, step_s)])
    for name, base in base_m3_h.items():
        pattern = multipliers.get(name)
        if pattern is None or len(pattern) == 0:
            out += base
            continue
        start_s = (days - pattern_start).total_seconds().to_numpy()
        position = ((start_s[:, None] + offsets[None, :]) // step_s).astype(np.int64) % len(pattern)
        out += base * np.asarray(pattern, dtype=np.float64)[position].mean(axis=1)
    return out


def fit_scale(observed: FloatArray, expected: FloatArray) -> float:
    """Ratio of observed to expected night flow on leak-free days (median, robust)."""
    ratio = observed / np.maximum(expected, 1e-9)
    return float(np.median(ratio))


def noise_sd(residual: FloatArray) -> float:
    """Day-to-day noise of a night-flow residual: MAD of first differences / (0.6745 sqrt 2).

    Differences cancel the steps themselves (each step touches one difference), so the
    figure is the demand noise even over a period with leaks.
    """
    diff = np.diff(residual[np.isfinite(residual)])
    if diff.shape[0] == 0:
        return 0.0
    mad = float(np.median(np.abs(diff - np.median(diff))))
    return mad / 0.6745 / float(np.sqrt(2.0))


@dataclass(frozen=True, slots=True)
class FlowStep:
    """One step found in a zone's night-flow residual (days are row positions).

    Attributes
    ----------
    day
        The day the CUSUM crossed its threshold (the alarm).
    onset
        The first day of the step (the CUSUM's last zero before the alarm).
    baseline
        ``(first, onset)``: the days since the last anchor, before the step.
    size_m3_h
        Mean residual above the baseline from ``onset`` to ``day`` (negative for a drop).
    """

    day: int
    onset: int
    baseline: tuple[int, int]
    size_m3_h: float


def flow_steps(
    residual: FloatArray,
    *,
    sd: float,
    k_sd: float = 0.5,
    h_sd: float = 5.0,
    training_days: int = 7,
    settle_days: int = 7,
) -> list[FlowStep]:
    """Find steps up (new leaks) and down (repairs) in a zone's daily night-flow residual.

    Two-sided CUSUM (Page): ``S+ = max(0, S+ + z - k)``, ``S- = max(0, S- - z - k)``,
    ``z = residual - baseline``, ``k = k_sd x sd``, an alarm at ``S > h_sd x sd``. The baseline is
    the mean of all days since the last anchor (the first day, then the day after each
    alarm) up to the start of the running sums: it grows with the calm days, so its error
    shrinks, and it freezes while a sum runs, so a step is measured against the state before
    it. The detector rests ``training_days`` at first and ``settle_days`` after each alarm.

    Examples
    --------
    >>> r = np.r_[np.zeros(20), np.full(10, 3.0)]  # S+ = 2.5, 5.0, 7.5 > 5 on day 22
    >>> [(s.day, s.onset, round(s.size_m3_h, 1)) for s in flow_steps(r, sd=1.0)]
    [(22, 20, 3.0)]
    """
    steps: list[FlowStep] = []
    n = residual.shape[0]
    first = 0
    k, h = k_sd * sd, h_sd * sd
    up = down = 0.0
    up_start = down_start = d = min(training_days, n)
    while d < n:
        calm_end = min(up_start if up > 0 else d, down_start if down > 0 else d)
        baseline = float(np.mean(residual[first:calm_end])) if calm_end > first else 0.0
        z = residual[d] - baseline
        if up == 0.0:
            up_start = d
        if down == 0.0:
            down_start = d
        up = max(0.0, up + z - k)
        down = max(0.0, down - z - k)
        if up > h or down > h:
            onset = up_start if up > h else down_start
            size = float(np.mean(residual[onset : d + 1])) - baseline
            steps.append(FlowStep(d, onset, (first, max(onset, first + 1)), size))
            first = d + 1
            up = down = 0.0
            d = up_start = down_start = min(first + settle_days, n)
            continue
        d += 1
    return steps
