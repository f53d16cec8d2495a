"""Evidence from citizens' reports: traffic cases near each school gate and junction.

The reports come in as a plain table (``category, x_utm, y_utm, reported_at``), read by the
caller through the cases pillar's public service, so this module never touches the cases'
storage. Each report of a traffic kind (illegal parking, congestion, unsafe crossing; the
category codes per kind are data in ``assumptions.toml``) counts for every candidate within
the radius, per period.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from shancheng.errors import MissingColumnError

if TYPE_CHECKING:
    from collections.abc import Mapping

REPORT_COLUMNS = ("category", "x_utm", "y_utm", "reported_at")
"""Columns of the reports table."""


def report_counts(
    places: pd.DataFrame, reports: pd.DataFrame | None, evidence: Mapping[str, Any]
) -> pd.DataFrame:
    """Count traffic reports within ``evidence['radius_m']`` of every place, per kind and period.

    Parameters
    ----------
    places
        ``candidate_id, x_utm, y_utm``.
    reports
        :data:`REPORT_COLUMNS` (``reported_at`` a timestamp); ``None`` for no reports.
    evidence
        ``radius_m``, ``period`` (a pandas period alias) and ``categories`` (kind → codes).

    Returns
    -------
    pandas.DataFrame
        ``candidate_id, kind, period, reports``, one row per non-zero count.

    Examples
    --------
    >>> places = pd.DataFrame({"candidate_id": ["g1"], "x_utm": [0.0], "y_utm": [0.0]})
    >>> reports = pd.DataFrame({"category": ["E0502", "E0502", "E0101"],
    ...     "x_utm": [10.0, 900.0, 0.0], "y_utm": [0.0, 0.0, 0.0],
    ...     "reported_at": pd.to_datetime(["2024-01-05", "2024-01-06", "2024-01-07"])})
    >>> ev = {"radius_m": 150, "period": "QE", "categories": {"illegal_parking": ["E0502"]}}
    >>> report_counts(places, reports, ev).to_dict("records")
    [{'candidate_id': 'g1', 'kind': 'illegal_parking', 'period': '2024Q1', 'reports': 1}]
    """
    empty = pd.DataFrame({"candidate_id": [], "kind": [], "period": [], "reports": []})
    if reports is None or not len(reports) or not len(places):
        return empty.astype({"reports": np.int64})
    for column in REPORT_COLUMNS:
        if column not in reports.columns:
            msg = f"reports: required column `{column}` is missing (found: {list(reports.columns)})"
            raise MissingColumnError(msg)
    kind_of = {code: kind for kind, codes in evidence["categories"].items() for code in codes}
    kinds = reports["category"].map(kind_of)
    chosen = reports[kinds.notna()].assign(kind=kinds[kinds.notna()])
    if not len(chosen):
        return empty.astype({"reports": np.int64})
    tree = cKDTree(chosen[["x_utm", "y_utm"]].to_numpy(np.float64))
    near: Any = tree.query_ball_point(places[["x_utm", "y_utm"]].to_numpy(np.float64),
                                 r=float(evidence["radius_m"]))  # fmt: skip
    owner = np.repeat(places["candidate_id"].to_numpy(), [len(k) for k in near])
    rows = chosen.iloc[np.concatenate([np.asarray(k, dtype=np.int64) for k in near])]
    stamps = pd.to_datetime(rows["reported_at"], utc=True).dt.tz_localize(None)
    period = stamps.dt.to_period(str(evidence["period"]).removesuffix("E")).astype(str)
    table = pd.DataFrame({"candidate_id": owner, "kind": rows["kind"].to_numpy(),
                          "period": period.to_numpy()})  # fmt: skip
    out = table.groupby(["candidate_id", "kind", "period"], as_index=False).size()
    return out.rename(columns={"size": "reports"})
