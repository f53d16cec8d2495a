"""Comprehensive evaluation (综合评价): how departments and units handle their cases.

GB/T 30428.4 rates the responsible units by volume and by how the cases went; here, per group
(department, street or district): cases received, closed, the on-time rate of disposal
(responded before the disposal deadline), the rework rate (verification failed at least once),
cases escalated, open cases overdue, and the mean citizen satisfaction. Pure: a table in, a
table out.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from shancheng.cases.domain import FINAL_STATUS_VALUES

EVALUATION_COLUMNS = (
    "cases",
    "closed",
    "responded",
    "on_time_rate",
    "rework_rate",
    "escalated",
    "overdue_open",
    "satisfaction",
)
GroupBy = Literal["department", "street_code", "district_code"]


def evaluate(cases: pd.DataFrame, *, by: GroupBy = "department", at: pd.Timestamp) -> pd.DataFrame:
    """Return the evaluation table, one row per group, sorted by volume.

    Parameters
    ----------
    cases
        One row per case with columns ``department``, ``street_code``, ``district_code``,
        ``status``, ``closed_on_time`` (bool or missing until responded), ``reworks``,
        ``escalations``, ``deadline_at``, ``satisfaction`` (1..5 or missing). Merged
        duplicates should be left out by the caller, as they are not separate work.
    by
        Column to group by.
    at
        The moment "overdue" is judged at (timezone-aware).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``by``, columns :data:`EVALUATION_COLUMNS`; rates in [0, 1] or NaN when
        nothing was responded yet.

    Examples
    --------
    >>> t = pd.Timestamp("2026-11-23T12:00Z")
    >>> frame = pd.DataFrame({"department": ["a", "a", "b"], "status": ["closed", "dispatched",
    ...     "closed"], "closed_on_time": [True, None, False], "reworks": [1, 0, 0],
    ...     "escalations": [0, 1, 0], "deadline_at": [None, t - pd.Timedelta("1h"), None],
    ...     "satisfaction": [4, None, 2], "street_code": "s", "district_code": "d"})
    >>> table = evaluate(frame, at=t)
    >>> table["cases"].to_dict(), table["on_time_rate"].to_dict(), table["overdue_open"].to_dict()
    ({'a': 2, 'b': 1}, {'a': 1.0, 'b': 0.0}, {'a': 1, 'b': 0})
    """
    if cases.empty:
        return pd.DataFrame(columns=list(EVALUATION_COLUMNS)).rename_axis(by)
    frame = cases.copy()
    final = frame["status"].isin(FINAL_STATUS_VALUES)
    deadline = pd.to_datetime(frame["deadline_at"], utc=True)
    responded = frame["closed_on_time"].notna()
    frame = frame.assign(
        _closed=frame["status"].eq("closed"),
        _responded=responded,
        _on_time=frame["closed_on_time"].where(responded, other=False).astype(bool),
        _rework=frame["reworks"].gt(0) & responded,
        _escalated=frame["escalations"].gt(0),
        _overdue=~final & deadline.notna() & (deadline < at),
        _satisfaction=pd.to_numeric(frame["satisfaction"], errors="coerce"),
    )
    grouped = frame.groupby(by, sort=False)
    table = pd.DataFrame(
        {
            "cases": grouped.size(),
            "closed": grouped["_closed"].sum(),
            "responded": grouped["_responded"].sum(),
            "on_time": grouped["_on_time"].sum(),
            "rework": grouped["_rework"].sum(),
            "escalated": grouped["_escalated"].sum(),
            "overdue_open": grouped["_overdue"].sum(),
            "satisfaction": grouped["_satisfaction"].mean(),
        }
    )
    answered = table["responded"].where(table["responded"] > 0)
    table["on_time_rate"] = table.pop("on_time") / answered
    table["rework_rate"] = table.pop("rework") / answered
    table = table.astype(
        dict.fromkeys(("cases", "closed", "responded", "escalated", "overdue_open"), "int64")
    )
    return table[list(EVALUATION_COLUMNS)].sort_values("cases", ascending=False, kind="stable")
