"""Campaigns, ideas, moderation, answers and outcomes on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.unit.cases.conftest import pixels
from tests.unit.ideas.conftest import CITY, DISTRICT, STREET, resident

from shancheng.cases import service as cases
from shancheng.cases.calendar import CHINA_TZ
from shancheng.cases.media import Photo
from shancheng.cases.permissions import Actor, Role
from shancheng.errors import (
    CaseInputError,
    ConflictError,
    NotFoundError,
    OutsideCityError,
    PermissionDeniedError,
    TransitionNotAllowedError,
)
from shancheng.ideas import service, supports, views
from shancheng.ideas.answers import AnswerAction
from shancheng.ideas.case_link import cases_opener
from shancheng.ideas.phases import PhaseClosedError
from shancheng.ideas.verification import AllowListVerifier

EVERYONE = AllowListVerifier(everyone=True)
HOUR = timedelta(hours=1)


def _idea(session, center, camp, at, point, *, author="alice", title="小区加装电梯", **kw):
    lon, lat = point(street=STREET)
    spec = service.IdeaIn(title, kw.pop("body", "老旧小区没有电梯，老人上下楼困难"), "设施",
                          lon=lon, lat=lat, **kw)  # fmt: skip
    return service.propose(session, center, camp.id, spec, actor=resident(author), at=at)


def test_no_idea_outside_collecting_no_support_outside_supporting(
    session, center, make_campaign, monday_9, point
):
    d = timedelta(days=1)
    from tests.unit.ideas.conftest import phases_from

    camp = make_campaign(phases=phases_from(monday_9, collect_days=5, support_from_day=3))
    with pytest.raises(PhaseClosedError, match="collecting phase"):
        _idea(session, center, camp, monday_9 - HOUR, point)
    row = _idea(session, center, camp, monday_9, point)
    # supporting opens on day 3
    with pytest.raises(PhaseClosedError, match="supporting phase"):
        supports.support(session, center, row.id, actor=resident("bob"), at=monday_9 + d,
                         verifier=EVERYONE)  # fmt: skip
    ok = supports.support(session, center, row.id, actor=resident("bob"), at=monday_9 + 3 * d,
                          verifier=EVERYONE)  # fmt: skip
    assert ok.changed and ok.supports == 1
    # collecting closed on day 5; supporting runs to day 23
    with pytest.raises(PhaseClosedError, match="collecting phase"):
        _idea(session, center, camp, monday_9 + 5 * d, point, author="carol")
    with pytest.raises(PhaseClosedError, match="supporting phase"):
        supports.withdraw(session, row.id, actor=resident("bob"), at=monday_9 + 23 * d)
    assert supports.count_supports(session, row.id) == 1
    assert session.scalar(sa.text("select count(*) from ideas")) == 1  # nothing half-written


def test_idea_is_checked_placed_and_its_photo_loses_metadata(
    session, center, make_campaign, monday_9, point
):
    import io

    from PIL import Image

    camp = make_campaign()
    image = Image.new("RGB", (4, 4), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    row = _idea(session, center, camp, monday_9, point, photos=(Photo(buffer.getvalue()),))
    assert (row.street_code, row.district_code) == (STREET, DISTRICT)
    stored = session.scalars(sa.text("select content from ideas_photos")).one()
    assert b"PhoneMaker" in buffer.getvalue() and b"PhoneMaker" not in stored
    assert b"Exif" not in stored
    assert pixels(stored) == pixels(buffer.getvalue())
    with pytest.raises(CaseInputError, match="category"):
        service.propose(session, center, camp.id, service.IdeaIn("t", "b", "美食"),
                        actor=resident("a"), at=monday_9)  # fmt: skip
    other = point(district="990102")
    with pytest.raises(OutsideCityError, match="outside the campaign's units"):
        service.propose(session, center, camp.id, service.IdeaIn("t", "b", "环境", *other),
                        actor=resident("a"), at=monday_9)  # fmt: skip
    with pytest.raises(CaseInputError, match="markup|HTML"):
        service.propose(session, center, camp.id, service.IdeaIn("<script>x</script>", "b", "环境"),
                        actor=resident("a"), at=monday_9)  # fmt: skip


def test_public_view_masks_personal_data_author_and_staff_see_it(
    session, center, make_campaign, monday_9, point, moderator
):
    camp = make_campaign()
    row = _idea(session, center, camp, monday_9, point, body="联系我 13812345678 商量加装电梯")
    public = views.idea_view(session, center, row.id, viewer=None)
    assert "138****5678" in public.body and "13812345678" not in public.body
    assert public.author != "alice" and public.author.startswith("居民")
    assert (public.lon, public.lat) != (row.lon, row.lat)
    mine = views.idea_view(session, center, row.id, viewer=resident("alice"))
    assert "13812345678" in mine.body and mine.author == "alice"
    staff = views.idea_view(session, center, row.id, viewer=moderator)
    assert staff.full and staff.lon == row.lon


def test_moderation_hides_with_a_reason_the_author_sees_never_deletes(
    session, center, make_campaign, monday_9, point, moderator
):
    camp = make_campaign()
    row = _idea(session, center, camp, monday_9, point)
    with pytest.raises(PermissionDeniedError):
        service.moderate(session, center, row.id, hide=True, reason="广告", actor=resident("bob"),
                         at=monday_9)  # fmt: skip
    with pytest.raises(CaseInputError, match="reason"):
        service.moderate(session, center, row.id, hide=True, reason="", actor=moderator,
                         at=monday_9)  # fmt: skip
    service.moderate(session, center, row.id, hide=True, reason="含有商业广告", actor=moderator,
                     at=monday_9 + HOUR)  # fmt: skip
    with pytest.raises(NotFoundError):
        views.idea_view(session, center, row.id, viewer=None)
    with pytest.raises(NotFoundError):
        views.idea_view(session, center, row.id, viewer=resident("bob"))
    assert views.campaign_ideas(session, center, camp.id, viewer=None) == []
    seen = views.idea_view(session, center, row.id, viewer=resident("alice"))
    assert seen.moderation == "hidden" and seen.moderation_reason == "含有商业广告"
    steps = views.timeline(session, center, row.id, viewer=resident("alice"))
    assert [s.action for s in steps] == ["propose", "hide"] and steps[1].note == "含有商业广告"
    assert [
        v.id for v in views.campaign_ideas(session, center, camp.id, viewer=resident("alice"))
    ] == [row.id]
    with pytest.raises(ConflictError, match="hidden"):
        supports.support(session, center, row.id, actor=resident("bob"), at=monday_9 + HOUR,
                         verifier=EVERYONE)  # fmt: skip
    service.moderate(session, center, row.id, hide=False, reason="", actor=moderator,
                     at=monday_9 + 2 * HOUR)  # fmt: skip
    assert views.idea_view(session, center, row.id, viewer=None).moderation == "visible"
    public = views.timeline(session, center, row.id, viewer=None)
    assert [s.note for s in public if s.action == "hide"] == [""]  # the reason is the author's
    assert session.scalar(sa.text("select count(*) from ideas")) == 1


def test_every_answer_transition_and_its_permission(
    session, center, make_campaign, monday_9, point, supervisor, dispatcher
):
    camp = make_campaign()
    row = _idea(session, center, camp, monday_9, point)
    other = _idea(session, center, camp, monday_9, point, author="dave", title="公交站加遮雨棚")
    outsider = Actor("far", Role.ADMIN, "990102")  # every verb, another district
    handler = Actor("handler", Role.HANDLER, STREET)
    steps = [
        (AnswerAction.EVALUATE, resident("alice"), dispatcher, "evaluating"),
        (AnswerAction.ACCEPT, dispatcher, supervisor, "accepted"),
        (AnswerAction.START, resident("alice"), dispatcher, "in_progress"),
        (AnswerAction.FINISH, supervisor, handler, "done"),
    ]
    t = monday_9
    for action, refused, allowed, status in steps:
        t += HOUR
        with pytest.raises(PermissionDeniedError):
            service.answer(session, center, row.id, action, actor=refused, at=t)
        with pytest.raises(PermissionDeniedError, match="outside unit"):
            service.answer(session, center, row.id, action, actor=outsider, at=t)
        got = service.answer(session, center, row.id, action, actor=allowed, at=t, text="好建议")
        assert got.answer_status == status
    assert got.answered_at == monday_9 + 2 * HOUR  # the acceptance answered it
    with pytest.raises(TransitionNotAllowedError, match="allowed: none"):
        service.answer(session, center, row.id, AnswerAction.EVALUATE, actor=supervisor, at=t)
    # decline needs a reason, and only from evaluating
    with pytest.raises(TransitionNotAllowedError):
        service.answer(session, center, other.id, AnswerAction.DECLINE, actor=supervisor, at=t,
                       text="不在本次范围")  # fmt: skip
    service.answer(session, center, other.id, AnswerAction.EVALUATE, actor=dispatcher, at=t)
    with pytest.raises(PermissionDeniedError):
        service.answer(session, center, other.id, AnswerAction.DECLINE, actor=dispatcher, at=t,
                       text="不在本次范围")  # fmt: skip
    with pytest.raises(CaseInputError, match="reason"):
        service.answer(session, center, other.id, AnswerAction.DECLINE, actor=supervisor, at=t)
    declined = service.answer(session, center, other.id, AnswerAction.DECLINE, actor=supervisor,
                              at=t, text="该站台属于轨道集团，已转交")  # fmt: skip
    assert declined.answer_status == "declined"
    public = views.idea_view(session, center, other.id, viewer=None)
    assert public.answer_text == "该站台属于轨道集团，已转交"
    actions = [s.action for s in views.timeline(session, center, row.id, viewer=None)]
    assert actions == ["propose", "evaluate", "accept", "start", "finish"]


def test_threshold_sets_the_answer_due_date_and_overdue_shows_in_statistics(
    session, center, make_campaign, monday_9, point, supervisor, dispatcher
):
    camp = make_campaign(threshold_supports=3, answer_working_days=2)
    row = _idea(session, center, camp, monday_9, point)
    late = _idea(session, center, camp, monday_9, point, author="erin", title="增设健身步道")
    # Friday 27 Nov 16:00: third support of `row`
    friday = monday_9.replace(day=27, hour=16)
    for i, name in enumerate(("u1", "u2", "u3")):
        supports.support(session, center, row.id, actor=resident(name),
                         at=friday - timedelta(minutes=2 - i), verifier=EVERYONE)  # fmt: skip
        supports.support(session, center, late.id, actor=resident(name),
                         at=friday - timedelta(minutes=2 - i), verifier=EVERYONE)  # fmt: skip
    view = views.idea_view(session, center, row.id, viewer=None)
    # 2 working days from Fri 16:00: 1.5 h Fri + 7 h Mon + 5.5 h Tue -> Tue 1 Dec 16:00
    assert view.due_at.astimezone(CHINA_TZ) == friday.replace(day=1, month=12)
    # a withdrawal below the threshold keeps the deadline: the answer is owed
    supports.withdraw(session, row.id, actor=resident("u1"), at=friday + HOUR)
    assert views.idea_view(session, center, row.id, viewer=None).due_at is not None
    # `row` is answered on time, `late` not at all; look on Wednesday 2 Dec
    service.answer(session, center, row.id, AnswerAction.EVALUATE, actor=dispatcher,
                   at=friday + HOUR)  # fmt: skip
    service.answer(session, center, row.id, AnswerAction.ACCEPT, actor=supervisor,
                   at=friday + 2 * HOUR)  # fmt: skip
    wednesday = friday.replace(day=2, month=12)
    stats = views.unit_statistics(session, center, at=wednesday, level="street")
    assert len(stats) == 1
    s = stats[0]
    assert (s.unit_code, s.ideas, s.supports, s.answers_due, s.answered) == (STREET, 2, 5, 2, 1)
    assert (s.overdue, s.overdue_ideas, s.answer_rate) == (1, [late.id], 0.5)
    assert s.median_answer_days == pytest.approx((2 * 3600) / 86_400, abs=0.01)


def test_near_duplicates_are_proposed_while_writing(
    session, center, make_campaign, monday_9, point
):
    camp = make_campaign()
    first = _idea(session, center, camp, monday_9, point, title="老旧小区加装电梯")
    _idea(session, center, camp, monday_9, point, author="b", title="夜市油烟", body="烧烤油烟太大")
    lon, lat = point(street=STREET)
    found = service.duplicates_of(
        session, camp.id, "建议给小区加装电梯 老人上楼难", lon=lon, lat=lat
    )
    assert [m.key for m in found] == [first.id]


def test_accepted_idea_becomes_a_case_routed_like_any_report(
    session, center, make_campaign, monday_9, point, supervisor, dispatcher
):
    camp = make_campaign()
    row = _idea(session, center, camp, monday_9, point, title="路灯坏了一排", body="请修复路灯")
    opener = cases_opener(session, center, at=monday_9 + HOUR)
    with pytest.raises(ConflictError, match="only an accepted idea"):
        service.to_case(session, center, row.id, category_code="C0101", opener=opener,
                        actor=supervisor, at=monday_9)  # fmt: skip
    service.answer(session, center, row.id, AnswerAction.EVALUATE, actor=dispatcher, at=monday_9)
    service.answer(session, center, row.id, AnswerAction.ACCEPT, actor=supervisor, at=monday_9)
    category = next(c for c in center.taxonomy.categories.values() if c.active).code
    with pytest.raises(PermissionDeniedError):
        service.to_case(session, center, row.id, category_code=category, opener=opener,
                        actor=dispatcher, at=monday_9)  # fmt: skip
    done = service.to_case(session, center, row.id, category_code=category, opener=opener,
                           actor=supervisor, at=monday_9 + HOUR)  # fmt: skip
    case = cases.get_case(session, center, done.case_id, actor=Actor("root", Role.ADMIN, CITY))
    assert str(case.reference) == done.case_reference
    # routed as a report from this point would be: same street, department and level
    lon, lat = point(street=STREET)
    direct = cases.submit_report(session, center.without_duplicates(),
                                 cases.ReportIn(category, lon + 0.01, lat), at=monday_9)  # fmt: skip
    assert case.street_code == STREET
    assert case.reporter == "alice" and case.category_code == category
    assert case.department == direct.case.department
    # the author follows it as their own report
    mine = cases.get_case(session, center, done.case_id, actor=resident("alice"))
    assert mine.id == done.case_id
    with pytest.raises(ConflictError, match="already became a case"):
        service.to_plan(session, center, row.id, facility_category="kindergarten",
                        actor=supervisor, at=monday_9)  # fmt: skip


def test_accepted_idea_becomes_a_planning_candidate(
    session, center, make_campaign, monday_9, point, supervisor, dispatcher
):
    camp = make_campaign()
    row = _idea(session, center, camp, monday_9, point, title="这里缺一所幼儿园")
    assert views.plan_candidates(session) == []
    service.answer(session, center, row.id, AnswerAction.EVALUATE, actor=dispatcher, at=monday_9)
    service.answer(session, center, row.id, AnswerAction.ACCEPT, actor=supervisor, at=monday_9)
    service.to_plan(session, center, row.id, facility_category="kindergarten", actor=supervisor,
                    at=monday_9)  # fmt: skip
    assert views.plan_candidates(session) == [
        {"candidate_id": f"idea-{row.id}", "lon": row.lon, "lat": row.lat,
         "category": "kindergarten"}
    ]  # fmt: skip


def test_events_are_append_only(session, center, make_campaign, monday_9, point):
    camp = make_campaign()
    _idea(session, center, camp, monday_9, point)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        session.execute(sa.text("update ideas_events set note = 'x'"))
    session.rollback()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        session.execute(sa.text("delete from ideas_events"))
    session.rollback()


def test_an_official_opens_campaigns_only_over_units_in_scope(
    session, center, make_campaign, dispatcher, monday_9
):
    street = make_campaign(unit_codes=(STREET,))  # a street of the supervisor's district
    assert street.unit_codes == [STREET]
    with pytest.raises(PermissionDeniedError, match="990102 lies outside unit 990101"):
        make_campaign(unit_codes=(DISTRICT, "990102"))
    from tests.unit.ideas.conftest import phases_from

    spec = service.CampaignIn("t", "", (STREET,), ("设施",), phases_from(monday_9),
                              threshold_supports=5)  # fmt: skip
    with pytest.raises(PermissionDeniedError, match="may not campaign"):
        service.create_campaign(session, center, spec, actor=dispatcher, at=monday_9)
    assert session.scalar(sa.text("select count(*) from ideas_campaigns")) == 1
