"""Living circles: what every resident can reach on foot within 5, 10 and 15 minutes.

The notebook API: :func:`evaluate_city` returns GeoDataFrames (residences, units, cells, gaps,
facilities) and the long coverage table; :func:`isochrones` draws the reachable area from or
to a point; :func:`load_catalogue` reads the (editable) standard.
"""

from __future__ import annotations

from shancheng.circles.accessibility import Accessibility, compute_accessibility
from shancheng.circles.capacity import capacity_access, two_step_fca
from shancheng.circles.coverage import aggregate_coverage, residence_coverage
from shancheng.circles.evaluate import Evaluation, evaluate_city, write_evaluation
from shancheng.circles.gaps import find_gaps
from shancheng.circles.isochrones import isochrones
from shancheng.circles.report import write_report
from shancheng.circles.residences import residences_from_buildings, residences_from_cells
from shancheng.circles.standard import Catalogue, load_catalogue, parse_catalogue

__all__ = [
    "Accessibility",
    "Catalogue",
    "Evaluation",
    "aggregate_coverage",
    "capacity_access",
    "compute_accessibility",
    "evaluate_city",
    "find_gaps",
    "isochrones",
    "load_catalogue",
    "parse_catalogue",
    "residence_coverage",
    "residences_from_buildings",
    "residences_from_cells",
    "two_step_fca",
    "write_evaluation",
    "write_report",
]
