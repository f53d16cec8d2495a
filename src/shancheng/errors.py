"""Every error shancheng raises on purpose.

Each error also subclasses the builtin it refines, so callers that only know Python's
exceptions still catch it; the CLI and API catch :class:`ShanchengError` and show the message,
which always names the file, row or field at fault and the value found::

    ShanchengError
    ├── ConfigError(ValueError)              settings or a generator config with impossible values
    ├── InputError(ValueError)               bad input data: the message names file/row/field
    │   ├── MissingColumnError(KeyError)     a required column or field is absent
    │   ├── CRSMismatchError                 coordinates in the wrong reference system
    │   ├── NetworkInputError                NaN coordinates, negative lengths, bad node ids
    │   ├── OsmInputError                    an OpenStreetMap file is unreadable or truncated
    │   ├── DemError                         a DEM is unreadable or has no CRS
    │   │   └── DemCoverageError             the DEM does not cover the area to import
    │   ├── DatumMismatchError               coordinates declared WGS84 look GCJ-02/BD-09
    │   └── BoundaryError                    boundary polygons or division codes are invalid
    ├── FetchError(OSError)                  a download failed or its checksum differs
    ├── SnapDistanceError                    a point lies too far from every edge
    └── CityFormatError(ValueError)          a City directory is missing files or is inconsistent

Warnings (``warnings.warn`` categories)::

    ShanchengWarning(UserWarning)
    └── FlatTerrainWarning                   a network was imported without a DEM: all flat
"""

from __future__ import annotations


class ShanchengError(Exception):
    """Base of every error shancheng raises on purpose."""


class ConfigError(ShanchengError, ValueError):
    """A setting or a generator configuration has an impossible value."""


class InputError(ShanchengError, ValueError):
    """Input data is malformed; the message names the file, row and field."""


class MissingColumnError(InputError, KeyError):
    """A required column or field is absent from an input table."""

    def __str__(self) -> str:
        """Return the message without the quotes KeyError adds."""
        return str(self.args[0]) if self.args else ""


class CRSMismatchError(InputError):
    """Coordinates are in a different reference system than the one required."""


class NetworkInputError(InputError):
    """A walk network has NaN coordinates, negative lengths or out-of-range node ids."""


class SnapDistanceError(ShanchengError, ValueError):
    """A point lies farther than the allowed distance from every edge of the network."""


class CityFormatError(ShanchengError, ValueError):
    """A City directory is missing a layer, a column, or its layers disagree."""


class OsmInputError(InputError):
    """An OpenStreetMap file cannot be read (truncated, corrupt, wrong format)."""


class DemError(InputError):
    """A DEM cannot be read, declares no CRS, or contradicts the CRS given for it."""


class DemCoverageError(DemError):
    """The DEM does not cover (part of) the area being imported."""


class DatumMismatchError(InputError):
    """Coordinates declared in one datum are, by their offset, in another (GCJ-02, BD-09)."""


class BoundaryError(InputError):
    """Boundary polygons or division codes are missing, inconsistent or in the wrong CRS."""


class FetchError(ShanchengError, OSError):
    """A download failed, was refused, or its checksum does not match the published one."""


class ShanchengWarning(UserWarning):
    """Base of the warnings shancheng emits on purpose."""


class FlatTerrainWarning(ShanchengWarning):
    """A walk network was built without a DEM: every slope is zero, climbs are ignored."""
