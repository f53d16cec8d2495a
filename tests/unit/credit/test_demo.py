"""The demo month on the small demo city: its summary's invariants, checked against the rows."""

from datetime import date

import pytest
import sqlalchemy as sa

from shancheng.cases.calendar import CHINA_TZ
from shancheng.cases.privacy import id_number_valid
from shancheng.credit.codes import EntityKind, parse_code
from shancheng.credit.decisions import publish_due
from shancheng.credit.demo import DEMO_CALENDAR, run_credit_demo
from shancheng.credit.demo_traders import TOURIST_STREETS, demo_traders, trader_sites
from shancheng.credit.draw import draw_inspections
from shancheng.credit.publicity import public_decisions
from shancheng.store.cases_tables import CaseRow
from shancheng.store.credit_tables import CaseLinkRow, DecisionRow, DrawRow, EntityRow


def test_demo_calendar_is_the_default_with_mid_autumn_and_national_day_2026():
    # decided Wednesday 30 September; 1-7 October off; working days after it: Thu 8, Fri 9,
    # Sat 10 (make-up), Mon 12, Tue 13, Wed 14, Thu 15 -> the 7th is Thursday 15 October
    assert publish_due(date(2026, 9, 30), DEMO_CALENDAR) == date(2026, 10, 15)
    # decided Thursday 24 September: Fri 25 is Mid-Autumn; Mon 28, Tue 29, Wed 30, Thu 8,
    # Fri 9, Sat 10 (make-up), Mon 12 -> the 7th is Monday 12 October
    assert publish_due(date(2026, 9, 24), DEMO_CALENDAR) == date(2026, 10, 12)


def test_traders_sit_at_markets_and_riverside_streets_with_valid_codes(small_city, admin_index):
    sites = trader_sites(small_city)
    kinds = [s.kind for s in sites]
    markets = small_city.facilities["category"].isin(["market", "supermarket"]).sum()
    assert kinds.count("night_market") == markets
    assert {s.name for s in sites if s.kind == "tourist_street"} <= set(TOURIST_STREETS)
    traders = demo_traders(
        small_city, admin_index, seed=5, per_site=4, licensed_by=date(2026, 9, 1)
    )
    assert len(traders) == 4 * len(sites)
    assert len({t.entity.code for t in traders}) == len(traders)
    for t in traders:
        parsed = parse_code(t.entity.code)
        assert parsed.kind is t.entity.kind
        assert parsed.division_code == admin_index.locate(t.entity.lon, t.entity.lat).district_code
        if t.entity.kind is EntityKind.INDIVIDUAL:
            assert id_number_valid(t.entity.representative_id)
        else:
            assert t.entity.representative_id == ""
        assert all(lic.decided_on < date(2026, 9, 1) for lic in t.entity.licences)
    again = demo_traders(small_city, admin_index, seed=5, per_site=4, licensed_by=date(2026, 9, 1))
    assert again == traders


def _local(at):
    return at.astimezone(CHINA_TZ).date()


@pytest.mark.parametrize("seed", [0])
def test_the_demo_month_keeps_its_promises(session, center, small_city, seed):
    summary = run_credit_demo(session, center, small_city, seed=seed)
    entities = list(session.scalars(sa.select(EntityRow)))
    assert summary.entities == len(entities) == 6 * len(trader_sites(small_city))
    assert summary.individual_traders == sum(e.kind == "individual" for e in entities)
    # every case of the month names its trader (and the failed inspections theirs)
    case_count = session.scalar(sa.select(sa.func.count()).select_from(CaseRow))
    links = session.scalar(sa.select(sa.func.count()).select_from(CaseLinkRow))
    assert summary.cases_linked == links == case_count
    assert summary.cases_linked == summary.cases + summary.inspections_failed
    assert summary.cases > 10 and summary.suggested_first == summary.cases
    # decisions: the summary's counts are the rows'; every publication within 7 working days
    decisions = list(session.scalars(sa.select(DecisionRow)))
    assert sum(summary.decisions.values()) == len(decisions) > 0
    published = [d for d in decisions if d.published_at is not None]
    assert summary.published == len(published) > 0
    for d in published:
        due = publish_due(_local(d.decided_at), DEMO_CALENDAR)
        assert d.publish_due == due
        assert _local(d.decided_at) <= _local(d.published_at) <= due
    assert summary.published_on_time == summary.published
    assert 1 <= summary.max_publish_working_days <= 7
    assert summary.appeals == 1
    # the public page shows them, without the operators' ID numbers
    shown = public_decisions(session, at=max(d.published_at for d in published))
    assert len(shown) == sum(d.status in {"published", "appealed", "closed"} for d in decisions)
    text = repr(shown)
    assert not any(e.representative_id and e.representative_id in text for e in entities)
    # tiers: every entity has one, some have fallen
    assert set(summary.tiers) <= {"A", "B", "C", "D"}
    assert sum(summary.tiers.values()) == len(entities)
    assert summary.tiers.get("A", 0) < len(entities) and summary.tier_changes > 0
    # the draw: redone from what it published (seed, rates, pool, population), same picks
    draw = session.get(DrawRow, summary.draw_id)
    assert draw.seed == summary.draw_seed == seed
    rates = draw.rates
    redone = draw_inspections(
        [tuple(p) for p in draw.population],
        draw.inspectors,
        rate_of=lambda tier: rates.get(tier or "unrated", rates["unrated"]),
        seed=draw.seed,
        team_size=draw.team_size,
    )
    assert [(p.code, p.tier, p.inspectors) for p in redone] == [
        (code, tier, team) for code, tier, team, _outcome in summary.picks
    ]
    assert {outcome for *_rest, outcome in summary.picks} <= {"passed", "failed"}
