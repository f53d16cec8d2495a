"""The ideas commands on a small demo city: the demo campaign from the real message board,
and ``shancheng circles plan`` choosing the site of an accepted idea."""

import re
import sqlite3

import pytest
from tests.shared import shared_or_skip
from tests.unit.credit.test_cli_credit import data_dir, env  # noqa: F401 - fixtures re-used

from shancheng.circles.candidates import candidate_frame, lonlat_candidates
from shancheng.circles.plan_city import plan_city
from shancheng.circles.standard import load_catalogue
from shancheng.cli import main
from shancheng.data.city import read_city


@pytest.mark.data
def test_demo_campaign_from_the_message_board_then_plan_offers_the_idea(env, data_dir, capsys):  # noqa: F811
    board = shared_or_skip() / "complaints"
    assert main(["ideas", "demo", "--data", str(board)]) == 0
    out = capsys.readouterr().out
    db = env  # the configured database, the one `shancheng serve` uses
    with sqlite3.connect(db) as conn:
        ideas = conn.execute("select count(*) from ideas").fetchone()[0]
        # the supports are the posts' likes (the 40 most liked suggestions), less the people
        # who liked both of two merged repeats: each counted once
        likes = conn.execute(
            "select count(*) from ideas_support_log where action = 'support'"
        ).fetchone()[0]
        folded = conn.execute(
            "select count(*) from ideas_support_log where action = 'fold'"
        ).fetchone()[0]
        standing = conn.execute("select count(*) from ideas_supports").fetchone()[0]
        pairs = conn.execute(
            "select count(*) from (select distinct idea_id, username from ideas_supports)"
        ).fetchone()[0]
        due = conn.execute("select count(*) from ideas_deadlines").fetchone()[0]
        plan = conn.execute(
            "select id, plan_category, answer_status from ideas where outcome = 'plan'"
        ).fetchall()
        case = conn.execute(
            "select i.case_reference, c.reference, c.category_code from ideas i "
            "join cases c on c.id = i.case_id"
        ).fetchall()
    assert ideas == 40
    assert likes == 788  # sum of the 40 posts' 点赞数 (checked by hand with pandas)
    assert standing == pairs == likes - folded
    assert due >= 10
    assert len(plan) == 1 and plan[0][2] == "accepted"
    assert case and case[0][0] == case[0][1] and case[0][2] == "C0110"
    assert "accepted idea → plan candidate" in out
    idea_id, category = plan[0][0], plan[0][1]
    assert category == "sports_ground"
    # the plan picks the idea up from the demo database
    assert main(["ideas", "candidates", "--database", f"sqlite:///{db}"]) == 0
    assert f"idea-{idea_id}\tsports_ground" in capsys.readouterr().out
    out_dir = env.parent / "plan"
    code = main(["circles", "plan", "--requirement", "sports_ground_10min", "--k", "3",
                 "--ideas", "--out", str(out_dir)])  # fmt: skip
    assert code == 0
    assert re.search(r"sports_ground_10min: \d+ new sites", capsys.readouterr().out)
    # run again (make demo twice): the campaign is left as it is, nothing doubled
    assert main(["ideas", "demo", "--data", str(board)]) == 0
    assert "already holds 1 campaign(s)" in capsys.readouterr().out
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from ideas").fetchone()[0] == ideas


def test_plan_chooses_an_accepted_ideas_site(data_dir):  # noqa: F811
    city = read_city(data_dir / "demo", verify=False)
    catalogue = load_catalogue()
    requirement = "sports_ground_10min"
    first = plan_city(city, catalogue, requirement=requirement, k=1)
    best = first.sites.iloc[0]
    lon, lat = best.geometry.x, best.geometry.y
    rows = [
        {"candidate_id": "idea-7", "lon": lon, "lat": lat, "category": "sports_ground"},
        {"candidate_id": "idea-8", "lon": lon, "lat": lat, "category": "kindergarten"},
    ]
    extra = lonlat_candidates(rows, epsg=city.network.crs_epsg)
    assert len(extra) == 2 and extra["x_utm"].iloc[0] == pytest.approx(best.x_utm, abs=0.01)
    none = candidate_frame([], [], [], epsg=city.network.crs_epsg)
    plan = plan_city(city, catalogue, requirement=requirement, k=1, candidates=none,
                     extra_candidates=extra)  # fmt: skip
    # the kindergarten idea is not a sports-ground candidate; the sports-ground one is chosen
    assert plan.sites["candidate_id"].tolist() == ["idea-7"]
    assert plan.share_after == pytest.approx(first.share_after)
