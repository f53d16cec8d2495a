"""Hotspots and evaluation: hand-computed answers, and a replayed day's invariants."""

import math
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.unit.cases.conftest import center_for

from shancheng.cases.evaluation import evaluate
from shancheng.cases.hotspots import cell_counts, emerging_hotspots
from shancheng.cases.replay import replay_day, synthetic_day


def poisson_sf(k, lam):
    """P(X >= k) for X ~ Poisson(lam), summed by hand."""
    return 1.0 - sum(math.exp(-lam) * lam**i / math.factorial(i) for i in range(k))


def test_emerging_hotspot_p_values_by_hand():
    days = pd.date_range("2026-11-01", periods=6, freq="D", tz="UTC")
    counts = pd.DataFrame(
        {
            "cell_id": [1] * 6 + [2] * 6 + [3],
            "window_start": list(days) * 2 + [days[-1]],
            "reports": [2, 1, 2, 1, 2, 8, 4, 5, 6, 5, 5, 7, 4],
        }
    )
    out = emerging_hotspots(counts, alpha=0.05, min_count=3).set_index("cell_id")
    assert out.loc[1, "baseline"] == pytest.approx(8 / 5)
    assert out.loc[1, "p_value"] == pytest.approx(poisson_sf(8, 8 / 5))
    assert out.loc[2, "p_value"] == pytest.approx(poisson_sf(7, 5.0))
    # a new cell gets a baseline of 0.5 report over the history: 0.1 per window
    assert out.loc[3, "p_value"] == pytest.approx(poisson_sf(4, 0.1))
    assert out["emerging"].to_dict() == {1: True, 2: False, 3: True}
    assert out.index.tolist() == [3, 1, 2]  # most significant first


def test_cell_counts_windows():
    t = pd.Timestamp("2026-11-23T09:00+08:00")
    reports = pd.DataFrame(
        {
            "cell_id": [4, 4, 4, 9],
            "reported_at": [t, t + pd.Timedelta("30min"), t + pd.Timedelta("2h"), t],
        }
    )
    hourly = cell_counts(reports, window="1h")
    assert hourly.values.tolist() == [
        [4, pd.Timestamp("2026-11-23T01:00Z"), 2],
        [9, pd.Timestamp("2026-11-23T01:00Z"), 1],
        [4, pd.Timestamp("2026-11-23T03:00Z"), 1],
    ]


def test_evaluation_rates_by_hand():
    at = pd.Timestamp("2026-11-23T12:00Z")
    frame = pd.DataFrame(
        {
            "department": ["a", "a", "a", "a", "b"],
            "status": ["closed", "closed", "in_progress", "dispatched", "rejected"],
            "closed_on_time": [True, False, None, None, None],
            "reworks": [1, 0, 0, 0, 0],
            "escalations": [0, 0, 1, 0, 0],
            "deadline_at": [
                None,
                None,
                at - pd.Timedelta("1min"),
                at + pd.Timedelta("1h"),
                at - pd.Timedelta(days=1),
            ],
            "satisfaction": [5, 2, None, None, None],
            "street_code": ["s1", "s1", "s2", "s2", "s1"],
            "district_code": "d",
        }
    )
    table = evaluate(frame, at=at)
    a = table.loc["a"]
    assert (a["cases"], a["closed"], a["responded"], a["escalated"], a["overdue_open"]) == (
        4,
        2,
        2,
        1,
        1,
    )
    assert (a["on_time_rate"], a["rework_rate"], a["satisfaction"]) == (0.5, 0.5, 3.5)
    b = table.loc["b"]
    assert b["overdue_open"] == 0 and math.isnan(b["on_time_rate"])  # rejected is not overdue
    assert evaluate(frame, by="street_code", at=at).loc["s2", "cases"] == 2


@pytest.mark.services
def test_replayed_day_is_consistent_and_reproducible(session, admin_index, taxonomy):
    arrivals = synthetic_day(admin_index, taxonomy, day=date(2026, 11, 23), n_reports=80, seed=3)
    again = synthetic_day(admin_index, taxonomy, day=date(2026, 11, 23), n_reports=80, seed=3)
    assert [(a.at, a.report) for a in arrivals] == [(a.at, a.report) for a in again]
    log = replay_day(session, center_for(session), arrivals, seed=3)
    rows = session.execute(sa.text("select status, satisfaction from cases")).all()
    assert log.reports == 80 and log.alarms == 3
    assert len(rows) == log.reports + log.alarms
    assert log.cases + log.duplicates == log.reports
    assert sum(status == "merged" for status, _ in rows) == log.duplicates > 0
    assert sum(status == "closed" for status, _ in rows) == log.actions["close"] > 0
    assert all(s is not None for status, s in rows if status == "closed")
    events = session.execute(sa.text("select count(*) from case_events")).scalar_one()
    # one report event per case, one merge per duplicate, one register per alarm, the actions
    assert events == len(rows) + log.duplicates + log.alarms + sum(log.actions.values()) + (
        log.escalated
    )
