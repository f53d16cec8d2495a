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
    │   └── PipeNetworkError                 pipe file unreadable; duplicate ids, dangling links
    ├── SnapDistanceError                    a point lies too far from every edge
    ├── CityFormatError(ValueError)          a City directory is missing files or is inconsistent
    └── AlarmStateError(ValueError)          an alarm transition its lifecycle does not allow
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


class PipeNetworkError(InputError):
    """A pipe network file is unreadable or its tables are inconsistent (ids named)."""


class AlarmStateError(ShanchengError, ValueError):
    """An alarm was asked for a transition its lifecycle does not allow."""
