"""``shancheng demo``: build the embedded demo city and show what is in it."""

from __future__ import annotations

import time
from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time
from typing import TYPE_CHECKING

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from shancheng.data.city import City, summarize_city
from shancheng.data.demo import DemoConfig, write_demo_city
from shancheng.network.search import nearest_times
from shancheng.network.snap import entry_seeds, snap_points
from shancheng.progress import progress_bar, step_reporter

if TYPE_CHECKING:
    from shancheng.config import Settings

_console = Console()
_DEMO_STEPS = 13


def demo_command(
    ctx: typer.Context,
    *,
    seed: int = typer.Option(DemoConfig().seed, help="Seed: the same seed gives the same city."),
    small: bool = typer.Option(False, "--small", help="A 3 km city for quick trials."),  # noqa: FBT003
    out: Path | None = typer.Option(None, help="Folder to write; default <data_dir>/demo."),  # noqa: B008
) -> None:
    """Generate the demo mountain city, write it, and print its summary."""
    settings: Settings = ctx.obj
    base = DemoConfig.small() if small else DemoConfig()
    config = DemoConfig.from_mapping({**base.to_dict(), "seed": seed})
    target = out or settings.data_dir / "demo"
    started = time.perf_counter()
    with step_reporter("demo city", _DEMO_STEPS) as step:
        city = write_demo_city(target, config, progress=step)
    elapsed = time.perf_counter() - started
    _print_summary(city, target, elapsed)
    _print_walk_times(city)


def _print_summary(city: City, target: Path, elapsed_s: float) -> None:
    summary = summarize_city(city)
    table = Table(title=f"demo city written to {target} in {elapsed_s:.1f} s")
    table.add_column("what")
    table.add_column("how many", justify="right")
    for key, value in summary.items():
        if not key.startswith("facilities_"):
            table.add_row(key.replace("_", " "), f"{value:,}")
    _console.print(table)


def _print_walk_times(city: City) -> None:
    """Median walk from homes to the nearest facility of each category (15-minute cutoff)."""
    network = city.network
    facilities = city.facilities
    categories = sorted(facilities["category"].unique())
    snap = snap_points(network, facilities["x_utm"], facilities["y_utm"], source="facilities")
    nodes, offsets, points = entry_seeds(network, snap, direction="to_points")
    group = np.searchsorted(categories, facilities["category"].to_numpy()[points])
    with progress_bar("walking times", len(categories)) as advance:
        result = nearest_times(
            network,
            nodes,
            group=group,
            n_groups=len(categories),
            offsets_s=offsets,
            labels=points,
            cutoff_s=900.0,
            progress=advance,
        )
    homes = snap_points(
        network, city.buildings["x_utm"], city.buildings["y_utm"], source="buildings"
    )
    home_nodes, home_offsets, home_rows = entry_seeds(network, homes, direction="from_points")
    people = city.buildings["population"].to_numpy()
    table = Table(title="walk from home to the nearest facility (15-minute search)")
    for column in ("category", "median min", "residents within 15 min"):
        table.add_column(column, justify="right" if column != "category" else "left")
    for g, category in enumerate(categories):
        times = np.full(people.shape[0], np.inf)
        np.minimum.at(times, home_rows, home_offsets + result.time_s[g, home_nodes])
        within = float(people[np.isfinite(times)].sum() / people.sum())
        median = float(np.median(times))
        table.add_row(
            category, "> 15" if not np.isfinite(median) else f"{median / 60:.1f}", f"{within:.0%}"
        )
    _console.print(table)
