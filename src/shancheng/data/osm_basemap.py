"""OpenStreetMap tags → the base map: road classes, water and green areas, names.

Road classes (:data:`~shancheng.data.city.ROAD_CLASSES`) from ``highway=*``: motorways,
trunk and primary roads (and their links) are ``primary``; ``secondary``; ``tertiary`` and
``unclassified`` are ``tertiary``; ``residential``, ``living_street`` and ``road`` are
``residential``; ``service`` and ``track`` ``service``; ``footway``, ``pedestrian``,
``cycleway``, ``corridor`` ``footway``; ``path``; ``steps`` (``steps`` with ``conveying``,
an escalator, and ``elevator`` are ``lift``).

Areas: ``natural=water``, ``waterway=riverbank`` and ``water=*`` are water, of kind ``river``
(riverbanks, ``water=river|canal|stream|oxbow``), ``lake`` (``lake|pond|reservoir|basin|
lagoon``) or ``water``; ``leisure=park`` and ``landuse=recreation_ground`` are green of kind
``park``, ``landuse=forest`` and ``natural=wood`` ``forest``, ``landuse=grass`` ``grass``.
Names: ``name`` (or ``name:zh``) and ``name:en``; no English name leaves ``name_en`` empty
(the client falls back to ``name``), never a transliteration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

AREA_KEYS = ("natural", "waterway", "water", "landuse", "leisure")
"""Tag keys that can make a base-map area."""

_ROAD_CLASS = {
    **dict.fromkeys(("motorway", "motorway_link", "trunk", "trunk_link", "primary",
                     "primary_link"), "primary"),
    **dict.fromkeys(("secondary", "secondary_link"), "secondary"),
    **dict.fromkeys(("tertiary", "tertiary_link", "unclassified"), "tertiary"),
    **dict.fromkeys(("residential", "living_street", "road"), "residential"),
    **dict.fromkeys(("service", "track"), "service"),
    **dict.fromkeys(("footway", "pedestrian", "cycleway", "corridor"), "footway"),
    "path": "path", "steps": "steps", "elevator": "lift",
}  # fmt: skip
_RIVER = frozenset({"river", "canal", "stream", "oxbow", "riverbank"})
_LAKE = frozenset({"lake", "pond", "reservoir", "basin", "lagoon"})


def road_class(tags: Mapping[str, str]) -> str:
    """Return the base map class of a way's ``highway`` tag (``residential`` if unknown).

    Examples
    --------
    >>> road_class({"highway": "trunk"}), road_class({"highway": "unclassified"})
    ('primary', 'tertiary')
    >>> road_class({"highway": "steps", "conveying": "forward"})
    'lift'
    """
    highway = tags.get("highway", "")
    if highway == "steps" and tags.get("conveying") not in (None, "no"):
        return "lift"
    return _ROAD_CLASS.get(highway, "residential")


def area_kind(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """Return ``(layer, kind)`` of a base-map area (``water`` or ``green``), else ``None``.

    Examples
    --------
    >>> area_kind({"natural": "water", "water": "river"}), area_kind({"leisure": "park"})
    (('water', 'river'), ('green', 'park'))
    >>> area_kind({"landuse": "residential"}) is None
    True
    """
    water = tags.get("water", "")
    if tags.get("waterway") == "riverbank" or (tags.get("natural") == "water" or water):
        kind = "river" if water in _RIVER or tags.get("waterway") == "riverbank" else (
            "lake" if water in _LAKE else "water"
        )  # fmt: skip
        return "water", kind
    landuse = tags.get("landuse")
    if tags.get("leisure") == "park" or landuse == "recreation_ground":
        return "green", "park"
    if landuse == "forest" or tags.get("natural") == "wood":
        return "green", "forest"
    if landuse == "grass":
        return "green", "grass"
    return None


def names(tags: Mapping[str, str]) -> tuple[str, str]:
    """Local and English name (``""`` where untagged)."""
    return tags.get("name") or tags.get("name:zh") or "", tags.get("name:en", "")
