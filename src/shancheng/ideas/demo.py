"""The demo campaign: real message-board suggestions, with their real support counts.

The TipDM 2020 message board (``../shared/data/complaints``, see ``PROVENANCE.md``) holds
4,326 residents' posts with their likes (点赞数). Those whose subject is a suggestion (建议,
希望, 能否...) become the ideas of a "Golden Ideas" campaign on the demo city: each is placed in
the demo district its subject names (A1区 ... A9区, folded onto the demo's districts) at a cell
of one of its streets, and gets as many supports, from as many verified residents, as the post
had likes. Moderators merge the near duplicates the board holds (the same question asked
twice), officials answer the ideas that
reached the threshold (the reply text taken from the board's official replies, the nearest by
text), one accepted idea becomes a case and one a candidate site for planning.

Everything goes through the pillar's service, as a resident or an official would.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shancheng.cases.calendar import CHINA_TZ
from shancheng.cases.permissions import Actor, Role
from shancheng.errors import InputError
from shancheng.geo.crs import utm_to_lonlat
from shancheng.ideas import service, supports
from shancheng.ideas.answers import AnswerAction
from shancheng.ideas.case_link import cases_opener
from shancheng.ideas.phases import Phases
from shancheng.ideas.similarity import Candidate, similar
from shancheng.ideas.verification import RecordedVerifier, record_verification

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center

logger = logging.getLogger(__name__)
POSTS = "tipdm2020_messages_hotspot_votes.csv.gz"
REPLIES = "tipdm2020_messages_with_replies.csv.gz"
SUGGESTION = re.compile("建议|希望|能否|可否|呼吁")
DEMO_START = datetime(2026, 11, 2, 9, 0, tzinfo=CHINA_TZ)
"""The campaign opens on Monday 2 November 2026, 09:00."""
CATEGORIES = ("交通出行", "城乡建设", "教育文体", "环境与公共设施", "其他")
_CATEGORY_WORDS = (
    ("交通出行", "地铁|公交|道路|高速|通车|天桥|地下通道|路口|站|线"),
    ("教育文体", "学校|小学|中学|田径场|体育|公园|演出|纪念馆"),
    ("环境与公共设施", "路灯|高压线|噪音|污染|垃圾|绿化"),
    ("城乡建设", "规划|土地|拆迁|地块|小区|住房|商业"),
)
FACILITY_WORDS = (
    ("sports_ground", "田径场|体育场|运动场"),
    ("middle_school", "中学"),
    ("primary_school", "小学"),
    ("kindergarten", "幼儿园"),
    ("park", "公园"),
    ("market", "菜市场"),
)
"""Words of an idea's text that name a facility category of the circles catalogue."""


@dataclass(frozen=True, slots=True)
class IdeasDemoSummary:
    """What the demo did: the campaign, its ideas and supports, and the outcomes."""

    campaign_id: int
    threshold: int
    ideas: int
    supports: int
    reached: int
    merged: int
    answered: int
    case_reference: str
    plan_idea_id: int | None
    plan_category: str


@dataclass(frozen=True, slots=True)
class Post:
    """A message-board post: its id, subject, text and likes (点赞数)."""

    post_id: int
    subject: str
    body: str
    likes: int


def read_suggestions(folder: Path, *, limit: int = 40) -> list[Post]:
    """Return the board's most-liked suggestion posts, most liked first.

    Raises
    ------
    InputError
        The file is missing or lacks a column (the message names the file and the column).
    """
    path = folder / POSTS
    if not path.is_file():
        msg = (
            f"{path} not found: the ideas demo reads the TipDM message board from "
            "../shared/data/complaints (see PROVENANCE.md); pass --data to point elsewhere"
        )
        raise InputError(msg)
    table = pd.read_csv(path)
    for column in ("留言编号", "留言主题", "留言详情", "点赞数"):
        if column not in table.columns:
            msg = f"{path}: required column `{column}` is missing"
            raise InputError(msg)
    picked = table[table["留言主题"].astype(str).str.contains(SUGGESTION)]
    picked = picked.sort_values(["点赞数", "留言编号"], ascending=[False, True]).head(limit)
    return [
        Post(int(i), str(subject).strip(), str(body).strip()[:1500], int(likes))
        for i, subject, body, likes in zip(
            picked["留言编号"],
            picked["留言主题"],
            picked["留言详情"],
            picked["点赞数"],
            strict=True,
        )
    ]


def read_replies(folder: Path, *, limit: int = 600) -> list[tuple[str, str]]:
    """Return ``(subject, official reply)`` pairs of the board (the first ``limit``)."""
    path = folder / REPLIES
    if not path.is_file():
        return []
    table = pd.read_csv(path, nrows=limit)
    return [
        (str(s), str(r).strip()[:800])
        for s, r in zip(table["留言主题"], table["答复意见"], strict=True)
        if isinstance(r, str)
    ]


def _category(text: str) -> str:
    for category, words in _CATEGORY_WORDS:
        if re.search(words, text):
            return category
    return "其他"


def facility_of(text: str) -> str:
    """Return the catalogue facility category an idea's text names, or ``""``.

    Examples
    --------
    >>> facility_of("建议双休日开放泉星小学田径场")
    'sports_ground'
    """
    for category, words in FACILITY_WORDS:
        if re.search(words, text):
            return category
    return ""


def _points(center: Center, rng: np.random.Generator) -> dict[str, list[tuple[float, float]]]:
    """Return a few cell centres per district of the demo city."""
    admin = center.admin
    cells: dict[str, list[int]] = {}
    for cell, (_community, _street, district) in sorted(admin.cell_units.items()):
        cells.setdefault(district, []).append(cell)
    out = {}
    for district, ids in cells.items():
        chosen = rng.choice(np.asarray(ids), size=min(12, len(ids)), replace=False)
        x, y = admin.grid.cell_center(chosen)
        lon, lat = utm_to_lonlat(x, y, epsg=admin.crs_epsg)
        out[district] = [(float(a), float(b)) for a, b in zip(lon, lat, strict=True)]
    return out


def run_ideas_demo(  # noqa: PLR0915 - one story, told in order
    session: Session,
    center: Center,
    folder: Path,
    *,
    seed: int = 0,
    limit: int = 40,
    threshold: int = 20,
) -> IdeasDemoSummary:
    """Run the demo campaign on ``center``'s city from the message board in ``folder``."""
    posts = read_suggestions(folder, limit=limit)
    rng = np.random.default_rng(seed)
    districts = sorted({d for _c, _s, d in center.admin.cell_units.values()})
    points = _points(center, rng)
    official = Actor("demo-official", Role.SUPERVISOR, center.city_code)
    dispatcher = Actor("demo-dispatcher", Role.DISPATCHER, center.city_code)
    moderator = Actor("demo-moderator", Role.DISPATCHER, center.city_code)
    d = timedelta(days=1)
    t0 = DEMO_START
    phases = Phases(
        (t0, t0 + 14 * d), (t0, t0 + 28 * d), (t0 + 28 * d, t0 + 42 * d), (t0 + 42 * d, t0 + 90 * d)
    )
    camp = service.create_campaign(
        session,
        center,
        service.CampaignIn(
            "金点子：让山城更宜居",
            "征集市民对交通、公共设施、教育文体和城市建设的建议。支持数达到门槛的建议，"
            "相关部门在十个工作日内正式答复",
            (center.city_code,),
            CATEGORIES,
            phases,
            threshold_supports=threshold,
            answer_working_days=10,
        ),
        actor=official,
        at=t0 - d,
    )
    most = max((p.likes for p in posts), default=0)
    for i in range(most):
        created = t0 - timedelta(days=400 - i)  # long-standing accounts: no burst flags
        record_verification(
            session, f"resident{i:04d}", method="phone", at=created, account_created_at=created
        )
    session.commit()
    verifier = RecordedVerifier()
    ideas: list[tuple[int, str, int]] = []
    for k, post in enumerate(posts):
        at = t0 + timedelta(hours=2 + 5 * k)
        match = re.search(r"A(\d)区", post.subject + post.body)
        district = districts[(int(match.group(1)) - 1) % len(districts)] if match else districts[0]
        lon, lat = points[district][k % len(points[district])]
        row = service.propose(
            session,
            center,
            camp.id,
            service.IdeaIn(
                post.subject[:200],
                post.body or post.subject,
                _category(post.subject),
                lon=lon,
                lat=lat,
            ),
            actor=Actor(f"poster{post.post_id}", Role.CITIZEN, ""),
            at=at,
        )
        for j in range(int(post.likes)):
            supports.support(
                session,
                center,
                row.id,
                actor=Actor(f"resident{j:04d}", Role.CITIZEN, ""),
                at=at + timedelta(minutes=3 + 7 * j),
                verifier=verifier,
            )
        ideas.append((row.id, post.subject, int(post.likes)))
    merged = _merge_repeats(session, center, ideas, moderator, t0 + 15 * d)
    replies = read_replies(folder)
    counts = supports.support_counts(session, camp.id)
    reached = [i for i, _s, _n in ideas if counts.get(i, 0) >= camp.threshold]
    answered, case_reference, plan_id, plan_category = 0, "", None, ""
    at = t0 + 10 * d  # the officials answer in the second week
    for idea_id in reached:
        row = service.idea(session, idea_id)
        if row.moderation != "visible":
            continue
        text = _reply_for(row.title + row.body, replies)
        at += timedelta(hours=3)
        service.answer(session, center, idea_id, AnswerAction.EVALUATE, actor=dispatcher, at=at)
        facility = facility_of(row.title)
        lamp = "路灯" in row.title
        accept_at, outcome_at = at + timedelta(hours=1), at + timedelta(hours=2)
        if plan_id is None and facility:
            service.answer(session, center, idea_id, AnswerAction.ACCEPT, actor=official,
                           at=accept_at, text=text)  # fmt: skip
            service.to_plan(session, center, idea_id, facility_category=facility,
                            actor=official, at=outcome_at)  # fmt: skip
            plan_id, plan_category = idea_id, facility
        elif not case_reference and lamp:
            service.answer(session, center, idea_id, AnswerAction.ACCEPT, actor=official,
                           at=accept_at, text=text)  # fmt: skip
            opener = cases_opener(session, center, at=outcome_at)
            case_reference = service.to_case(
                session, center, idea_id, category_code="C0110", opener=opener,
                actor=official, at=outcome_at,
            ).case_reference  # fmt: skip
        elif "省" in row.title:
            service.answer(
                session,
                center,
                idea_id,
                AnswerAction.DECLINE,
                actor=official,
                at=at + timedelta(hours=1),
                text="该事项属于省级事权，已转交省有关部门研究。" + text[:300],
            )
        else:
            continue  # still being evaluated: the answer is due, not given
        answered += 1
    logger.info("ideas demo: %d ideas, %d reached the threshold", len(ideas), len(reached))
    return IdeasDemoSummary(
        campaign_id=camp.id,
        threshold=camp.threshold,
        ideas=len(ideas),
        supports=sum(supports.support_counts(session, camp.id).values()),
        reached=len(reached),
        merged=merged,
        answered=answered,
        case_reference=case_reference,
        plan_idea_id=plan_id,
        plan_category=plan_category,
    )


def _merge_repeats(
    session: Session,
    center: Center,
    ideas: list[tuple[int, str, int]],
    moderator: Actor,
    at: datetime,
) -> int:
    """Merge each idea into an earlier, better-supported one that says the same (score >= 0.6)."""
    merged = 0
    kept: list[tuple[int, str]] = []
    for idea_id, subject, _likes in ideas:
        found = similar(subject, [Candidate(k, s) for k, s in kept], min_score=0.6, limit=1)
        if found:
            supports.merge(session, center, idea_id, found[0].key, actor=moderator, at=at)
            merged += 1
        else:
            kept.append((idea_id, subject))
    return merged


def _reply_for(text: str, replies: list[tuple[str, str]]) -> str:
    """Return the board's official reply whose subject is nearest ``text`` (or a plain one)."""
    found = similar(
        text, [Candidate(i, s) for i, (s, _r) in enumerate(replies)], min_score=0.0, limit=1
    )
    if not found:
        return "感谢您的建议，我们已组织相关部门研究。"
    return replies[found[0].key][1]
