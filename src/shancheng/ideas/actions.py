"""What a viewer may do to an idea now: the staff's buttons, decided by the server.

The dashboard shows a button for each action of :func:`idea_actions` and keeps no copy of the
role rules (as a case's buttons come from ``CaseRead.actions``). Each action is one the
service would accept now from this viewer: the role's verb, the unit's scope, and the idea's
state (moderation, the answer workflow, the outcome).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shancheng.ideas.answers import TRANSITIONS, AnswerStatus
from shancheng.ideas.permissions import IdeaVerb, may
from shancheng.ideas.service import units_of

if TYPE_CHECKING:
    from shancheng.cases.center import Center
    from shancheng.cases.permissions import Actor
    from shancheng.store.ideas_tables import CampaignRow, IdeaRow

OUTCOME_STATUSES = frozenset({AnswerStatus.ACCEPTED, AnswerStatus.IN_PROGRESS})
"""Answer statuses in which an idea may become a case or a planning site."""


def idea_actions(
    row: IdeaRow, camp: CampaignRow, center: Center, viewer: Actor | None
) -> list[str]:
    """Return the staff actions ``viewer`` may take on the idea now, in a stable order.

    ``hide`` or ``show`` (moderation), ``merge`` (into another idea of the campaign), the
    answer steps the workflow allows from the idea's answer status (``evaluate``, ``accept``,
    ``decline``, ``start``, ``finish``), and ``to_case`` / ``to_plan`` for an accepted idea
    with a point and no outcome yet. Residents and anonymous viewers get none.
    """
    if viewer is None:
        return []
    units = units_of(row, camp, center)
    found: list[str] = []
    if row.moderation == "hidden" and may(viewer, IdeaVerb.MODERATE, *units):
        found.append("show")
    if row.moderation != "visible":
        return found
    if may(viewer, IdeaVerb.MODERATE, *units):
        found.append("hide")
    if may(viewer, IdeaVerb.MERGE, *units):
        found.append("merge")
    status = AnswerStatus(row.answer_status)
    found += [
        action.value
        for (source, action) in TRANSITIONS
        if source is status and may(viewer, IdeaVerb(action.value), *units)
    ]
    placed = row.lon is not None and row.lat is not None
    if (
        status in OUTCOME_STATUSES
        and not row.outcome
        and placed
        and may(viewer, IdeaVerb.ACCEPT, *units)
    ):
        found += ["to_case", "to_plan"]
    return found
