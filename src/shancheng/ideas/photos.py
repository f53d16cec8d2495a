"""An idea's photos as they are served: re-encoded at upload, so without metadata.

Whoever may see the idea sees its photos: a hidden idea's are its author's and the staff's only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from shancheng.errors import NotFoundError
from shancheng.ideas.service import campaign, idea
from shancheng.ideas.views import visible_to
from shancheng.store.ideas_tables import IdeaPhotoRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.cases.permissions import Actor


@dataclass(frozen=True, slots=True)
class IdeaPhoto:
    """One stored photo of an idea (re-encoded at upload: no metadata) and who may keep it."""

    content_type: str
    content: bytes
    public: bool


def idea_photo(
    session: Session, center: Center, idea_id: int, index: int, *, viewer: Actor | None
) -> IdeaPhoto:
    """Return the ``index``-th photo (from 0, in upload order) of an idea ``viewer`` may see.

    A hidden idea's photos are its author's and the staff's, like the idea itself; ``public``
    tells whether anyone may see it (so whether a shared cache may keep it).

    Raises
    ------
    NotFoundError
        No such idea for this viewer (``idea_id``), or no photo at ``index``.
    """
    row = idea(session, idea_id)
    camp = campaign(session, row.campaign_id)
    if not visible_to(row, camp, center, viewer):
        msg = f"`idea_id`: no idea {idea_id}"
        raise NotFoundError(msg, field="idea_id")
    photo = session.scalars(
        sa.select(IdeaPhotoRow)
        .where(IdeaPhotoRow.idea_id == idea_id)
        .order_by(IdeaPhotoRow.id)
        .offset(index)
        .limit(1)
    ).first()
    if photo is None:
        msg = f"`index`: idea {idea_id} has no photo {index} (photos are numbered from 0)"
        raise NotFoundError(msg, field="index")
    return IdeaPhoto(photo.content_type, photo.content, public=row.moderation != "hidden")
