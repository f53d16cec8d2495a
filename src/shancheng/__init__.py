"""shancheng: govern a mountain megacity from one model of its streets, people and pipes.

The package is cut into a core (``geo``, ``network``, ``data``) and pillars built on it; the
command line (``shancheng``) only presents what the library computes.
"""

from __future__ import annotations

from shancheng.errors import (
    CatalogueError,
    CityFormatError,
    ConfigError,
    CRSMismatchError,
    InputError,
    MissingColumnError,
    NetworkInputError,
    ShanchengError,
    SnapDistanceError,
)

__version__ = "0.1.0"

__all__ = [
    "CRSMismatchError",
    "CatalogueError",
    "CityFormatError",
    "ConfigError",
    "InputError",
    "MissingColumnError",
    "NetworkInputError",
    "ShanchengError",
    "SnapDistanceError",
    "__version__",
]
