"""Who may call which route: the access policy of the whole API, as one table.

Every route the application serves has a row in :data:`POLICY`: its audience, the roles it is
for (staff routes), the API-key scope a machine client needs, and why. The application refuses
to start with a route that has no row (:func:`check_policy`), and a dependency every router
carries (:func:`enforce`) looks the matched route up and refuses callers outside its audience
before the endpoint runs. Scoping to the caller's unit and department (which cases, which
district's alarms) is the services' job, on the data itself.

Audiences:

- ``public``: anyone, without logging in (Open311 as the spec defines it, living circles, plan
  targets, the categories, following one's own report by its reference).
- ``user``: any signed-in user, citizens included.
- ``staff``: signed-in staff (every role but citizen), or only the roles listed.
- ``client``: a machine client's API key with the route's scope, checked by the endpoint itself
  (Open311 reports: the key is a form field of the body).
- ``ingest``: an API key with the ``ingest`` scope, or a staff token (sensor readings).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from fastapi import Request

from shancheng.api.state import app_state
from shancheng.cases import tokens
from shancheng.cases.permissions import ROLE_ACTIONS, Actor, Permission, Role
from shancheng.credit.permissions import ROLE_VERBS, CreditVerb
from shancheng.errors import AuthenticationError, ConfigError, PermissionDeniedError
from shancheng.ideas.permissions import ROLE_VERBS as IDEA_ROLE_VERBS
from shancheng.ideas.permissions import IdeaVerb

if TYPE_CHECKING:
    from fastapi import FastAPI


class Audience(StrEnum):
    """Who a route is for (see the module docstring)."""

    PUBLIC = "public"
    USER = "user"
    STAFF = "staff"
    CLIENT = "client"
    INGEST = "ingest"


class KeyScope(StrEnum):
    """What an API key may be used for.

    ``REPORT``: post Open311 reports (a citizen app); ``INGEST``: post sensor readings (a
    gateway); ``ANALYTICS``: read-only staff data for another system.
    """

    REPORT = "report"
    INGEST = "ingest"
    ANALYTICS = "analytics"


@dataclass(frozen=True, slots=True)
class Rule:
    """One route's access rule."""

    audience: Audience
    reason: str
    roles: frozenset[Role] | None = None  # staff: only these roles (None: every staff role)


STAFF_ROLES = frozenset(Role) - {Role.CITIZEN}
_EVALUATORS = frozenset(r for r, verbs in ROLE_ACTIONS.items() if Permission.EVALUATE in verbs)
_ADMIN = frozenset({Role.ADMIN})
_SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
_P, _U, _S = Audience.PUBLIC, Audience.USER, Audience.STAFF

_OPEN311 = "Open311 GeoReport v2 is public by specification; records are the masked public view"
_CIRCLES = "living-circle analyses of public facilities and aggregate population"
_MOBILITY = "school-zone and junction measures from public streets and aggregate pupils"
_INFRA = "critical infrastructure: pipe layout, sensors, alarms and valves are for staff only"
_CASES = "cases hold citizens' personal data; the services scope them to the user's unit"
_ADMINS = "configuration of the governance center; administrators only"
_LINKERS = frozenset(r for r, verbs in ROLE_VERBS.items() if CreditVerb.LINK in verbs)
_PROPOSERS = frozenset(r for r, verbs in ROLE_VERBS.items() if CreditVerb.PROPOSE in verbs)
_INSPECTORS = frozenset(r for r, verbs in ROLE_VERBS.items() if CreditVerb.INSPECT in verbs)
_CREDIT = "enforcement records name businesses and operators; the services scope them to the unit"
_IDEAS_PUBLIC = "ideas as the public sees them: personal data masked, hidden ideas left out"
_IDEAS_STAFF = "moderation and official answers; the services scope them to the unit"
_IDEA_VERBS = IDEA_ROLE_VERBS.items()
_IDEA_CAMPAIGNERS = frozenset(r for r, verbs in _IDEA_VERBS if IdeaVerb.CAMPAIGN in verbs)
_IDEA_MODERATORS = frozenset(r for r, verbs in _IDEA_VERBS if IdeaVerb.MODERATE in verbs)
_IDEA_ANSWERERS = frozenset(
    r for r, verbs in _IDEA_VERBS if verbs & {IdeaVerb.EVALUATE, IdeaVerb.START, IdeaVerb.FINISH}
)
_IDEA_DECIDERS = frozenset(r for r, verbs in _IDEA_VERBS if IdeaVerb.ACCEPT in verbs)

POLICY: dict[str, Rule] = {
    # meta and authentication
    "GET /health": Rule(_P, "liveness probe, tells nothing"),
    "GET /": Rule(_P, "redirects to the dashboard"),
    "GET /ui": Rule(_P, "the dashboard's static files (data comes from the API)"),
    "GET /ui/": Rule(_P, "the dashboard's static files (data comes from the API)"),
    "POST /auth/token": Rule(_P, "logging in; throttled per account and per client address"),
    "DELETE /auth/token": Rule(_U, "logging out: revokes only the caller's own token"),
    # Open311
    "GET /open311/discovery.{fmt}": Rule(_P, _OPEN311),
    "GET /open311/services.{fmt}": Rule(_P, _OPEN311),
    "GET /open311/services/{service_code}.{fmt}": Rule(_P, _OPEN311),
    "GET /open311/requests.{fmt}": Rule(_P, _OPEN311),
    "GET /open311/requests/{request_id}.{fmt}": Rule(_P, _OPEN311),
    "GET /open311/tokens/{token}.{fmt}": Rule(_P, _OPEN311),
    "POST /open311/requests.{fmt}": Rule(
        Audience.CLIENT, "reports from citizen apps: an API key with the report scope"
    ),
    # citizens' reports and their follow-up
    "POST /cases": Rule(_P, "anyone may report a problem (rate-limited per client address)"),
    "GET /cases/public/{reference}": Rule(_P, "following one's report by its reference"),
    "GET /categories": Rule(_P, "the names of the categories a report may take"),
    "GET /cases/workflow": Rule(_P, "the stages of the workflow, no case data"),
    "POST /cases/classify": Rule(_U, "category proposals while writing a report"),
    "GET /blobs/{sha256}": Rule(_P, "the reporters' photos, stripped of metadata; handlers' "
                                     "photos are refused to anyone but staff in scope"),
    # cases (scoped by the service to the user's unit, department or own reports)
    "GET /auth/me": Rule(_U, "the signed-in user's own role, unit and the routes open to them"),
    "GET /departments": Rule(_P, "the names of the departments that handle cases"),
    "GET /stats/trends": Rule(_S, _CASES),
    "GET /cases": Rule(_U, _CASES),
    "GET /cases/{case_id}": Rule(_U, _CASES),
    "GET /cases/{case_id}/events": Rule(_U, _CASES),
    "GET /cases/{case_id}/attachments": Rule(_U, _CASES),
    "POST /cases/{case_id}/actions": Rule(_S, _CASES),
    "POST /cases/{case_id}/rating": Rule(_U, "the reporter rates a closed case"),
    "GET /stats/evaluation": Rule(_S, "performance of departments and units", _EVALUATORS),
    "GET /stats/hotspots": Rule(
        _S, "where cases gather, from the cases' exact positions", _EVALUATORS
    ),
    "GET /stream/cases": Rule(_U, _CASES),
    # administration
    "GET /admin/audit": Rule(_S, _ADMINS, _ADMIN),
    "GET /admin/jurisdiction": Rule(_S, _ADMINS, _ADMIN),
    "POST /admin/jurisdiction": Rule(_S, _ADMINS, _ADMIN),
    "PATCH /admin/jurisdiction/{rule_id}": Rule(_S, _ADMINS, _ADMIN),
    "GET /admin/stage-limits": Rule(_S, _ADMINS, _ADMIN),
    "POST /admin/stage-limits": Rule(_S, _ADMINS, _ADMIN),
    "PATCH /admin/stage-limits/{limit_id}": Rule(_S, _ADMINS, _ADMIN),
    "GET /admin/taxonomy": Rule(_S, _ADMINS, _ADMIN),
    "POST /admin/taxonomy": Rule(_S, _ADMINS, _ADMIN),
    "PATCH /admin/taxonomy/{code}": Rule(_S, _ADMINS, _ADMIN),
    # mobility: school gates and junctions ranked as candidate projects (no case data)
    "GET /mobility/bottlenecks": Rule(_P, _MOBILITY),
    "GET /mobility/bottlenecks.geojson": Rule(_P, _MOBILITY),
    # the city and its living circles
    "GET /city/units": Rule(_P, "administrative boundaries and residents per unit"),
    "GET /city/measures": Rule(_P, "the names of the measures"),
    "GET /city/indicators": Rule(_S, "case counts and pipe monitoring per unit are operators' "
                                      "figures"),
    "GET /circles/categories": Rule(_P, _CIRCLES),
    "GET /circles/coverage": Rule(_P, _CIRCLES),
    "GET /circles/gaps": Rule(_P, _CIRCLES),
    "GET /circles/facilities": Rule(_P, _CIRCLES),
    "GET /circles/nearest": Rule(_P, _CIRCLES),
    "GET /circles/stations": Rule(_P, _CIRCLES),
    "GET /circles/stations/catchments": Rule(_P, _CIRCLES),
    "GET /circles/lines": Rule(_P, _CIRCLES),
    "GET /circles/transit/coverage": Rule(_P, _CIRCLES),
    "GET /circles/isochrone": Rule(_P, _CIRCLES),
    "POST /circles/whatif": Rule(_P, _CIRCLES),
    "GET /targets": Rule(_P, "the plan's targets and progress are published"),
    "POST /targets/{target_id}/figures": Rule(
        _S, "the plan's figures are entered by supervisors", _SUPERVISORS
    ),
    # enforcement (Credit +): staff scoped to their unit; the disclosure page is public
    "GET /credit/entities": Rule(_S, _CREDIT),
    "POST /credit/entities": Rule(_S, _CREDIT, _SUPERVISORS),
    "GET /credit/entities/{code}": Rule(_S, _CREDIT),
    "GET /credit/cases/{case_id}": Rule(_S, _CREDIT),
    "GET /credit/cases/{case_id}/suggestions": Rule(_S, _CREDIT, _LINKERS),
    "POST /credit/cases/{case_id}/link": Rule(_S, _CREDIT, _LINKERS),
    "GET /credit/decisions": Rule(_S, _CREDIT),
    "POST /credit/decisions": Rule(_S, _CREDIT, _PROPOSERS),
    "POST /credit/decisions/{decision_id}/actions": Rule(_S, _CREDIT),
    "POST /credit/decisions/{decision_id}/repair": Rule(_S, _CREDIT, _SUPERVISORS),
    "POST /credit/draws": Rule(_S, _CREDIT, _SUPERVISORS),
    "POST /credit/picks/{pick_id}/result": Rule(_S, _CREDIT, _INSPECTORS),
    "GET /credit/stats": Rule(_S, _CREDIT),
    "GET /credit/public": Rule(_P, "double publicity (双公示): published penalties and licences, "
                                   "and the inspection draws with their seeds"),
    # participation (Golden Ideas): public reads are the masked view; staff scoped to the unit
    "GET /ideas/campaigns": Rule(_P, _IDEAS_PUBLIC),
    "POST /ideas/campaigns": Rule(_S, "campaigns are opened by the officials who answer them",
                                  _IDEA_CAMPAIGNERS),
    "GET /ideas/campaigns/{campaign_id}": Rule(_P, _IDEAS_PUBLIC),
    "GET /ideas/campaigns/{campaign_id}/ideas": Rule(_P, _IDEAS_PUBLIC),
    "GET /ideas/campaigns/{campaign_id}/similar": Rule(_P, "near-duplicate ideas while writing, "
                                                           "titles masked"),
    "POST /ideas/campaigns/{campaign_id}/ideas": Rule(_U, "residents propose under their account"),
    "GET /ideas/queue": Rule(_S, _IDEAS_STAFF),
    "GET /ideas/flags": Rule(_S, _IDEAS_STAFF, _IDEA_MODERATORS),
    "POST /ideas/flags/{flag_id}/resolve": Rule(_S, _IDEAS_STAFF, _IDEA_MODERATORS),
    "GET /ideas/stats": Rule(_S, "answer rates and overdue answers per unit are supervisors' "
                                 "figures"),
    "GET /ideas/candidates": Rule(_P, "accepted ideas' sites are published planning candidates"),
    "POST /ideas/residents/{username}/verification": Rule(
        _S, "recording a resident's verification", _SUPERVISORS
    ),
    "GET /ideas/{idea_id}": Rule(_P, _IDEAS_PUBLIC),
    "GET /ideas/{idea_id}/photos/{index}": Rule(_P, "ideas' photos, stripped of metadata; a "
                                                "hidden idea's only to its author and staff"),
    "POST /ideas/{idea_id}/support": Rule(_U, "verified residents support under their account"),
    "DELETE /ideas/{idea_id}/support": Rule(_U, "residents withdraw their own support"),
    "POST /ideas/{idea_id}/moderation": Rule(_S, _IDEAS_STAFF, _IDEA_MODERATORS),
    "POST /ideas/{idea_id}/merge": Rule(_S, _IDEAS_STAFF, _IDEA_MODERATORS),
    "POST /ideas/{idea_id}/answer": Rule(_S, _IDEAS_STAFF, _IDEA_ANSWERERS),
    "POST /ideas/{idea_id}/case": Rule(_S, _IDEAS_STAFF, _IDEA_DECIDERS),
    "POST /ideas/{idea_id}/plan": Rule(_S, _IDEAS_STAFF, _IDEA_DECIDERS),
    # lifelines
    "GET /lifelines/networks": Rule(_S, _INFRA),
    "GET /lifelines/pipes": Rule(_S, _INFRA),
    "GET /lifelines/sensors": Rule(_S, _INFRA),
    "GET /lifelines/sensors/{sensor_id}/readings": Rule(_S, _INFRA),
    "GET /lifelines/alarms": Rule(_S, _INFRA),
    "POST /lifelines/alarms/{alarm_id}/acknowledge": Rule(_S, _INFRA),
    "GET /lifelines/isolation": Rule(_S, _INFRA),
    "POST /lifelines/readings": Rule(
        Audience.INGEST, "sensor readings raise alarms: an ingest key or a staff token"
    ),
    "GET /lifelines/telemetry/gaps": Rule(
        Audience.INGEST, "a gateway asks which of its messages are missing: an ingest key or staff"
    ),
    "GET /lifelines/telemetry/sources": Rule(_S, _INFRA),
    "POST /lifelines/telemetry/gaps/{gap_id}/waive": Rule(
        _S, "closing a gap as a known loss is a supervisor's decision", _SUPERVISORS
    ),
    "POST /lifelines/telemetry/heartbeat": Rule(
        Audience.INGEST, "a gateway says the last number it sent: an ingest key or a staff token"
    ),
    "POST /lifelines/telemetry/backfill": Rule(
        Audience.INGEST, "a gateway's buffer posted back: an ingest key or a staff token"
    ),
    "GET /stream/lifelines": Rule(_S, _INFRA),
    # vector tiles (the pipes layer is refused to anyone but staff by the tiles router)
    "GET /tiles": Rule(_P, "the names of the tile layers"),
    "GET /tiles/{layer}.json": Rule(_P, "tile layers; the pipes layer needs staff"),
    "GET /tiles/{layer}/{z}/{x}/{y}.mvt": Rule(_P, "tile layers; the pipes layer needs staff"),
    "GET /tiles/{layer}/{z}/{x}/{y}.png": Rule(_P, "the base map's shaded relief"),
}  # fmt: skip
"""The access rule of every route, by ``"METHOD /path"`` as the router declares the path."""

STREAM_PATHS = frozenset({"/stream/cases", "/stream/lifelines"})
"""Routes whose token may come as ``?access_token=`` (EventSource sends no headers)."""


def route_key(method: str, path: str) -> str:
    """Return the policy key of a route."""
    return f"{method.upper()} {path}"


def rule_for(method: str, path: str) -> Rule:
    """Return the rule of a route.

    Raises
    ------
    ConfigError
        The route has no rule (a route added without declaring who may call it).
    """
    rule = POLICY.get(route_key("GET" if method.upper() == "HEAD" else method, path))
    if rule is None:
        msg = (
            f"route {route_key(method, path)} has no access rule; declare its audience in "
            "shancheng.api.policy.POLICY"
        )
        raise ConfigError(msg)
    return rule


def declared_routes(app: FastAPI) -> list[str]:
    """Return the policy keys of every route ``app`` serves.

    The routes of its OpenAPI schema, and those it leaves out: the streams and the dashboard.
    """
    keys = [
        route_key(method, path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ]
    keys += [route_key("GET", path) for path in sorted(STREAM_PATHS)]
    keys += ["GET /", "GET /ui", "GET /ui/"]
    return keys


def check_policy(app: FastAPI) -> None:
    """Refuse an application with a route that has no rule, or a rule for no route.

    Raises
    ------
    ConfigError
        Naming every undeclared route and every stale rule.
    """
    served = set(declared_routes(app))
    missing = sorted(served - set(POLICY))
    stale = sorted(set(POLICY) - served)
    if missing or stale:
        msg = (
            f"access policy out of date: routes without a rule: {missing or 'none'}; "
            f"rules without a route: {stale or 'none'}"
        )
        raise ConfigError(msg)


async def enforce(request: Request) -> None:
    """Refuse the caller unless the matched route's audience admits them (401/403).

    The principal is the bearer token's user (``?access_token=`` on the streams). ``client``
    and ``ingest`` routes check their API key in the endpoint; here an ingest route without a
    key still needs a staff token.
    """
    route = request.scope.get("route")
    path = route.path if route is not None else request.url.path
    rule = rule_for(request.method, path)
    if rule.audience in {Audience.PUBLIC, Audience.CLIENT}:
        return
    if rule.audience is Audience.INGEST and _api_key(request):
        return  # the endpoint checks the key and its scope
    actor = await current_actor(request, query_token=path in STREAM_PATHS)
    if actor is None:
        msg = f"{request.method} {path} needs a signed-in user; log in at POST /auth/token"
        raise AuthenticationError(msg)
    if rule.audience is Audience.USER:
        return
    roles = rule.roles or STAFF_ROLES
    if actor.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        msg = f"{request.method} {path} is for {allowed}; user {actor.username!r} is {actor.role}"
        raise PermissionDeniedError(msg)


def admits(rule: Rule, actor: Actor | None) -> bool:
    """Tell whether a signed-in ``actor`` (or nobody) passes ``rule`` without an API key.

    What :func:`enforce` lets through; the dashboard shows a menu, a view or a form only when
    the user's own routes (``GET /auth/me``) admit it.
    """
    if rule.audience is Audience.PUBLIC:
        return True
    if actor is None or rule.audience is Audience.CLIENT:
        return False
    if rule.audience is Audience.USER:
        return True
    return actor.role in (rule.roles or STAFF_ROLES)


def admitted_routes(actor: Actor | None) -> list[str]:
    """Return the policy keys of every route ``actor`` may call, sorted."""
    return sorted(key for key, rule in POLICY.items() if admits(rule, actor))


def _api_key(request: Request) -> str:
    return request.headers.get("x-api-key") or request.query_params.get("api_key") or ""


async def current_actor(request: Request, *, query_token: bool = False) -> Actor | None:
    """Return the user of the request's bearer token (cached on the request), or ``None``.

    The token is found on the event loop, or in the process's cache of tokens found valid in
    the last few seconds (:mod:`shancheng.cases.tokens`); its expiry is checked every time.

    Raises
    ------
    AuthenticationError
        A token was given but is unknown or expired.
    """
    if "shancheng.actor" in request.scope:
        found: Actor | None = request.scope["shancheng.actor"]
        return found
    token = _bearer(request) or (
        request.query_params.get("access_token", "") if query_token else ""
    )
    actor = None
    if token:
        from shancheng.api.deps import clock_now  # noqa: PLC0415 - deps imports this module

        state = app_state(request)
        at = await clock_now(request)
        actor = await tokens.actor_for(token[:256], state.tokens, state.token_cache, at=at)
    request.scope["shancheng.actor"] = actor
    return actor


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""
