"""The demo city's traders: stalls and shops at its markets and along its riverside streets.

Night markets gather around the demo city's ``market`` and ``supermarket`` facilities; the
tourist streets are its four named riverside roads (嘉滨路, 长滨路, 北滨路, 南滨路, see
:mod:`shancheng.data.demo.basemap`), one site at the middle of each. Around every site a few
traders are scattered within some 40 m: mostly individual traders (个体工商户, code ``92...``,
their operator a natural person with a resident ID number) and some enterprises (``91...``).
Codes get both check characters from :func:`~shancheng.credit.codes.complete_code`, the
operators' ID numbers theirs from GB 11643; everything comes from one seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import shapely

from shancheng.cases.privacy import id_number_valid
from shancheng.credit.codes import EntityKind, complete_code
from shancheng.credit.registry import EntityIn, LicenceIn
from shancheng.errors import CaseError
from shancheng.geo.crs import lonlat_to_utm, utm_to_lonlat

if TYPE_CHECKING:
    from shancheng.cases.routing import AdminIndex
    from shancheng.data.city import City

SITE_CATEGORIES = ("market", "supermarket")
"""Facility categories around which a night market gathers."""
TOURIST_STREETS = ("南滨路", "北滨路", "嘉滨路", "长滨路")
"""The demo city's riverside roads, its tourist streets (the basemap's names)."""
MAX_SITES = 12
"""At most this many sites (markets first, by facility id; then the streets)."""
SPREAD_M = 40.0
"""Standard deviation of a trader's distance from its site's centre, per axis."""
INDIVIDUAL_SHARE = 0.7
"""Share of individual traders among the generated entities."""

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林"
_GIVEN = ("建国", "秀英", "志强", "桂芳", "小红", "德华", "明", "丽", "军", "海燕", "大明", "春梅")
_TRADES = ("烧烤", "小面", "火锅", "冷饮", "串串", "酸辣粉", "卤味", "水果", "豆花", "烤鱼")
_FIRM_WORDS = ("山城", "江畔", "渝味", "巴蜀", "朝天", "南岸")


@dataclass(frozen=True, slots=True)
class Site:
    """A place where traders gather: a night market or a stretch of a tourist street."""

    name: str
    kind: str  # "night_market" or "tourist_street"
    x_utm: float
    y_utm: float


def trader_sites(city: City) -> list[Site]:
    """Return the night markets (market facilities) and tourist streets of a city.

    Returns
    -------
    list of Site
        Markets and supermarkets by facility id, then the middle of each named riverside
        road found in ``walk_segments``; at most :data:`MAX_SITES`.
    """
    facilities = city.facilities
    markets = facilities[facilities["category"].isin(SITE_CATEGORIES)].sort_values("facility_id")
    sites = [
        Site(f"{row.name}夜市", "night_market", float(row.x_utm), float(row.y_utm))
        for row in markets.itertuples()
    ]
    segments = city.walk_segments
    epsg = city.network.crs_epsg
    for street in TOURIST_STREETS:
        on_street = segments[segments["name"] == street].sort_values("segment_id")
        if on_street.empty:
            continue
        middle = on_street.geometry.iloc[len(on_street) // 2]
        point = shapely.line_interpolate_point(middle, 0.5, normalized=True)
        x, y = lonlat_to_utm([point.x], [point.y], epsg=epsg)
        sites.append(Site(street, "tourist_street", float(x[0]), float(y[0])))
    return sites[:MAX_SITES]


@dataclass(frozen=True, slots=True)
class DemoTrader:
    """A generated trader and the site it works at."""

    entity: EntityIn
    site: Site


def demo_traders(
    city: City, admin: AdminIndex, *, seed: int = 0, per_site: int = 6, licensed_by: date
) -> list[DemoTrader]:
    """Generate ``per_site`` traders at each site of the city, each placed inside the city.

    Parameters
    ----------
    city, admin
        The demo city and its hierarchy (a trader's code carries its district's code).
    seed
        The same seed gives the same traders.
    per_site
        Traders per site.
    licensed_by
        Every trader holds a food business licence (食品经营许可证) decided before this day.

    Returns
    -------
    list of DemoTrader
        The traders in site order, their codes unique and valid.
    """
    rng = np.random.default_rng(seed)
    traders: list[DemoTrader] = []
    for site in trader_sites(city):
        for _ in range(per_site):
            serial = len(traders) + 1
            lon, lat, district = _place(site, admin, rng)
            individual = bool(rng.random() < INDIVIDUAL_SHARE)
            trade = str(rng.choice(_TRADES))
            person = str(rng.choice(list(_SURNAMES))) + str(rng.choice(_GIVEN))
            if individual:
                code = complete_code(f"92{district}L{serial:07d}")
                name = f"{site.name}{person[0]}记{trade}"
                person_id = resident_id(district, _birthday(rng), serial % 1000)
            else:
                code = complete_code(f"91{district}MA{serial:06d}")
                name = f"重庆{rng.choice(_FIRM_WORDS)}{trade}餐饮管理有限公司{site.name}店"
                person_id = ""
            decided = licensed_by - timedelta(days=int(rng.integers(30, 4 * 365)))
            licence = LicenceIn(
                f"JY{district}{serial:08d}", "食品经营许可证", "市场监督管理局",
                decided, decided, decided + timedelta(days=5 * 365),
            )  # fmt: skip
            entity = EntityIn(
                code, name, EntityKind.INDIVIDUAL if individual else EntityKind.ENTERPRISE,
                f"{site.name} {serial} 号", lon, lat, person, person_id, (licence,),
                f"demo trader {serial}",
            )  # fmt: skip
            traders.append(DemoTrader(entity, site))
    return traders


def _place(site: Site, admin: AdminIndex, rng: np.random.Generator) -> tuple[float, float, str]:
    """Return a point near the site inside the city, and its district code."""
    for attempt in range(21):
        dx, dy = rng.normal(0.0, SPREAD_M, 2) if attempt < 20 else (0.0, 0.0)  # noqa: PLR2004
        lon, lat = utm_to_lonlat([site.x_utm + dx], [site.y_utm + dy], epsg=admin.crs_epsg)
        try:
            location = admin.locate(float(lon[0]), float(lat[0]))
        except CaseError:
            continue
        return location.lon, location.lat, location.district_code
    msg = f"site {site.name} lies outside the city's unit grid"
    raise CaseError(msg)


def _birthday(rng: np.random.Generator) -> date:
    return date(1960, 1, 1) + timedelta(days=int(rng.integers(0, 40 * 365)))


def resident_id(division: str, born: date, sequence: int) -> str:
    """Return a resident ID number (GB 11643) with its check character.

    Examples
    --------
    >>> resident_id("110105", date(1949, 12, 31), 2)
    '11010519491231002X'
    """
    body = f"{division}{born:%Y%m%d}{sequence:03d}"
    return next(body + c for c in "0123456789X" if id_number_valid(body + c))
