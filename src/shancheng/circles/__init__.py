"""Living circles: what every resident can reach on foot within 5, 10 and 15 minutes."""

from __future__ import annotations

from shancheng.circles.standard import Catalogue, load_catalogue, parse_catalogue

__all__ = ["Catalogue", "load_catalogue", "parse_catalogue"]
