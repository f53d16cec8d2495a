from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from shancheng.lifelines.repository import (
    load_sensors,
    query_readings,
    register_sensors,
    rejection_counts,
    store_batch,
)
from shancheng.lifelines.sensors import Sensor
from shancheng.lifelines.telemetry import (
    Reading,
    ReadingParser,
    encode_observations,
    observation_topic,
)
from shancheng.store import create_db_engine

NOW_S = 1_795_000_000.0  # 2026-11-18
CH4 = Sensor("G1", "gas", "methane", "%LEL", 0.0, 100.0, 106.55, 29.56, element_id="J1")
P = Sensor("W1", "water", "pressure", "kPa", 0.0, 1000.0, 106.5, 29.5)
REGISTRY = {s.sensor_id: s for s in (CH4, P)}


def _parser():
    return ReadingParser(REGISTRY, clock=lambda: NOW_S)


def test_round_trip_of_an_encoded_batch():
    t = [int(NOW_S * 1000) - 2000, int(NOW_S * 1000) - 1000]
    readings, rejections = _parser().parse(
        observation_topic("G1"), encode_observations(CH4, t, [1.5, 2.0])
    )
    assert rejections == []
    assert readings == [Reading("G1", t[0], 1.5), Reading("G1", t[1], 2.0)]


def test_single_observation_with_offset_time_zone():
    payload = json.dumps(
        {
            "phenomenonTime": "2026-11-18T18:00:00+08:00",
            "result": 300,
            "parameters": {"unit": "kPa"},
        }
    ).encode()
    (reading,), _ = _parser().parse(observation_topic("W1"), payload)
    assert reading.observed_at_ms == datetime(2026, 11, 18, 10, tzinfo=UTC).timestamp() * 1000


@pytest.mark.parametrize(
    ("topic", "item", "reason"),
    [
        (
            "v1.1/Datastreams(NOPE)/Observations",
            {"phenomenonTime": "2026-11-18T00:00:00Z", "result": 1, "parameters": {"unit": "kPa"}},
            "unknown_sensor",
        ),
        (
            "v1.1/Datastreams(W1)/Observations",
            {"phenomenonTime": "2026-11-18T00:00:00Z", "result": 1, "parameters": {"unit": "bar"}},
            "wrong_unit",
        ),
        (
            "v1.1/Datastreams(W1)/Observations",
            {"phenomenonTime": "2030-01-01T00:00:00Z", "result": 1, "parameters": {"unit": "kPa"}},
            "future_time",
        ),
        (
            "v1.1/Datastreams(W1)/Observations",
            {"phenomenonTime": "2026-11-18T00:00:00", "result": 1, "parameters": {"unit": "kPa"}},
            "bad_time",
        ),
        (
            "v1.1/Datastreams(W1)/Observations",
            {
                "phenomenonTime": "2026-11-18T00:00:00Z",
                "result": 5000,
                "parameters": {"unit": "kPa"},
            },
            "out_of_range",
        ),
        (
            "v1.1/Datastreams(W1)/Observations",
            {
                "phenomenonTime": "2026-11-18T00:00:00Z",
                "result": "high",
                "parameters": {"unit": "kPa"},
            },
            "malformed",
        ),
        ("sensors/W1", {}, "malformed"),
    ],
)
def test_bad_observations_are_rejected_counted_and_logged(topic, item, reason, caplog):
    parser = _parser()
    with caplog.at_level(logging.WARNING):
        readings, rejections = parser.parse(topic, json.dumps(item).encode())
    assert readings == []
    assert [r.reason for r in rejections] == [reason]
    assert parser.counts[reason] == 1
    assert f"rejected {reason}" in caplog.text


def test_one_bad_observation_does_not_stop_the_rest():
    items = [
        {"phenomenonTime": "2026-11-18T00:00:00Z", "result": 1, "parameters": {"unit": "kPa"}},
        {"phenomenonTime": "2026-11-18T00:01:00Z", "result": 1, "parameters": {"unit": "psi"}},
        {"phenomenonTime": "2026-11-18T00:02:00Z", "result": 2, "parameters": {"unit": "kPa"}},
    ]
    parser = _parser()
    readings, rejections = parser.parse(observation_topic("W1"), json.dumps(items).encode())
    assert [r.value for r in readings] == [1, 2]
    assert "observation 1" in rejections[0].detail
    assert parser.counts == {"accepted": 2, "wrong_unit": 1}


def test_not_json_is_rejected():
    _, rejections = _parser().parse(observation_topic("W1"), b"\xff{")
    assert rejections[0].reason == "malformed"


# --- the store, on SQLite and PostgreSQL ------------------------------------------------------


def _clean(engine):
    with engine.begin() as conn:
        for table in ("lifelines_readings", "lifelines_rejections", "lifelines_sensors"):
            conn.execute(sa.text(f"DELETE FROM {table}"))


@pytest.mark.services
def test_duplicates_and_late_readings_are_stored_once(db_url):
    engine = create_db_engine(db_url)
    _clean(engine)
    with engine.begin() as conn:
        register_sensors(conn, [CH4, P])
        first = store_batch(conn, [Reading("W1", 3000, 3.0), Reading("W1", 1000, 1.0)])
    with engine.begin() as conn:
        # redelivery of both, one late reading in between, one duplicate inside the batch
        again = store_batch(
            conn,
            [
                Reading("W1", 3000, 3.0),
                Reading("W1", 2000, 2.0),
                Reading("W1", 1000, 1.0),
                Reading("W1", 2000, 2.0),
            ],
        )
    with engine.connect() as conn:
        raw = query_readings(conn, "W1", 0, 10_000)
        assert load_sensors(conn) == {"G1": CH4, "W1": P}
    engine.dispose()
    assert (first.stored, first.duplicates) == (2, 0)
    assert (again.received, again.stored, again.duplicates) == (4, 1, 3)
    assert raw["observed_at_ms"].tolist() == [1000, 2000, 3000]
    assert raw["value"].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.services
def test_downsampled_query_by_sensor_and_range(db_url):
    engine = create_db_engine(db_url)
    _clean(engine)
    readings = [Reading("W1", t * 60_000, float(t)) for t in range(10)]  # one a minute
    readings.append(Reading("G1", 0, 5.0))
    with engine.begin() as conn:
        store_batch(conn, readings)
    with engine.connect() as conn:
        buckets = query_readings(conn, "W1", 60_000, 540_000, bucket_s=180)
    engine.dispose()
    # minutes 1..8 in 3-minute buckets: [0,3) -> 1,2 ; [3,6) -> 3,4,5 ; [6,9) -> 6,7,8
    assert buckets["bucket_start_ms"].tolist() == [0, 180_000, 360_000]
    assert buckets["count"].tolist() == [2, 3, 3]
    assert buckets["mean"].tolist() == [1.5, 4.0, 7.0]
    assert buckets["max"].tolist() == [2.0, 5.0, 8.0]


@pytest.mark.services
def test_rejections_are_logged_in_the_store(db_url):
    engine = create_db_engine(db_url)
    _clean(engine)
    parser = _parser()
    readings, rejections = parser.parse("v1.1/Datastreams(X)/Observations", b"{}")
    with engine.begin() as conn:
        store_batch(conn, readings, rejections)
    with engine.connect() as conn:
        counts = rejection_counts(conn)
    engine.dispose()
    assert counts == {"unknown_sensor": 1}
