"""Data in and out: the City format shared by every loader, and the embedded demo city."""

from __future__ import annotations

from shancheng.data.city import City, read_city, summarize_city, write_city

__all__ = ["City", "read_city", "summarize_city", "write_city"]
