"""``/tiles``: the large map layers as Mapbox Vector Tiles (and their TileJSON).

``GET /tiles/{layer}/{z}/{x}/{y}.mvt`` answers gzip-compressed MVT (``Content-Encoding:
gzip``), or 204 No Content where the layer has nothing; a tile address outside the pyramid
is a 400, an unknown layer a 404. The tiles are cut from layers indexed once, on the first
request (:func:`install` makes that lazy so that the app starts at once).
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import Response

from shancheng.api.policy import STAFF_ROLES, current_actor
from shancheng.api.tilesets import tileset_from_settings, tileset_of_state
from shancheng.config import Settings
from shancheng.errors import AuthenticationError, CityFormatError, PermissionDeniedError
from shancheng.tiles import TileSet

if TYPE_CHECKING:
    from shancheng.indicators.citystate import CityHolder

router = APIRouter(prefix="/tiles", tags=["tiles"])
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
_CACHE_CONTROL = "public, max-age=3600"
_PRIVATE = "private, no-store"


def install(
    app: FastAPI,
    settings: Settings,
    *,
    city: CityHolder | None = None,
    dependencies: Sequence[Any] = (),
) -> None:
    """Serve ``/tiles`` on ``app``; the layers of ``settings``' City are indexed on first use.

    With the dashboard's City state (``city``, built once for every router), the tiles are
    cut from it; otherwise from the configured folders. Tests and benchmarks may set
    ``app.state.tiles`` to ``lambda: tileset`` afterwards.
    """
    holder = city
    if holder is not None:
        app.state.tiles = _lazy(lambda: tileset_of_state(holder.get()))
    else:
        app.state.tiles = _lazy(lambda: tileset_from_settings(settings))
    app.include_router(router, dependencies=list(dependencies))


def _lazy(build: Callable[[], TileSet]) -> Callable[[], TileSet]:
    lock = threading.Lock()
    made: list[TileSet] = []

    def get() -> TileSet:
        with lock:
            if not made:
                made.append(build())
        return made[0]

    return get


def _all(request: Request) -> TileSet:
    """Return the app's tile set; 404 naming the folder when the configured City is missing."""
    try:
        tiles: TileSet = request.app.state.tiles()
    except CityFormatError as exc:
        raise HTTPException(status_code=404, detail=f"no tile layers: {exc}") from exc
    return tiles


def _tileset(request: Request, layer: str) -> TileSet:
    tiles = _all(request)
    if layer not in tiles.layers:
        detail = f"no tile layer {layer!r}; layers are {', '.join(sorted(tiles.layers))}"
        raise HTTPException(status_code=404, detail=detail)
    return tiles


def _template(request: Request, layer: str) -> str:
    base = str(request.base_url).rstrip("/")
    return f"{base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"


@router.get("")
def list_layers(request: Request) -> dict[str, dict[str, Any]]:
    """TileJSON of every layer, by name."""
    tiles = _all(request)
    return {
        name: tiles.tilejson(name, _template(request, name))
        for name in sorted(tiles.layers)
        if name not in STAFF_LAYERS
    }


STAFF_LAYERS = frozenset({"pipes"})
"""Layers of critical infrastructure: served to signed-in staff only (and never cached publicly)."""


async def layer_access(request: Request, layer: str) -> None:
    """Refuse a staff-only layer to anyone but staff (token as header or ``?access_token=``)."""
    if layer not in STAFF_LAYERS:
        return
    actor = await current_actor(request, query_token=True)
    if actor is None:
        msg = f"tile layer {layer!r} is for signed-in staff; log in at POST /auth/token"
        raise AuthenticationError(msg)
    if actor.role not in STAFF_ROLES:
        msg = f"tile layer {layer!r} is for staff; user {actor.username!r} is {actor.role}"
        raise PermissionDeniedError(msg)


LayerAccess = Depends(layer_access)


@router.get("/{layer}.json", dependencies=[LayerAccess])
def tilejson(request: Request, layer: str) -> dict[str, Any]:
    """TileJSON 3.0 of one layer (a MapLibre ``vector`` source can take its URL)."""
    return _tileset(request, layer).tilejson(layer, _template(request, layer))


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    dependencies=[LayerAccess],
    response_class=Response,
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 204: {"description": "empty tile"}},
)
def tile(request: Request, layer: str, z: int, x: int, y: int) -> Response:
    """One tile of ``layer`` (gzip-compressed MVT, or 204 when it holds no feature)."""
    body = _tileset(request, layer).tile(layer, z, x, y)
    cache = _PRIVATE if layer in STAFF_LAYERS else _CACHE_CONTROL
    if not body:
        return Response(status_code=204, headers={"Cache-Control": cache})
    headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
    else:
        body = gzip.decompress(body)
    return Response(body, media_type=MVT_MEDIA_TYPE, headers=headers)
