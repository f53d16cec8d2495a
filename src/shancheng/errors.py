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
    │   ├── CatalogueError                   a living-circle catalogue entry is invalid
    │   ├── TaxonomyError                    a case category entry is invalid (names the field)
    │   ├── PipeNetworkError                 pipe file unreadable; duplicate ids, dangling links
    │   ├── GtfsError                        a GTFS feed misses files or fields, or is inconsistent
    │   ├── OsmInputError                    an OpenStreetMap file is unreadable or truncated
    │   ├── DemError                         a DEM is unreadable or has no CRS
    │   │   └── DemCoverageError             the DEM does not cover the area to import
    │   ├── DatumMismatchError               coordinates declared WGS84 look GCJ-02/BD-09
    │   ├── BoundaryError                    boundary polygons or division codes are invalid
    │   ├── TileRequestError                 a map tile address outside the pyramid
    │   ├── CreditCodeError                  a unified social credit code that fails its checks
    │   ├── RegistryImportError              rows of an entity registry file refused (each named)
    │   └── InfeasiblePlanError              a siting request no plan can meet (names who and why)
    ├── FetchError(OSError)                  a download failed or its checksum differs
    ├── SnapDistanceError                    a point lies too far from every edge
    ├── CityFormatError(ValueError)          a City directory is missing files or is inconsistent
    ├── AlarmStateError(ValueError)          an alarm transition its lifecycle does not allow
    ├── QueryError(ValueError)               a dashboard request names a bad value (names the field)
    ├── NotFoundError(LookupError)           no pipe, sensor, alarm or target with that id
    └── CaseError                            the governance center refused a request
        ├── TransitionNotAllowedError(ValueError)  an action the case's status does not allow
        ├── CaseNotFoundError(LookupError)   no case (or category, user...) with that id
        ├── UnknownCategoryError(LookupError)      a category code the taxonomy does not know
        ├── OutsideCityError(ValueError)     a point outside every unit-grid cell of the city
        ├── CaseInputError(ValueError)       a malformed field in a report (names the field)
        ├── AuthenticationError(PermissionError)   no, wrong or expired credentials
        ├── PermissionDeniedError(PermissionError) the role or unit may not do this
        ├── ConflictError(RuntimeError)      the case changed meanwhile; retry
        └── RateLimitedError(RuntimeError)   a client sent too many reports too fast

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


class QueryError(ShanchengError, ValueError):
    """A request's parameter has a value the data cannot answer (a point outside the city)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        """Keep the offending ``field`` as data for the API's 4xx body."""
        super().__init__(message)
        self.field = field


class NotFoundError(ShanchengError, LookupError):
    """No pipe, sensor, alarm or plan target with the given id."""

    def __init__(self, message: str, *, field: str = "") -> None:
        """Keep the offending ``field`` as data for the API's 4xx body."""
        super().__init__(message)
        self.field = field

    def __str__(self) -> str:
        """Return the message without the quotes LookupError's KeyError cousin adds."""
        return str(self.args[0]) if self.args else ""


class CityFormatError(ShanchengError, ValueError):
    """A City directory is missing a layer, a column, or its layers disagree."""


class CatalogueError(InputError):
    """A living-circle catalogue (categories, levels, thresholds) has an invalid entry."""


class TaxonomyError(InputError):
    """A category of the cases taxonomy (file entry or admin edit) has an invalid field."""

    def __init__(self, message: str, *, field: str = "") -> None:
        """Keep the offending ``field`` as data for the API's 4xx body."""
        super().__init__(message)
        self.field = field


class CaseError(ShanchengError):
    """The governance center refused a request; the message says which field and why."""


class TransitionNotAllowedError(CaseError, ValueError):
    """The action is not allowed from the case's current status (or clock state)."""

    def __init__(self, message: str, *, status: str = "", action: str = "") -> None:
        """Keep the refused ``status`` and ``action`` as data for callers."""
        super().__init__(message)
        self.status = status
        self.action = action


class CaseNotFoundError(CaseError, LookupError):
    """No case, user or record with the given id."""


class UnknownCategoryError(CaseError, LookupError):
    """A category (service) code the taxonomy does not know."""


class OutsideCityError(CaseError, ValueError):
    """A point lies outside every unit-grid cell of the city."""


class CaseInputError(CaseError, ValueError):
    """A report has a malformed field; the message names the field and the bad value."""

    def __init__(self, message: str, *, field: str = "") -> None:
        """Keep the offending ``field`` as data for the API's 4xx body."""
        super().__init__(message)
        self.field = field


class AuthenticationError(CaseError, PermissionError):
    """Credentials are missing, wrong or expired."""


class PermissionDeniedError(CaseError, PermissionError):
    """The user's role or unit does not allow this action on this case."""


class ConflictError(CaseError, RuntimeError):
    """The case changed between read and write (optimistic lock); retry with fresh data."""


class RateLimitedError(CaseError, RuntimeError):
    """A client exceeded its report rate; the message says when to retry."""

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        """Keep ``retry_after_s`` for the HTTP ``Retry-After`` header."""
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PipeNetworkError(InputError):
    """A pipe network file is unreadable or its tables are inconsistent (ids named)."""


class GtfsError(InputError):
    """A GTFS feed is missing files or fields, or its tables contradict each other.

    Attributes
    ----------
    problems
        Every problem found, each naming its file, line and field (the message lists them).
    """

    def __init__(self, message: str, *, problems: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class AlarmStateError(ShanchengError, ValueError):
    """An alarm was asked for a transition its lifecycle does not allow."""


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


class TileRequestError(InputError):
    """A map tile was asked for outside the XYZ pyramid (zoom, x or y out of range)."""


class CreditCodeError(InputError):
    """A unified social credit code (GB 32100) has a bad length, character or check."""

    def __init__(self, message: str, *, field: str = "") -> None:
        """Keep the offending ``field`` as data for the API's 4xx body."""
        super().__init__(message)
        self.field = field


class RegistryImportError(InputError):
    """An entity registry file has bad rows; nothing of the file was stored.

    Attributes
    ----------
    problems
        One line per bad row and field (``file, row N, field: why``); the message lists them.
    """

    def __init__(self, message: str, *, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class InfeasiblePlanError(InputError):
    """A planning request cannot be met: a target beyond reach, k above the candidates, none.

    Attributes
    ----------
    reason
        ``"unreachable"`` (some residents are beyond every candidate), ``"k_out_of_range"``,
        ``"no_candidates"`` or ``"bad_input"``.
    uncoverable
        The residents (ids, or demand-point indices at the solver level) that no candidate
        can cover; empty for the other reasons.
    why
        One explanation per entry of ``uncoverable`` (e.g. "not on the walk network",
        "nearest candidate 14.2 min away > 10 min").
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        uncoverable: object = (),
        why: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.uncoverable = uncoverable
        self.why = why


class FetchError(ShanchengError, OSError):
    """A download failed, was refused, or its checksum does not match the published one."""


class ShanchengWarning(UserWarning):
    """Base of the warnings shancheng emits on purpose."""


class FlatTerrainWarning(ShanchengWarning):
    """A walk network was built without a DEM: every slope is zero, climbs are ignored."""
