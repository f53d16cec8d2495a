"""/lifelines/telemetry: a gateway's gaps, its backfill, the sources' accounts, and who may ask."""

from datetime import UTC, datetime, timedelta

import pytest

from shancheng.api.state import state_of
from shancheng.cases.permissions import Role
from shancheng.lifelines.accounting import Stamp, account_messages
from shancheng.lifelines.telemetry import observation_topic

GATEWAY, EPOCH = "GW-API", 7


def _payload(minutes_ago, value=320.0):
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    return {"phenomenonTime": at.isoformat(), "result": value, "parameters": {"unit": "kPa"}}


def _book(dash, seqs, now_ms):
    with state_of(dash.app).engine.begin() as conn:
        account_messages(
            conn, [Stamp(GATEWAY, EPOCH, s) for s in seqs], now_ms=now_ms, via="mqtt", grace_ms=0
        )


def test_backfill_closes_a_gateways_gap_and_clears_its_alarm(dash):
    key = dash.api_key()
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    _book(dash, [1, 2, 6], now_ms)  # 3-5 never came: on record at once (no grace here)
    gaps = dash.client.get(
        "/lifelines/telemetry/gaps", params={"gateway": GATEWAY, "epoch": EPOCH},
        headers={"X-API-Key": key},
    )  # fmt: skip
    assert gaps.status_code == 200, gaps.text
    assert [(g["first_seq"], g["last_seq"], g["missing"]) for g in gaps.json()] == [(3, 5, 3)]
    topic = observation_topic("W00000")
    body = {
        "gateway": GATEWAY,
        "epoch": EPOCH,
        "messages": [
            {"seq": 3, "topic": topic, "payload": _payload(30)},
            {"seq": 4, "topic": topic, "payload": [_payload(29), _payload(28)]},
            {"seq": 2, "topic": topic, "payload": _payload(27)},  # arrived before: duplicate
        ],
    }
    r = dash.client.post("/lifelines/telemetry/backfill", json=body, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["filled"], answer["duplicates"], answer["stored"]) == (2, 1, 4)
    assert answer["gaps_closed"] == []
    assert [(g["first_seq"], g["missing"]) for g in answer["still_open"]] == [(3, 1)]
    sources = dash.client.get("/lifelines/telemetry/sources", headers=dash.staff()).json()
    (source,) = [s for s in sources if s["gateway"] == GATEWAY]
    assert (source["messages"], source["duplicates"], source["open_gaps"], source["missing"]) == (
        5, 1, 1, 1,
    )  # fmt: skip
    body["messages"] = [{"seq": 5, "topic": topic, "payload": _payload(26)}]
    answer = dash.client.post(
        "/lifelines/telemetry/backfill", json=body, params={"api_key": key}
    ).json()
    (closed,) = answer["gaps_closed"]
    assert (closed["missing"], closed["filled_by_backfill"], answer["still_open"]) == (0, 3, [])


def test_the_data_gap_alarm_follows_the_open_gaps(dash):
    from shancheng.lifelines.accounting import sweep_gaps

    key = dash.api_key()
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    _book(dash, [1, 4], now_ms)
    with state_of(dash.app).engine.begin() as conn:
        sweep_gaps(conn, now_ms=now_ms, grace_ms=0)
    desk = state_of(dash.app).live.desk
    (raised,) = desk.reconcile_gaps({GATEWAY})
    assert (raised.rule.value, raised.state.value, raised.value, raised.count) == (
        "data_gap", "raised", 2.0, 1,
    )  # fmt: skip
    listed = dash.client.get("/lifelines/alarms", headers=dash.staff()).json()
    assert raised.alarm_id in {a["alarm_id"] for a in listed}
    topic = observation_topic("W00001")
    body = {"gateway": GATEWAY, "epoch": EPOCH, "messages": [
        {"seq": 2, "topic": topic, "payload": _payload(10)},
        {"seq": 3, "topic": topic, "payload": _payload(9)},
    ]}  # fmt: skip
    r = dash.client.post("/lifelines/telemetry/backfill", json=body, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    (alarm,) = [a for a in dash.client.get("/lifelines/alarms", headers=dash.staff()).json()
                if a["alarm_id"] == raised.alarm_id]  # fmt: skip
    assert alarm["state"] == "cleared"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"gateway": "", "epoch": 1, "messages": []}, "gateway"),
        ({"gateway": "G", "epoch": 0, "messages": []}, "epoch"),
        ({"gateway": "G", "epoch": 1, "messages": [{"seq": 0, "topic": "t", "payload": {}}]},
         "seq"),
        ({"gateway": "G", "epoch": 1, "messages": [{"seq": 1, "topic": "t", "payload": 5}]},
         "payload"),
    ],
)  # fmt: skip
def test_malformed_backfills_name_the_field(dash, body, field):
    r = dash.client.post(
        "/lifelines/telemetry/backfill", json=body, headers={"X-API-Key": dash.api_key()}
    )
    assert r.status_code == 422
    assert any(field in str(d.get("loc", d.get("field", ""))) for d in r.json()["detail"]), r.text


def test_who_may_read_and_post(dash):
    app_key = dash.api_key("citizen app", scopes=("report",))
    body = {"gateway": "G", "epoch": 1, "messages": []}
    assert dash.client.post("/lifelines/telemetry/backfill", json=body).status_code == 401
    r = dash.client.post("/lifelines/telemetry/backfill", json=body, headers={"X-API-Key": app_key})
    assert r.status_code == 403
    assert dash.client.get("/lifelines/telemetry/gaps").status_code == 401
    beat = {"gateway": "G", "epoch": 1, "last_seq": 5}
    assert dash.client.post("/lifelines/telemetry/heartbeat", json=beat).status_code == 401
    r = dash.client.post(
        "/lifelines/telemetry/heartbeat", json=beat, headers={"X-API-Key": app_key}
    )
    assert r.status_code == 403
    r = dash.client.post(
        "/lifelines/telemetry/heartbeat", json=beat, headers={"X-API-Key": dash.api_key()}
    )
    assert (r.status_code, r.json()) == (200, [])  # within the grace period: nothing yet
    assert dash.client.get("/lifelines/telemetry/sources").status_code == 401
    citizen = dash.user("resident", Role.CITIZEN, "990100")
    assert dash.client.get("/lifelines/telemetry/sources", headers=citizen).status_code == 403
    # a gateway's key reads gaps, not the whole account of every source
    key = {"X-API-Key": dash.api_key()}
    assert dash.client.get("/lifelines/telemetry/sources", headers=key).status_code == 401
    assert dash.client.get("/lifelines/telemetry/gaps", headers=dash.staff()).status_code == 200


def test_a_heartbeat_far_beyond_what_arrived_is_refused_and_nothing_changes(dash):
    key = {"X-API-Key": dash.api_key()}
    _book(dash, [1, 2], int(datetime.now(UTC).timestamp() * 1000))
    beat = {"gateway": GATEWAY, "epoch": EPOCH, "last_seq": 2 + 1_000_001}
    r = dash.client.post("/lifelines/telemetry/heartbeat", json=beat, headers=key)
    assert r.status_code == 422, r.text
    assert "`last_seq`" in r.json()["detail"][0]["msg"]
    sources = dash.client.get("/lifelines/telemetry/sources", headers=dash.staff()).json()
    (source,) = [s for s in sources if s["gateway"] == GATEWAY and s["epoch"] == EPOCH]
    assert (source["announced_seq"], source["accounted_through"]) == (0, 2)
    beat["last_seq"] = 2 + 1_000_000  # at the bound: taken
    assert (
        dash.client.post("/lifelines/telemetry/heartbeat", json=beat, headers=key).status_code
        == 200
    )


def test_a_gateway_key_touches_only_its_own_gateway(dash):
    """A `gateway` key is bound to the gateway named like its client; `ingest` sees all."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    _book(dash, [1, 4], now_ms)  # GW-API misses 2-3
    with state_of(dash.app).engine.begin() as conn:
        account_messages(conn, [Stamp("GW-OTHER", 1, s) for s in (1, 3)], now_ms=now_ms,
                         via="mqtt", grace_ms=0)  # fmt: skip
    own = {"X-API-Key": dash.api_key(GATEWAY, scopes=("gateway",))}
    # its own gaps, with or without naming itself
    for params in ({}, {"gateway": GATEWAY}):
        r = dash.client.get("/lifelines/telemetry/gaps", params=params, headers=own)
        assert r.status_code == 200, r.text
        assert {(g["gateway"], g["first_seq"], g["last_seq"]) for g in r.json()} == {
            (GATEWAY, 2, 3)
        }
    # another gateway's: refused, by name, for reading, heartbeat and backfill
    r = dash.client.get("/lifelines/telemetry/gaps", params={"gateway": "GW-OTHER"}, headers=own)
    assert r.status_code == 403 and "GW-OTHER" in r.text
    beat = {"gateway": "GW-OTHER", "epoch": 1, "last_seq": 9}
    assert (
        dash.client.post("/lifelines/telemetry/heartbeat", json=beat, headers=own).status_code
        == 403
    )
    fill = {"gateway": "GW-OTHER", "epoch": 1, "messages": []}
    assert (
        dash.client.post("/lifelines/telemetry/backfill", json=fill, headers=own).status_code == 403
    )
    beat["gateway"] = GATEWAY
    assert (
        dash.client.post("/lifelines/telemetry/heartbeat", json=beat, headers=own).status_code
        == 200
    )
    # a gateway key does not post readings for the whole city
    assert dash.client.post("/lifelines/readings", json=[], headers=own).status_code == 403
    # an ingest key (an ingester) reads every gateway's gaps
    anyone = {"X-API-Key": dash.api_key("ingester")}
    r = dash.client.get("/lifelines/telemetry/gaps", headers=anyone)
    assert {g["gateway"] for g in r.json()} == {GATEWAY, "GW-OTHER"}


def test_a_supervisor_waives_a_known_loss_and_the_alarm_clears(dash):
    """Waive: the gap closes with who and why, missing kept; the data-gap alarm clears."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    _book(dash, [1, 5, 6, 9], now_ms)  # GW-API misses 2-4 and 7-8
    state_of(dash.app).live.desk.reconcile_gaps({GATEWAY})
    staff = dash.staff()
    gaps = dash.client.get("/lifelines/telemetry/gaps", params={"gateway": GATEWAY},
                           headers=staff).json()  # fmt: skip
    assert sorted((g["first_seq"], g["last_seq"]) for g in gaps) == [(2, 4), (7, 8)]
    first, second = sorted(gaps, key=lambda g: g["first_seq"])

    def alarm():
        alarms = dash.client.get("/lifelines/alarms", headers=staff).json()
        return [a for a in alarms if a["rule"] == "data_gap" and GATEWAY in a["message"]]

    assert [a["state"] for a in alarm()] == ["raised"]
    url = f"/lifelines/telemetry/gaps/{first['gap_id']}/waive"
    reason = {"reason": "gateway buffer overwritten after the power cut of 3 Dec"}
    # who may: supervisors and admins, not an operator, not a gateway's key
    operator = dash.user("dispatcher", Role.DISPATCHER, "990100")
    assert dash.client.post(url, json=reason, headers=operator).status_code == 403
    key = {"X-API-Key": dash.api_key()}
    assert dash.client.post(url, json=reason, headers=key).status_code == 401
    assert dash.client.post(url, json={"reason": "  "}, headers=staff).status_code == 422
    r = dash.client.post(url, json=reason, headers=staff)
    assert r.status_code == 200, r.text
    waived = r.json()
    assert waived["missing"] == 3 and waived["closed_at_ms"] is not None
    assert waived["waived_reason"] == reason["reason"] and waived["waived_by"]
    # twice: a conflict naming who waived it; an unknown gap: 404
    again = dash.client.post(url, json=reason, headers=staff)
    assert again.status_code == 409 and "waived by" in again.text
    assert dash.client.post("/lifelines/telemetry/gaps/999999/waive", json=reason,
                            headers=staff).status_code == 404  # fmt: skip
    # one gap still open: the alarm stays, counting only it
    (still,) = alarm()
    assert still["state"] == "raised" and still["value"] == 2
    dash.client.post(f"/lifelines/telemetry/gaps/{second['gap_id']}/waive", json=reason,
                     headers=staff)  # fmt: skip
    assert [a["state"] for a in alarm()] == ["cleared"]
    open_now = dash.client.get("/lifelines/telemetry/gaps", params={"gateway": GATEWAY},
                               headers=staff).json()  # fmt: skip
    assert open_now == []
