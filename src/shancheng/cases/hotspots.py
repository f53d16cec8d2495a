"""Hotspots: where reports pile up, by unit-grid cell and time window.

:func:`cell_counts` counts reports per cell and window. :func:`emerging_hotspots` flags cells
whose count in the latest window is a significant rise against the cell's own history: under
the null hypothesis the cell keeps its historical mean rate, the count is Poisson, and the cell
is flagged when the upper-tail probability of what was seen is below ``alpha`` (Bonferroni
corrected over the cells tested) and the count reaches ``min_count``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def cell_counts(reports: pd.DataFrame, *, window: str = "1D") -> pd.DataFrame:
    """Count reports per ``cell_id`` and time window.

    Parameters
    ----------
    reports
        Columns ``cell_id`` and ``reported_at`` (timezone-aware).
    window
        Pandas frequency of the windows (``"1D"``, ``"1h"``, ``"7D"``...).

    Returns
    -------
    pandas.DataFrame
        Columns ``cell_id``, ``window_start``, ``reports``, sorted by window then cell.

    Examples
    --------
    >>> t = pd.Timestamp("2026-11-23T09:00+08:00")
    >>> r = pd.DataFrame({"cell_id": [5, 5, 7], "reported_at": [t, t, t + pd.Timedelta("1D")]})
    >>> cell_counts(r).reports.tolist()
    [2, 1]
    """
    if reports.empty:
        return pd.DataFrame({"cell_id": [], "window_start": [], "reports": []})
    when = pd.to_datetime(reports["reported_at"], utc=True)
    counts = (
        reports.assign(window_start=when.dt.floor(window))
        .groupby(["window_start", "cell_id"])
        .size()
        .rename("reports")
        .reset_index()
    )
    return counts[["cell_id", "window_start", "reports"]]


def emerging_hotspots(
    counts: pd.DataFrame, *, alpha: float = 0.01, min_count: int = 3, min_history: int = 3
) -> pd.DataFrame:
    """Flag cells whose latest-window count rises significantly above their own history.

    Parameters
    ----------
    counts
        Output of :func:`cell_counts`; the latest ``window_start`` is "now", earlier windows
        (absent rows count as zero) are the history.
    alpha
        Family-wise significance level.
    min_count
        Fewest reports in the latest window for a flag (ignores 1 → 2 jumps).
    min_history
        Fewest earlier windows needed to judge.

    Returns
    -------
    pandas.DataFrame
        Cells of the latest window with columns ``cell_id``, ``reports``, ``baseline``
        (historical mean per window), ``p_value`` and ``emerging`` (bool), most significant
        first.

    Examples
    --------
    >>> days = pd.date_range("2026-11-01", periods=8, freq="D", tz="UTC")
    >>> c = pd.DataFrame({"cell_id": [1] * 8 + [2] * 8, "window_start": list(days) * 2,
    ...                   "reports": [1, 0, 1, 1, 0, 1, 1, 9] + [3, 4, 3, 5, 4, 3, 4, 5]})
    >>> emerging_hotspots(c).set_index("cell_id").emerging.to_dict()
    {1: True, 2: False}
    """
    columns = ["cell_id", "reports", "baseline", "p_value", "emerging"]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    windows = np.sort(counts["window_start"].unique())
    latest, history = windows[-1], windows[:-1]
    current = counts[counts["window_start"] == latest].set_index("cell_id")["reports"]
    if len(history) < min_history:
        early = current.rename("reports").reset_index()
        early = early.assign(baseline=np.nan, p_value=np.nan, emerging=False)
        return pd.DataFrame(early[columns])
    past = counts[counts["window_start"] != latest].groupby("cell_id")["reports"].sum()
    baseline = past.reindex(current.index, fill_value=0) / len(history)
    # a cell never seen before gets half a report over its history (a weak prior), not zero
    rate = np.maximum(baseline.to_numpy(), 0.5 / len(history))
    p_value = stats.poisson.sf(current.to_numpy() - 1, rate)
    flagged = (p_value < alpha / max(len(current), 1)) & (current.to_numpy() >= min_count)
    out = pd.DataFrame(
        {
            "cell_id": current.index,
            "reports": current.to_numpy(),
            "baseline": baseline.to_numpy(),
            "p_value": p_value,
            "emerging": flagged,
        }
    )
    ranked: pd.DataFrame = out.sort_values(["p_value", "cell_id"], kind="stable")
    return ranked.reset_index(drop=True)[columns]
