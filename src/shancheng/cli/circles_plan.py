"""``shancheng circles plan``: where to build the next facilities of a requirement."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from shancheng.circles.candidates import DEFAULT_MAX_SLOPE, read_candidates
from shancheng.circles.capacity_fit import fit_plan
from shancheng.circles.capacity_plan import plan_capacity
from shancheng.circles.plan_city import plan_city
from shancheng.circles.plan_report import write_plan
from shancheng.circles.standard import load_catalogue
from shancheng.cli.ideas import idea_candidates
from shancheng.data.city import read_city
from shancheng.progress import step_reporter

if TYPE_CHECKING:
    from shancheng.config import Settings

_console = Console()
_STEPS = 5


class MethodChoice(StrEnum):
    """Solver: HiGHS with a greedy fallback, HiGHS only, or the greedy."""

    AUTO = "auto"
    EXACT = "exact"
    GREEDY = "greedy"


def plan_command(
    ctx: typer.Context,
    *,
    city: Path | None = typer.Option(None, help="City folder; default <data_dir>/<city>."),  # noqa: B008
    catalogue: Path | None = typer.Option(None, help="Catalogue TOML; default the packaged one."),  # noqa: B008
    requirement: str | None = typer.Option(
        None, help="Requirement, e.g. kindergarten_5min; default the worst covered one."
    ),
    k: int | None = typer.Option(None, "--k", help="Number of new sites (maximal covering)."),
    target: float | None = typer.Option(
        None, help="Share of residents to cover, 0-1 (set covering); default 0.95."
    ),
    candidates: Path | None = typer.Option(  # noqa: B008
        None, help="Candidate sites (GeoJSON, GeoPackage or CSV); default one per grid cell."
    ),
    max_slope: float = typer.Option(DEFAULT_MAX_SLOPE, help="Steepest ground for generated sites."),
    method: MethodChoice = typer.Option(MethodChoice.AUTO, help="Solver."),  # noqa: B008
    time_limit: float = typer.Option(30.0, help="HiGHS time limit, seconds."),
    out: Path | None = typer.Option(None, help="Output folder; default <data_dir>/plans/<city>."),  # noqa: B008
    ideas: bool = typer.Option(
        True,  # noqa: FBT003 - typer's flag default
        help="Add the sites of residents' accepted ideas (shancheng ideas) to the candidates.",
    ),
    ideas_db: str | None = typer.Option(
        None, help="Database holding the ideas; default the configured database."
    ),
    fit_min_weight: float = typer.Option(
        0.0,
        min=0.0,
        max=1.0,
        help="Capacity fit: residents reached only with a decay weight below this need a site.",
    ),
) -> None:
    """Propose new facility sites; write sites, a before/after table per unit and a map."""
    settings: Settings = ctx.obj
    city_dir = city or settings.city_dir
    started = time.perf_counter()
    chosen = load_catalogue(catalogue)
    loaded = read_city(city_dir)
    sites = read_candidates(candidates, epsg=loaded.network.crs_epsg) if candidates else None
    extra = (
        idea_candidates(ideas_db or settings.resolved_database_url, epsg=loaded.network.crs_epsg)
        if ideas
        else None
    )
    with step_reporter("planning", _STEPS) as step:
        plan = plan_city(
            loaded, chosen, requirement=requirement, k=k, target_share=target, candidates=sites,
            extra_candidates=extra, max_slope=max_slope, method=method.value,
            time_limit_s=time_limit, progress=step,
        )  # fmt: skip
        step("writing")
        target_dir = out or settings.data_dir / "plans" / city_dir.name
        city_units = loaded.admin_units[loaded.admin_units["level"] == "city"]
        code = str(city_units["code"].iloc[0]) if len(city_units) else "city"
        category = plan.instance.requirement.category
        norm = chosen.categories[category].capacity_per_1000
        places = plan_capacity(loaded, chosen, category, plan) if norm is not None else None
        fit = (
            fit_plan(loaded, chosen, plan, min_weight=fit_min_weight) if norm is not None else None
        )
        write_plan(plan, target_dir, city_code=code, capacity=places, fit=fit)
    result = plan.result
    _console.print(
        f"{plan.instance.requirement.key}: {len(plan.sites)} new sites, residents covered "
        f"{plan.share_before:.1%} → {plan.share_after:.1%} ({result.method}, bound "
        f"{result.bound:,.1f}, gap {result.gap:.2%}, solved in {result.solve_time_s:.2f} s; "
        f"{time.perf_counter() - started:.1f} s in all); results in {target_dir}"
    )
    if places is not None:
        _console.print(
            f"{category}: {places.streets['missing'].sum():,.0f} places missing across "
            f"{int((places.streets['missing'] > 0).sum())} streets; "
            f"{places.streets['unassigned'].sum():,.0f} need a site the plan does not give"
        )
    if fit is not None:
        _console.print(
            f"{category} (2SFCA fit): {fit.places_added:,.0f} places at "
            f"{len(fit.facilities)} facilities (LP bound {fit.lower_bound:,.1f}), reachable "
            f"demand adequate {fit.share_before:.1%} → {fit.share_after:.1%} ({fit.status}); "
            f"{fit.unreachable['people'].sum():,.0f} people in {len(fit.unreachable)} "
            "residences out of reach need a new site"
        )
