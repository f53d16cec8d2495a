"""``/tiles``: the large map layers as Mapbox Vector Tiles, the relief as PNG (and TileJSON).

``GET /tiles/{layer}/{z}/{x}/{y}.mvt`` answers gzip-compressed MVT (``Content-Encoding:
gzip``), or 204 No Content where the layer has nothing (``base``: the base map's vector layers
in one tile); ``GET /tiles/{layer}/{z}/{x}/{y}.png``
answers a raster layer's 256 px PNG (``hillshade``), a fully transparent one where it shows
nothing. A tile address outside the pyramid is a 400, an unknown layer (or a vector layer
asked as PNG, a raster as MVT) a 404. The tiles are cut from layers indexed once, on the first
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
from shancheng.tiles.raster import empty_png

if TYPE_CHECKING:
    from shancheng.indicators.citystate import CityHolder

router = APIRouter(prefix="/tiles", tags=["tiles"])
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
PNG_MEDIA_TYPE = "image/png"
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


def _tileset(request: Request, layer: str, *, raster: bool | None = False) -> TileSet:
    """Return the tile set holding ``layer`` (a raster one, a vector one, or either: None)."""
    tiles = _all(request)
    vector_ok = raster is not True and (layer in tiles.layers or layer in tiles.composites)
    raster_ok = raster is not False and layer in tiles.rasters
    if not (vector_ok or raster_ok):
        names = sorted(tiles.rasters if raster else [*tiles.layers, *tiles.composites])
        what = "raster (.png)" if raster else "vector (.mvt)" if raster is False else "tile"
        detail = f"no {what} layer {layer!r}; layers are {', '.join(names)}"
        raise HTTPException(status_code=404, detail=detail)
    return tiles


def _template(request: Request, layer: str, tiles: TileSet) -> str:
    base = str(request.base_url).rstrip("/")
    extension = "png" if layer in tiles.rasters else "mvt"
    return f"{base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.{extension}"


@router.get("")
def list_layers(request: Request) -> dict[str, dict[str, Any]]:
    """TileJSON of every layer, by name."""
    tiles = _all(request)
    return {
        name: tiles.tilejson(name, _template(request, name, tiles))
        for name in sorted([*tiles.layers, *tiles.composites, *tiles.rasters])
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
    """TileJSON 3.0 of one layer (a MapLibre ``vector`` or ``raster`` source can take its URL)."""
    tiles = _tileset(request, layer, raster=None)
    return tiles.tilejson(layer, _template(request, layer, tiles))


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


@router.get(
    "/{layer}/{z}/{x}/{y}.png",
    response_class=Response,
    responses={200: {"content": {PNG_MEDIA_TYPE: {}}}},
)
def raster_tile(request: Request, layer: str, z: int, x: int, y: int) -> Response:
    """One tile of a raster ``layer``: 256 px grey-and-alpha PNG (transparent where empty)."""
    body = _tileset(request, layer, raster=True).png(layer, z, x, y)
    return Response(
        body or empty_png(), media_type=PNG_MEDIA_TYPE, headers={"Cache-Control": _CACHE_CONTROL}
    )
