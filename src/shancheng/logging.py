"""Logging set-up for the entry points only (the CLI and the API); never at import."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler


def configure_logging(*, verbose: bool = False) -> None:
    """Send shancheng's log records to stderr through rich, at INFO (or DEBUG)."""
    handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=False)
    root = logging.getLogger("shancheng")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
