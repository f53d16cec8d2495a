"""Type aliases shared by every layer: numpy arrays by element type, and the progress callback.

One home, so a kernel, a pillar and the CLI mean the same thing by ``FloatArray``. Kernels
report progress by calling a :data:`Progress` with the number of units just done; the CLI
passes :func:`shancheng.progress.progress_bar`'s advance function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
Progress: TypeAlias = Callable[[int], None]
"""Told how many units of work were just done (a kernel's counter, cityseer's habit)."""

__all__ = ["BoolArray", "FloatArray", "IntArray", "Progress"]
