"""Bodies of the governance center's REST endpoints: CaseCreate, CaseRead, ActionIn..."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from shancheng.cases.domain import Action, CaseStatus
from shancheng.cases.media import Photo


class PhotoIn(BaseModel):
    """A photo, base64-encoded; its type is taken from its bytes, not from ``content_type``."""

    content_base64: str = Field(max_length=8 * 1024 * 1024)
    content_type: str | None = Field(default=None, max_length=64)
    filename: str = Field(default="", max_length=200)

    def to_photo(self, index: int) -> Photo:
        """Decode to a :class:`~shancheng.cases.media.Photo`."""
        try:
            content = base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            from shancheng.errors import CaseInputError  # noqa: PLC0415

            msg = f"`photos[{index}].content_base64` is not valid base64"
            raise CaseInputError(msg, field=f"photos[{index}]") from exc
        return Photo(content, self.content_type, self.filename)


class CaseCreate(BaseModel):
    """A report: a category, a place (lon/lat or an address) and what is wrong."""

    model_config = ConfigDict(extra="forbid")

    category_code: str = Field(max_length=16, examples=["E0102"])
    lon: float | None = Field(default=None, examples=[106.55])
    lat: float | None = Field(default=None, examples=[29.56])
    address: str = Field(default="", max_length=300)
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=4000)
    extra_points: list[tuple[float, float]] = Field(default_factory=list, max_length=20)
    photos: list[PhotoIn] = Field(default_factory=list, max_length=5)


class CaseRead(BaseModel):
    """A case as operators see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str | None
    category_code: str
    status: CaseStatus
    source: str
    title: str
    description: str
    address: str
    address_id: str
    lon: float
    lat: float
    cell_id: int
    community_code: str
    street_code: str
    district_code: str
    department: str
    level: str
    unit_code: str
    priority: int
    reported_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    deadline_at: datetime | None
    expected_at: datetime | None
    suspended_since: datetime | None
    escalations: int
    reworks: int
    duplicates: int
    parent_id: int | None
    satisfaction: int | None
    closed_on_time: bool | None
    actions: list[Action] = Field(
        default_factory=list,
        description="The workflow actions the signed-in user may take on the case now.",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_open(self) -> bool:
        """Not yet closed, rejected or merged (the workflow's own sets)."""
        return self.status.is_open


class StatusRead(BaseModel):
    """One stage of the workflow."""

    value: CaseStatus
    name_zh: str
    is_open: bool


class WorkflowRead(BaseModel):
    """The workflow's stages in order, and which are open (what the dashboard must not copy)."""

    statuses: list[StatusRead]


class IntakeRead(BaseModel):
    """The answer to a report: the stored case, and the open case it duplicates if any."""

    case: CaseRead
    linked_to: int | None


class ActionIn(BaseModel):
    """A workflow action on a case."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    note: str = Field(default="", max_length=4000)
    department: str | None = Field(default=None, max_length=32)
    into: int | None = Field(default=None, ge=1, le=2**31 - 1)
    photos: list[PhotoIn] = Field(default_factory=list, max_length=5)

    @field_validator("action")
    @classmethod
    def _not_report(cls, value: Action) -> Action:
        if value is Action.REPORT:
            msg = "`report` is not an action; POST /cases to report"
            raise ValueError(msg)
        return value


class RatingIn(BaseModel):
    """The reporter's satisfaction with a closed case (1 = very unhappy, 5 = very happy)."""

    satisfaction: int = Field(ge=1, le=5)


class EventRead(BaseModel):
    """One event of a case's history."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    action: str
    from_status: str
    to_status: str
    actor: str
    at: datetime
    note: str
    data: dict[str, Any]


class AttachmentRead(BaseModel):
    """A photo or record attached to a case; a photo's bytes are at ``url``."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    event_seq: int | None
    kind: str
    blob_sha256: str | None
    data: dict[str, Any] | None
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def url(self) -> str | None:
        """Where the photo's bytes are served (``GET /blobs/{sha256}``), if it is a photo."""
        return f"/blobs/{self.blob_sha256}" if self.blob_sha256 else None


class TokenRead(BaseModel):
    """A login token (send it as ``Authorization: Bearer <access_token>``)."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: datetime


class ClassifyIn(BaseModel):
    """Free text to classify (a report's description)."""

    text: str = Field(min_length=1, max_length=4000)


class ProposalRead(BaseModel):
    """A proposed category with the model's confidence; the operator confirms."""

    category_code: str
    name_zh: str
    name_en: str
    confidence: float


class RuleIn(BaseModel):
    """A jurisdiction rule: (category code, prefix or ``*``; unit code or ``*``) → department."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(max_length=16, examples=["E05"])
    unit: str = Field(max_length=16, examples=["990101"])
    department: str = Field(max_length=32, examples=["urban_mgmt"])
    level: Literal["street", "district", "city"]


class RulePatch(BaseModel):
    """Fields of a jurisdiction rule to change."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, max_length=16)
    unit: str | None = Field(default=None, max_length=16)
    department: str | None = Field(default=None, max_length=32)
    level: Literal["street", "district", "city"] | None = None


class RuleRead(RuleIn):
    """A stored jurisdiction rule."""

    model_config = ConfigDict(from_attributes=True)

    id: int


class StageLimitIn(BaseModel):
    """A district's own time limit for one stage of a category (``*``: every category)."""

    model_config = ConfigDict(extra="forbid")

    district_code: str = Field(max_length=16, examples=["990101"])
    category: str = Field(max_length=16, examples=["*"])
    stage: Literal["register", "dispatch", "dispose", "verify"]
    limit_h: float = Field(gt=0, le=24 * 366, description="hours of the category's clock")


class StageLimitPatch(BaseModel):
    """Fields of a stage limit to change."""

    model_config = ConfigDict(extra="forbid")

    district_code: str | None = Field(default=None, max_length=16)
    category: str | None = Field(default=None, max_length=16)
    stage: Literal["register", "dispatch", "dispose", "verify"] | None = None
    limit_h: float | None = Field(default=None, gt=0, le=24 * 366)


class StageLimitRead(StageLimitIn):
    """A stored stage limit."""

    model_config = ConfigDict(from_attributes=True)

    id: int


class AuditRead(BaseModel):
    """One change to the configuration tables."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    table_name: str
    row_id: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None


_NAME = Field(min_length=1, max_length=100)
_MAYBE_NAME = Field(default=None, min_length=1, max_length=100)
Keyword = Annotated[str, Field(min_length=1, max_length=32)]
StageHours = dict[
    Literal["register", "dispatch", "dispose", "verify"],
    Annotated[float, Field(gt=0, le=24 * 366, description="hours of the category's clock")],
]


class TaxonomyCategoryIn(BaseModel):
    """A new category: GB/T 30428-style code, names, default handling, stage limits.

    ``kind`` follows from the code's letter (C component, E event) when left out; the group
    names from the code's major class, unless ``group_zh`` and ``group_en`` name a new one.
    """

    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=8, examples=["E0701"])
    kind: Literal["component", "event"] | None = None
    name_zh: str = _NAME
    name_en: str = _NAME
    group_zh: str | None = _MAYBE_NAME
    group_en: str | None = _MAYBE_NAME
    department: str = Field(max_length=32, examples=["sanitation"])
    level: Literal["street", "district", "city"]
    priority: int = Field(ge=1, le=3, description="1 = most urgent")
    limits_h: StageHours = Field(description="hours per stage: register, dispatch, dispose, verify")
    clock: Literal["working", "natural"] = "working"
    keywords: list[Keyword] = Field(default_factory=list, max_length=30)
    active: bool = True


class TaxonomyCategoryPatch(BaseModel):
    """Fields of a category to change; ``active: false`` retires it (no new reports)."""

    model_config = ConfigDict(extra="forbid")

    name_zh: str | None = _MAYBE_NAME
    name_en: str | None = _MAYBE_NAME
    group_zh: str | None = _MAYBE_NAME
    group_en: str | None = _MAYBE_NAME
    department: str | None = Field(default=None, max_length=32)
    level: Literal["street", "district", "city"] | None = None
    priority: int | None = Field(default=None, ge=1, le=3)
    limits_h: StageHours | None = Field(default=None, description="the stages to change only")
    clock: Literal["working", "natural"] | None = None
    keywords: list[Keyword] | None = Field(default=None, max_length=30)
    active: bool | None = None


class CaseCategoryRead(BaseModel):
    """A case category as anyone may read it: code, names, group, and whether it is active.

    A retired category (``active`` false) takes no new reports; its old cases keep it, so it
    stays listed for showing their names.
    """

    code: str = Field(examples=["E0301"])
    kind: Literal["component", "event"]
    name_zh: str
    name_en: str
    group_zh: str
    group_en: str
    active: bool


class TaxonomyCategoryRead(BaseModel):
    """A category of the taxonomy with its default department, level and stage limits.

    ``active`` is false for a retired category; ``origin`` says whether it is as packaged
    (``seed``), a packaged one an admin changed (``edited``) or one an admin added.
    """

    code: str
    kind: str
    name_zh: str
    name_en: str
    group_zh: str
    group_en: str
    department: str
    level: str
    priority: int
    limits_h: dict[str, float]
    clock: str
    keywords: list[str]
    active: bool
    origin: Literal["seed", "edited", "added"]


class MeRead(BaseModel):
    """The signed-in user: role, unit and department with their names, and what is open to them.

    The dashboard shows a view, a menu or a form only when ``routes`` holds the route behind
    it, and a case's buttons from that case's ``actions``: it keeps no copy of the policy.
    """

    username: str
    role: str
    unit_code: str
    unit_name: str
    unit_name_en: str
    department: str | None
    department_name: str | None
    department_name_en: str | None
    routes: list[str] = Field(description="Policy keys (``METHOD /path``) the user may call.")


class DepartmentRead(BaseModel):
    """A department that handles cases, with its names."""

    code: str
    name_zh: str
    name_en: str


class TrendDay(BaseModel):
    """Cases reported and closed on one day (UTC date)."""

    day: str
    reported: int
    closed: int


class TrendWeek(BaseModel):
    """Closings of one ISO week (from its Monday) whose punctuality is known, and those on time."""

    week: str
    closed_timed: int
    closed_on_time: int
    on_time_share: float | None


class TrendsRead(BaseModel):
    """Case trends in the reader's scope, up to ``until`` (the server's clock)."""

    until: datetime
    daily: list[TrendDay]
    weekly: list[TrendWeek]
