"""What OpenStreetMap says about cars and crossings: one-ways, speeds, signals, turn bans.

The drive network (:mod:`shancheng.mobility.drive`) reads these from the City: ``car_oneway``
and ``maxspeed_kmh`` on the walk segments, ``traffic_signals`` and ``crossing`` on the walk
nodes, and the optional ``turn_restrictions`` layer. The rules follow the OSM wiki:

* ``oneway=yes|true|1`` → cars only along the way, ``oneway=-1|reverse`` → only against it,
  ``junction=roundabout`` (and ``circular``) implies ``oneway=yes`` unless ``oneway=no``;
  ``oneway:motor_vehicle`` / ``oneway:motorcar`` win over ``oneway`` for cars.
* ``maxspeed`` in km/h, or ``… mph`` converted; ``none``, ``walk``, zone codes such as
  ``CN:urban`` are not numbers: the class default stands (an assumption the drive network
  states).
* A node ``highway=traffic_signals`` is a signal-controlled junction. A crossing node
  (``highway=crossing`` or any ``crossing=*``) is ``signals`` for ``crossing=traffic_signals``,
  ``marked`` for ``crossing=marked|zebra|uncontrolled`` (uncontrolled means marked without
  signals) or ``crossing_ref=zebra``, ``unmarked`` for ``crossing=unmarked``, ``marked`` when
  only ``highway=crossing`` is given (the wiki's default reading).
* A relation ``type=restriction`` with ``restriction`` (or ``restriction:motorcar``) = ``no_*``
  / ``only_*``, one ``from`` way, a ``via`` node and one ``to`` way. Restrictions through a
  ``via`` way, or with ``except=motorcar``, are skipped (counted).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

Tags = Mapping[str, str]
_MPH_KMH = 1.609344
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")


def car_oneway(tags: Tags) -> int:
    """Cars' direction along the way: 1 with it, -1 against it, 0 both ways.

    Examples
    --------
    >>> car_oneway({"oneway": "yes"}), car_oneway({"oneway": "-1"}), car_oneway({})
    (1, -1, 0)
    >>> car_oneway({"junction": "roundabout"})
    1
    >>> car_oneway({"junction": "roundabout", "oneway": "no"})
    0
    >>> car_oneway({"oneway": "yes", "oneway:motor_vehicle": "no"})
    0
    """
    value = tags.get("oneway:motor_vehicle") or tags.get("oneway:motorcar") or tags.get("oneway")
    if value in {"yes", "true", "1"}:
        return 1
    if value in {"-1", "reverse"}:
        return -1
    if value is None and tags.get("junction") in {"roundabout", "circular"}:
        return 1
    return 0


def maxspeed_kmh(tags: Tags) -> float:
    """Return the tagged speed limit in km/h; NaN when none is tagged or it is no number.

    Examples
    --------
    >>> maxspeed_kmh({"maxspeed": "40"}), maxspeed_kmh({"maxspeed": "30 mph"})
    (40.0, 48.28)
    >>> maxspeed_kmh({"maxspeed": "CN:urban"})
    nan
    """
    match = _SPEED.match(tags.get("maxspeed", ""))
    if match is None:
        return math.nan
    value = float(match[1]) * (_MPH_KMH if match[2] == "mph" else 1.0)
    return round(value, 2) if 0 < value <= 200 else math.nan  # noqa: PLR2004 - a plausible limit


def crossing_control(tags: Tags) -> str:
    """Return a node's crossing: ``signals``, ``marked``, ``unmarked`` or ``''`` (none).

    Examples
    --------
    >>> crossing_control({"highway": "crossing", "crossing": "traffic_signals"})
    'signals'
    >>> crossing_control({"crossing": "uncontrolled"}), crossing_control({"highway": "crossing"})
    ('marked', 'marked')
    >>> crossing_control({"crossing": "unmarked"}), crossing_control({"highway": "bus_stop"})
    ('unmarked', '')
    """
    crossing = tags.get("crossing")
    if crossing == "traffic_signals":
        return "signals"
    if crossing in {"marked", "zebra", "uncontrolled"} or tags.get("crossing_ref") == "zebra":
        return "marked"
    if crossing in {"unmarked", "no"}:
        return "unmarked" if crossing == "unmarked" else ""
    if crossing is not None or tags.get("highway") == "crossing":
        return "marked"
    return ""


def restriction(tags: Tags, members: list[tuple[str, int, str]]) -> dict[str, Any] | str:
    """Read a turn restriction (``from_way, via_node, to_way, restriction``) or why not.

    ``members`` are ``(type, ref, role)`` with type ``n``, ``w`` or ``r``.

    Examples
    --------
    >>> restriction({"type": "restriction", "restriction": "no_left_turn"},
    ...             [("w", 1, "from"), ("n", 9, "via"), ("w", 2, "to")])
    {'from_way': 1, 'via_node': 9, 'to_way': 2, 'restriction': 'no_left_turn'}
    >>> restriction({"type": "restriction", "restriction": "no_u_turn"},
    ...             [("w", 1, "from"), ("w", 5, "via"), ("w", 2, "to")])
    'a via way (only via nodes are read)'
    """
    kind = tags.get("restriction:motorcar") or tags.get("restriction", "")
    if not kind.startswith(("no_", "only_")):
        return f"restriction {kind!r} is not no_* or only_*"
    if "motorcar" in tags.get("except", "").split(";"):
        return "it does not apply to cars (except=motorcar)"
    roles: dict[str, list[tuple[str, int]]] = {}
    for member_type, ref, role in members:
        roles.setdefault(role, []).append((member_type, ref))
    if any(t != "n" for t, _ in roles.get("via", [])):
        return "a via way (only via nodes are read)"
    ends = [roles.get(role, []) for role in ("from", "via", "to")]
    if any(len(found) != 1 for found in ends):
        return "it needs exactly one from way, one via node and one to way"
    (from_type, from_way), (_, via), (to_type, to_way) = (found[0] for found in ends)
    if from_type != "w" or to_type != "w":
        return "from and to must be ways"
    return {"from_way": from_way, "via_node": via, "to_way": to_way, "restriction": kind}
