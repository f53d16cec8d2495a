"""The unit grid (万米单元网格): square cells that give every point one responsible unit.

Cells are numbered row by row from the south-west corner of the grid: ``cell_id = row *
n_cols + col``, rows growing northward and columns eastward, in projected metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import shapely

from shancheng.errors import ConfigError

if TYPE_CHECKING:
    from shancheng.types import FloatArray, IntArray


@dataclass(frozen=True, slots=True)
class UnitGrid:
    """A rectangle of square cells on a projected origin.

    Parameters
    ----------
    origin_x_utm, origin_y_utm
        South-west corner of cell 0, in metres.
    cell_size_m
        Side of each cell in metres (100 gives the customary 10,000 m² cell).
    n_cols, n_rows
        Number of columns (eastward) and rows (northward).

    Examples
    --------
    >>> grid = UnitGrid(0.0, 0.0, 100.0, n_cols=3, n_rows=2)
    >>> grid.cell_of([250.0, 50.0, 999.0], [150.0, 50.0, 0.0]).tolist()
    [5, 0, -1]
    >>> grid.row_col([5])
    (array([1]), array([2]))
    """

    origin_x_utm: float
    origin_y_utm: float
    cell_size_m: float
    n_cols: int
    n_rows: int

    def __post_init__(self) -> None:
        """Refuse empty grids and non-positive or non-finite cell sizes."""
        if not (math.isfinite(self.cell_size_m) and self.cell_size_m > 0):
            msg = f"UnitGrid.cell_size_m must be a finite number > 0, got {self.cell_size_m!r}"
            raise ConfigError(msg)
        for name in ("n_cols", "n_rows"):
            value = getattr(self, name)
            if value < 1:
                msg = f"UnitGrid.{name} must be >= 1, got {value!r}"
                raise ConfigError(msg)
        for name in ("origin_x_utm", "origin_y_utm"):
            if not math.isfinite(getattr(self, name)):
                msg = f"UnitGrid.{name} must be finite, got {getattr(self, name)!r}"
                raise ConfigError(msg)

    @classmethod
    def covering(
        cls,
        min_x_utm: float,
        min_y_utm: float,
        max_x_utm: float,
        max_y_utm: float,
        *,
        cell_size_m: float,
    ) -> UnitGrid:
        """Return the smallest grid with origin at ``(min_x, min_y)`` covering a rectangle."""
        n_cols = max(1, math.ceil((max_x_utm - min_x_utm) / cell_size_m))
        n_rows = max(1, math.ceil((max_y_utm - min_y_utm) / cell_size_m))
        return cls(min_x_utm, min_y_utm, cell_size_m, n_cols=n_cols, n_rows=n_rows)

    @property
    def n_cells(self) -> int:
        """Number of cells in the grid."""
        return self.n_cols * self.n_rows

    def cell_id(self, row: npt.ArrayLike, col: npt.ArrayLike) -> IntArray:
        """Return the id of each ``(row, col)``; -1 where outside the grid."""
        rows = np.asarray(row, dtype=np.int64)
        cols = np.asarray(col, dtype=np.int64)
        inside = (rows >= 0) & (rows < self.n_rows) & (cols >= 0) & (cols < self.n_cols)
        return np.where(inside, rows * self.n_cols + cols, -1)

    def row_col(self, cell_id: npt.ArrayLike) -> tuple[IntArray, IntArray]:
        """Return ``(row, col)`` of each cell id.

        Raises
        ------
        ConfigError
            If an id is outside ``[0, n_cells)``.
        """
        ids = np.asarray(cell_id, dtype=np.int64)
        bad = (ids < 0) | (ids >= self.n_cells)
        if bad.any():
            first = ids[bad].flat[0]
            msg = f"cell_id must be in [0, {self.n_cells}), got {int(first)}"
            raise ConfigError(msg)
        rows, cols = np.divmod(ids, self.n_cols)
        return rows, cols

    def cell_of(self, x_utm: npt.ArrayLike, y_utm: npt.ArrayLike) -> IntArray:
        """Return the id of the cell holding each point, -1 outside the grid.

        A point on a shared edge belongs to the cell to its north or east, so every point of
        the grid's rectangle (except its north and east borders) is in exactly one cell.
        """
        x = np.asarray(x_utm, dtype=np.float64)
        y = np.asarray(y_utm, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.origin_x_utm) / self.cell_size_m)
            row = np.floor((y - self.origin_y_utm) / self.cell_size_m)
        finite = np.isfinite(col) & np.isfinite(row)
        col = np.where(finite, col, -1).astype(np.int64)
        row = np.where(finite, row, -1).astype(np.int64)
        return self.cell_id(row, col)

    def cell_center(self, cell_id: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Return the ``(x_utm, y_utm)`` centre of each cell."""
        rows, cols = self.row_col(cell_id)
        x = self.origin_x_utm + (cols + 0.5) * self.cell_size_m
        y = self.origin_y_utm + (rows + 0.5) * self.cell_size_m
        return x.astype(np.float64), y.astype(np.float64)

    def cell_polygons(self, cell_id: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """Return the square of each cell as shapely polygons in projected metres."""
        rows, cols = self.row_col(cell_id)
        x0 = self.origin_x_utm + cols * self.cell_size_m
        y0 = self.origin_y_utm + rows * self.cell_size_m
        boxes: npt.NDArray[np.object_] = shapely.box(
            x0, y0, x0 + self.cell_size_m, y0 + self.cell_size_m
        )
        return boxes
