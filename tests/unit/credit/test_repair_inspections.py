"""Credit repair after the minimum publicity, and inspection results recorded as cases."""

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shancheng.cases import service as cases
from shancheng.cases.permissions import Actor, Role
from shancheng.credit import service
from shancheng.credit.codes import EntityKind, complete_code
from shancheng.credit.decisions import DecisionAction, DecisionKind
from shancheng.credit.inspections import draw_picks, record_result, run_draw
from shancheng.credit.registry import EntityIn
from shancheng.credit.tiers import load_rules
from shancheng.errors import (
    CaseInputError,
    PermissionDeniedError,
    TransitionNotAllowedError,
)
from shancheng.store.credit_tables import CaseLinkRow

TRADER = complete_code("92990101L0000007")
STREET = "990101001"


@pytest.fixture
def trader(session, center, point, root, monday_9):
    lon, lat = point(street=STREET)
    entity = EntityIn(TRADER, "老李冷饮", EntityKind.INDIVIDUAL, "夜市 7 号", lon, lat)
    service.import_entities(session, center, [entity], actor=root, at=monday_9)
    return entity


def _penalised(session, center, trader, monday_9, *, amount_yuan=2000.0):
    """A case at the trader, a penalty proposed and decided on Monday 23 November 2026."""
    inspector = Actor("insp", Role.INSPECTOR, STREET)
    officer = Actor("officer", Role.SUPERVISOR, STREET)
    report = cases.ReportIn("E0506", lon=trader.lon, lat=trader.lat, description="占道经营")
    case_id = cases.submit_report(session, center, report, at=monday_9, actor=inspector).case.id
    proposal = service.DecisionIn(
        case_id,
        TRADER,
        DecisionKind.PENALTY,
        (("重庆市市容环境卫生管理条例", ""),),
        "占道",
        amount_yuan,
    )
    row = service.propose_decision(session, center, proposal, actor=inspector, at=monday_9)
    service.act_on_decision(
        session, center, row.id, DecisionAction.DECIDE, actor=officer, at=monday_9
    )
    return row.id, officer


def test_repair_is_refused_before_the_minimum_publicity_and_granted_after(
    session, center, trader, monday_9
):
    decision_id, officer = _penalised(session, center, trader, monday_9)
    # 100 - 15 (penalty) - 2 (the case naming it) = 83: tier B
    assert service.get_entity(session, center, TRADER, actor=officer).tier == "B"
    # a general penalty may be repaired after 90 days: 23 Nov 2026 + 90 d = 21 Feb 2027
    too_early = monday_9 + timedelta(days=89)
    with pytest.raises(TransitionNotAllowedError, match="may be repaired from 2027-02-21"):
        service.repair_record(
            session, center, decision_id, reason="已整改", actor=officer, at=too_early
        )
    with pytest.raises(CaseInputError, match="reason"):
        service.repair_record(
            session, center, decision_id, reason="  ", actor=officer, at=too_early
        )
    inspector = Actor("insp", Role.INSPECTOR, STREET)
    with pytest.raises(PermissionDeniedError):
        service.repair_record(
            session, center, decision_id, reason="已整改", actor=inspector, at=too_early
        )
    on_time = monday_9 + timedelta(days=90)
    repair = service.repair_record(
        session, center, decision_id, reason="已整改并完成信用修复培训", actor=officer, at=on_time
    )
    assert (repair.reason, repair.granted_by) == ("已整改并完成信用修复培训", "officer")
    # only the case link counts now: 100 - 2 x 0.5 ** (90 / 90) = 99.0, tier A
    entity = service.get_entity(session, center, TRADER, actor=officer)
    assert (entity.score, entity.tier) == (99.0, "A")
    last = service.tier_changes(session, center, TRADER, actor=officer)[-1]
    assert (last.from_tier, last.to_tier, last.actor) == ("B", "A", "officer")
    repaired = {"repaired_on": "2027-02-21", "repair_reason": "已整改并完成信用修复培训"}
    assert any(r["code"] == "repaired" and r["params"] == repaired for r in last.reasons)
    with pytest.raises(TransitionNotAllowedError, match="already repaired"):
        service.repair_record(
            session, center, decision_id, reason="again", actor=officer, at=on_time
        )


def test_a_heavy_penalty_waits_a_year_and_a_proposal_cannot_be_repaired(
    session, center, trader, monday_9
):
    decision_id, officer = _penalised(session, center, trader, monday_9, amount_yuan=20_000.0)
    with pytest.raises(TransitionNotAllowedError, match="from 2027-11-23"):
        service.repair_record(
            session, center, decision_id, reason="r", actor=officer,
            at=monday_9 + timedelta(days=200),
        )  # fmt: skip
    inspector = Actor("insp", Role.INSPECTOR, STREET)
    report = cases.ReportIn("E0501", lon=trader.lon, lat=trader.lat, description="又占道")
    case_id = cases.submit_report(
        session, center.without_duplicates(), report, at=monday_9, actor=inspector
    ).case.id
    proposal = service.DecisionIn(case_id, TRADER, DecisionKind.WARNING, (("条例", ""),), "x")
    proposed = service.propose_decision(session, center, proposal, actor=inspector, at=monday_9)
    with pytest.raises(TransitionNotAllowedError, match=r"does not count in credit \(proposed\)"):
        service.repair_record(
            session, center, proposed.id, reason="r", actor=officer,
            at=monday_9 + timedelta(days=400),
        )  # fmt: skip


def test_a_failed_inspection_opens_a_case_linked_to_the_entity(
    session, center, trader, root, monday_9
):
    always = replace(load_rules(), draw_rates=dict.fromkeys(["A", "B", "C", "D", "unrated"], 1.0))
    draw = run_draw(
        session, center, plan="夜市抽查", inspectors=["insp-a", "insp-b", "insp-c"], seed=11,
        actor=root, at=monday_9, rules=always,
    )  # fmt: skip
    [(pick, code)] = draw_picks(session, draw.id)
    assert code == TRADER and pick.probability == 1.0 and len(pick.inspectors) == 2
    outsider = next(n for n in ("insp-a", "insp-b", "insp-c") if n not in pick.inspectors)
    at = monday_9 + timedelta(hours=3)
    with pytest.raises(PermissionDeniedError, match="was drawn for"):
        record_result(
            session, center, pick.id, "failed",
            actor=Actor(outsider, Role.INSPECTOR, STREET), at=at,
        )  # fmt: skip
    inspector = Actor(pick.inspectors[0], Role.INSPECTOR, STREET)
    done = record_result(
        session, center, pick.id, "failed", actor=inspector, at=at, note="冷柜温度超标"
    )
    assert done.outcome == "failed" and done.case_id is not None
    case = cases.get_case(session, center, done.case_id, actor=root)
    assert case.category_code == "E0506"
    assert TRADER in case.description and "冷柜温度超标" in case.description
    link = session.get(CaseLinkRow, done.case_id)
    assert link is not None and link.linked_by == inspector.username
    assert service.entity_cases(session, center, TRADER, actor=root) == [done.case_id]
    # 100 - 10 (inspection failed) - 2 (the case naming it) = 88: tier B, audited
    entity = service.get_entity(session, center, TRADER, actor=root)
    assert (entity.score, entity.tier) == (88.0, "B")
    with pytest.raises(TransitionNotAllowedError, match="already has its result"):
        record_result(session, center, pick.id, "passed", actor=inspector, at=at)
    count = session.scalar(sa.select(sa.func.count()).select_from(CaseLinkRow))
    assert count == 1


def test_a_passed_inspection_opens_no_case_and_raises_the_score(
    session, center, trader, root, monday_9
):
    decision_id, officer = _penalised(session, center, trader, monday_9)
    del decision_id
    always = replace(load_rules(), draw_rates=dict.fromkeys(["A", "B", "C", "D", "unrated"], 1.0))
    draw = run_draw(
        session, center, plan="p", inspectors=["a", "b"], seed=1, actor=root, at=monday_9,
        rules=always,
    )  # fmt: skip
    [(pick, _code)] = draw_picks(session, draw.id)
    done = record_result(
        session, center, pick.id, "passed", actor=Actor("a", Role.INSPECTOR, STREET), at=monday_9
    )
    assert done.case_id is None
    # 100 - 15 - 2 + 3 = 86
    assert service.get_entity(session, center, TRADER, actor=officer).score == 86.0
