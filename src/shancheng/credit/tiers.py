"""Credit tiers from an entity's history: rules as data, a pure assessment with its reasons.

Each credit event (a decision, a case naming the entity, an inspection's result) adds its
weight to the starting score, decayed exponentially with the event's age, while the record
counts: from its date until its publicity period ends, or until a repair granted on request
(信用修复) after its minimum publicity. The score, kept within ``[0, max_score]``, gives the
tier: the first tier whose ``min_score`` it reaches. The rules live in ``rules.toml`` beside
this module (or a file of the same shape); :func:`assess` is pure.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from shancheng.errors import ConfigError

if TYPE_CHECKING:
    from datetime import date
    from pathlib import Path

UNRATED = "unrated"
"""The draw-rate key of an entity not yet assessed."""


@dataclass(frozen=True, slots=True)
class EventRule:
    """How one kind of credit event counts."""

    weight: float
    half_life_days: float
    publicity_days: int
    min_publicity_days: int  # -1: not repairable

    @property
    def repairable(self) -> bool:
        """Whether a repair may end the record early."""
        return self.min_publicity_days >= 0


@dataclass(frozen=True, slots=True)
class TierRules:
    """The rule set: tiers by minimum score, event kinds, draw rates."""

    start_score: float
    max_score: float
    severe_amount_yuan: float
    tiers: tuple[tuple[str, float], ...]  # (tier, min_score), best first
    events: dict[str, EventRule]
    draw_rates: dict[str, float]

    def rate_of(self, tier: str) -> float:
        """Return the draw probability of ``tier`` (``unrated`` for an entity not assessed)."""
        return self.draw_rates.get(tier or UNRATED, self.draw_rates[UNRATED])


@dataclass(frozen=True, slots=True)
class CreditEvent:
    """One record in an entity's credit history."""

    kind: str
    on: date
    ref: str
    repaired_on: date | None = None
    repair_reason: str = ""


ReasonCode = Literal["counted", "expired", "repaired"]
"""Why an event weighs what it does: it ``counted`` (decayed), ``expired`` (past its publicity)
or was ``repaired``."""


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one event weighs what it does in an assessment, in no language.

    A code, the event, and the figures the code's sentence needs (the dashboard words it in
    Chinese or English).

    ``params`` per code: ``counted``: ``weight``, ``factor``, ``age_days``, ``half_life_days``,
    ``change``; ``expired``: ``publicity_days``; ``repaired``: ``repaired_on``,
    ``repair_reason`` (the officer's words).
    """

    code: ReasonCode
    kind: str
    ref: str
    on: date
    params: dict[str, float | str]

    def as_dict(self) -> dict[str, Any]:
        """Return the reason as JSON-ready data (stored with a tier change)."""
        return {
            "code": self.code,
            "kind": self.kind,
            "ref": self.ref,
            "on": self.on.isoformat(),
            "params": dict(self.params),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reason:
        """Return the reason :meth:`as_dict` stored."""
        from datetime import date as day  # noqa: PLC0415 - the module imports date for typing

        return cls(
            data["code"], data["kind"], data["ref"], day.fromisoformat(data["on"]), data["params"]
        )

    def english(self) -> str:
        """Return the reason as an English sentence (logs and the command line).

        Examples
        --------
        >>> from datetime import date
        >>> Reason("expired", "warning", "decision 3", date(2026, 1, 5),
        ...        {"publicity_days": 90}).english()
        'warning (decision 3, 2026-01-05): past its 90-day publicity; no longer counts'
        """
        head = f"{self.kind} ({self.ref}, {self.on.isoformat()})"
        p = self.params
        if self.code == "repaired":
            return (
                f"{head}: repaired on {p['repaired_on']} ({p['repair_reason']}); no longer counts"
            )
        if self.code == "expired":
            return f"{head}: past its {p['publicity_days']}-day publicity; no longer counts"
        return (
            f"{head}: {p['weight']:+g} x {p['factor']:.2f} ({p['age_days']} d, half-life "
            f"{p['half_life_days']:g} d) = {p['change']:+.1f}"
        )


@dataclass(frozen=True, slots=True)
class Assessment:
    """An entity's score and tier on a day, with one reason per event."""

    score: float
    tier: str
    reasons: tuple[Reason, ...]


def load_rules(path: Path | None = None) -> TierRules:
    """Read a rule set (default: the packaged ``rules.toml``).

    Raises
    ------
    ConfigError
        A field is missing or out of range (the message names the file and the field).
    """
    if path is None:
        text = (resources.files("shancheng.credit") / "rules.toml").read_text("utf-8")
        name = "shancheng/credit/rules.toml"
    else:
        text, name = path.read_text("utf-8"), str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{name}: not valid TOML ({exc})"
        raise ConfigError(msg) from exc
    try:
        return _rules(data, name)
    except KeyError as exc:
        msg = f"{name}: missing field {exc.args[0]!r}"
        raise ConfigError(msg) from exc


def _rules(data: dict[str, Any], name: str) -> TierRules:
    tiers = tuple((str(t["tier"]), float(t["min_score"])) for t in data["tiers"])
    if not tiers or [m for _, m in tiers] != sorted((m for _, m in tiers), reverse=True):
        msg = f"{name}: `tiers` must be listed best first, by decreasing min_score"
        raise ConfigError(msg)
    events = {
        kind: EventRule(
            float(e["weight"]),
            float(e["half_life_days"]),
            int(e["publicity_days"]),
            int(e["min_publicity_days"]),
        )
        for kind, e in data["events"].items()
    }
    for kind, rule in events.items():
        if rule.half_life_days <= 0 or rule.publicity_days < max(rule.min_publicity_days, 0):
            msg = (
                f"{name}: events.{kind}: half_life_days must be > 0 and publicity_days >= "
                "min_publicity_days"
            )
            raise ConfigError(msg)
    rates = {str(k): float(v) for k, v in data["draw"]["rates"].items()}
    bad = {k: v for k, v in rates.items() if not 0.0 <= v <= 1.0}
    if bad or UNRATED not in rates or not {t for t, _ in tiers} <= set(rates):
        msg = f"{name}: draw.rates must give a probability in [0, 1] for every tier and `unrated`"
        raise ConfigError(msg)
    return TierRules(
        float(data["start_score"]),
        float(data["max_score"]),
        float(data["severe_amount_yuan"]),
        tiers,
        events,
        rates,
    )


def assess(events: list[CreditEvent], rules: TierRules, *, on: date) -> Assessment:
    """Score an entity's history on day ``on`` and give its tier, with the reasons.

    Parameters
    ----------
    events
        The entity's credit events (any order; those after ``on`` are ignored).
    rules
        The rule set.
    on
        The day of the assessment.

    Returns
    -------
    Assessment
        Score (rounded to 0.1), tier, and one reason per event, oldest first.

    Examples
    --------
    >>> from datetime import date
    >>> rules = load_rules()
    >>> severe = CreditEvent("penalty_severe", date(2026, 1, 1), "decision 1")
    >>> a = assess([severe], rules, on=date(2028, 1, 1))
    >>> a.score, a.tier   # 100 - 40 * 0.5 ** (730 / 730)
    (80.0, 'B')
    """
    score = rules.start_score
    reasons: list[Reason] = []
    for event in sorted(events, key=lambda e: (e.on, e.ref)):
        if event.on > on:
            continue
        rule = rules.events.get(event.kind)
        if rule is None:
            msg = f"credit event {event.ref!r}: kind {event.kind!r} is not in the rules"
            raise ConfigError(msg)
        age = (on - event.on).days
        if event.repaired_on is not None and event.repaired_on <= on:
            repaired: dict[str, float | str] = {
                "repaired_on": event.repaired_on.isoformat(),
                "repair_reason": event.repair_reason,
            }
            reasons.append(Reason("repaired", event.kind, event.ref, event.on, repaired))
            continue
        if age >= rule.publicity_days:
            expired: dict[str, float | str] = {"publicity_days": rule.publicity_days}
            reasons.append(Reason("expired", event.kind, event.ref, event.on, expired))
            continue
        factor = math.pow(0.5, age / rule.half_life_days)
        change = rule.weight * factor
        score += change
        counted: dict[str, float | str] = {
            "weight": rule.weight,
            "factor": round(factor, 4),
            "age_days": age,
            "half_life_days": rule.half_life_days,
            "change": round(change, 2),
        }
        reasons.append(Reason("counted", event.kind, event.ref, event.on, counted))
    score = round(min(max(score, 0.0), rules.max_score), 1)
    tier = next((t for t, minimum in rules.tiers if score >= minimum), rules.tiers[-1][0])
    return Assessment(score, tier, tuple(reasons))


def repair_possible_on(event: CreditEvent, rules: TierRules) -> date | None:
    """Return the first day a repair of ``event`` may be granted (None: not repairable)."""
    from datetime import timedelta  # noqa: PLC0415 - keeps the module's imports for typing only

    rule = rules.events[event.kind]
    if not rule.repairable:
        return None
    return event.on + timedelta(days=rule.min_publicity_days)
