"""Evaluate many cities on a Dask cluster: one task per city, results to a store.

The same task graph runs on a laptop's ``LocalCluster`` and on any Dask scheduler (SLURM/PBS
through dask-jobqueue, Kubernetes): the cluster is the caller's. What it is made for:

* **a worker killed mid-task**: the scheduler gives the task to another worker (Dask's
  ``allowed-failures``, 3 by default); other exceptions than bad data are retried
  (``retries``) too;
* **a city with bad data**: its :class:`~shancheng.errors.ShanchengError` is caught in the
  task and reported with the city's name; the other cities finish; its results of an
  earlier run are removed from the store, which never shows results of other inputs;
* **a rerun**: a city whose inputs and code hash to what its ``done.json`` in the store
  records is skipped (:mod:`shancheng.circles.many_store`);
* **memory**: one task per worker thread, so a task has at most the worker's
  ``memory_limit`` (the nanny restarts a worker past 95 % of it, and the task goes elsewhere).

A city marked ``split`` is one task per district and a stitching task
(:mod:`shancheng.circles.split`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import resource
import sys
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import shapely

from shancheng.circles.city_profile import apply_city_profile, read_city_profile
from shancheng.circles.evaluate import evaluate_city
from shancheng.circles.many_store import (
    city_prefix,
    code_fingerprint,
    open_store,
    read_done,
    sha256_files,
    write_city_results,
    write_national,
)
from shancheng.circles.split import district_keys, evaluate_district, stitch_districts
from shancheng.circles.standard import load_catalogue
from shancheng.data.assign import PopulationSource
from shancheng.data.city import read_city
from shancheng.data.importer import ImportOptions, build_city
from shancheng.data.osm_admin import admin_levels_for
from shancheng.errors import ShanchengError

if TYPE_CHECKING:
    from collections.abc import Callable

    from distributed import Client, Future

    from shancheng.circles.evaluate import Evaluation
    from shancheng.circles.many_manifest import CityEntry
    from shancheng.circles.split import DistrictPart
    from shancheng.circles.standard import Catalogue
    from shancheng.data.city import City

logger = logging.getLogger(__name__)

RETRIES = 2
"""Times a task that raised something other than bad data is tried again elsewhere."""


@dataclass
class ManyReport:
    """What a run of :func:`evaluate_many` did.

    Attributes
    ----------
    outcomes
        One record per city: ``name, status`` (``ok``, ``skipped`` or ``failed``), ``error``,
        ``seconds``, ``peak_rss_mb`` (of the worker process), ``worker``, ``shares``...
    computed, skipped, failed
        City names by what happened to them.
    seconds
        Wall time of the run.
    """

    outcomes: list[dict[str, Any]] = field(default_factory=list)
    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def content_key(entry: CityEntry, code: str) -> str:
    """Hash of everything a city's result depends on: its input files, settings and code."""
    parts = {
        "inputs": sha256_files(entry.input_files()),
        "options": {k: str(v) for k, v in sorted(entry.options().items())},
        "code": code,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def load_entry(entry: CityEntry) -> tuple[City, Catalogue, list[str]]:
    """Read (or import in memory) the entry's City and its catalogue with the profile applied."""
    if entry.city is not None:
        city = read_city(entry.city)
    else:
        assert entry.osm is not None  # noqa: S101 - the manifest checks one of the two
        options = ImportOptions(
            osm=entry.osm, name=entry.name, dem=entry.dem,
            area=shapely.box(*entry.bbox) if entry.bbox else None,
            admin_osm_levels=admin_levels_for(entry.admin_from_osm, None)
            if entry.admin_from_osm else None,
            population=PopulationSource(
                raster=entry.population_raster, counts=entry.population_counts,
                level=entry.population_level, points=entry.population_points,
            ),
        )  # fmt: skip
        city, _ = build_city(options)
    catalogue = load_catalogue(entry.catalogue)
    notes: list[str] = []
    if entry.profile is not None:
        present = set(city.facilities["category"].astype(str))
        catalogue, notes = apply_city_profile(
            catalogue, read_city_profile(entry.profile, catalogue), present
        )
    return city, catalogue, notes


def evaluate_entry(entry: CityEntry) -> Evaluation:
    """Evaluate one city of a manifest whole, as ``shancheng circles evaluate`` does."""
    city, catalogue, notes = load_entry(entry)
    evaluation = evaluate_city(city, catalogue, residences=entry.residences,
                               cutoff_s=entry.cutoff_s, time_step_s=entry.time_step_s,
                               threads=task_threads())  # fmt: skip
    return replace(evaluation, data_notes=(*evaluation.data_notes, *notes))


def run_city(entry: CityEntry, store: str, key: str) -> dict[str, Any]:
    """Run one city's task: evaluate it, write its results, return its outcome record."""
    started = time.perf_counter()
    try:
        evaluation = evaluate_entry(entry)
    except ShanchengError as exc:
        return _failed(entry, exc, started)
    return _finish(entry, evaluation, store, key, started)


def run_district(entry: CityEntry, district: str) -> DistrictPart | str:
    """Run one district of a split city: return its part, or the error message."""
    try:
        city, catalogue, _ = load_entry(entry)
        return evaluate_district(
            city, catalogue, district, residences=entry.residences, cutoff_s=entry.cutoff_s,
            time_step_s=entry.time_step_s, threads=task_threads(),
        )  # fmt: skip
    except ShanchengError as exc:
        return f"district {district!r}: {exc}"


def run_stitch(
    entry: CityEntry, store: str, key: str, *parts: DistrictPart | str
) -> dict[str, Any]:
    """Run the last task of a split city: stitch the districts, write, return the outcome.

    Its ``seconds`` are the stitching's and writing's; each district's ran apart.
    """
    started = time.perf_counter()
    errors = [p for p in parts if isinstance(p, str)]
    if errors:
        return _failed(entry, ShanchengError("; ".join(errors)), started)
    try:
        city, catalogue, notes = load_entry(entry)
        whole = [p for p in parts if not isinstance(p, str)]
        evaluation = stitch_districts(city, catalogue, whole, residences=entry.residences,
                                      cutoff_s=entry.cutoff_s)  # fmt: skip
    except ShanchengError as exc:
        return _failed(entry, exc, started)
    evaluation = replace(evaluation, data_notes=(*evaluation.data_notes, *notes))
    outcome = _finish(entry, evaluation, store, key, started)
    outcome["districts"] = len(whole)
    outcome["district_nodes"] = [p.network_nodes for p in whole]
    return outcome


def evaluate_many(
    entries: list[CityEntry],
    store: str,
    *,
    client: Client,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ManyReport:
    """Evaluate every city of a manifest on ``client``'s cluster and write the national table.

    Parameters
    ----------
    entries
        The manifest's cities (:func:`~shancheng.circles.many_manifest.read_manifest_file`).
    store
        A folder or an fsspec URL the workers can write to.
    client
        A ``distributed.Client`` (a ``LocalCluster``'s or a remote scheduler's).
    force
        Compute every city, even those whose ``done.json`` matches.
    progress
        Called with 1 as each city finishes (computed, skipped or failed).

    Returns
    -------
    ManyReport
    """
    from distributed import as_completed  # noqa: PLC0415 - only the orchestrator needs it

    started = time.perf_counter()
    advance = progress or (lambda _n: None)
    fs, root = open_store(store)
    code = code_fingerprint()
    report = ManyReport()
    futures: dict[Future[dict[str, Any]], tuple[CityEntry, str]] = {}
    for entry in entries:
        key = content_key(entry, code)
        done = read_done(fs, root, entry.name)
        if not force and done is not None and done.get("key") == key:
            report.skipped.append(entry.name)
            report.outcomes.append({**done, "status": "skipped"})
            advance(1)
            continue
        try:
            futures[_submit(client, entry, store, key)] = (entry, key)
        except ShanchengError as exc:  # a split city's districts are listed here, on the client
            report.failed.append(entry.name)
            report.outcomes.append(_failed(entry, exc, started))
            logger.error("city %s failed: %s", entry.name, exc)  # noqa: TRY400 - no traceback
            advance(1)
    for future in as_completed(list(futures)):  # type: ignore[no-untyped-call]
        entry, _ = futures[future]
        try:
            outcome = future.result()
        except Exception as exc:  # noqa: BLE001 - a bug or a worker lost too often: report it
            outcome = _failed(entry, exc, started)
        (report.computed if outcome["status"] == "ok" else report.failed).append(entry.name)
        report.outcomes.append(outcome)
        if outcome["status"] != "ok":
            logger.error("city %s failed: %s", entry.name, outcome["error"])
        advance(1)
    for name in report.failed:  # never leave results of inputs that are no longer there
        prefix = city_prefix(root, name)
        if fs.exists(prefix):
            fs.rm(prefix, recursive=True)
    report.seconds = time.perf_counter() - started
    run = {"computed": report.computed, "skipped": report.skipped, "failed": report.failed,
           "errors": {o["name"]: o["error"] for o in report.outcomes if o["status"] == "failed"},
           "seconds": round(report.seconds, 3), "code": code}  # fmt: skip
    write_national(fs, root, report.outcomes, run)
    return report


def _submit(client: Client, entry: CityEntry, store: str, key: str) -> Future[dict[str, Any]]:
    """One task for a city, or one per district and a stitching task for a split city."""
    tag = f"{entry.name}-{key[:12]}"
    if not entry.split:
        return client.submit(run_city, entry, store, key, key=f"city-{tag}", retries=RETRIES)
    city, catalogue, _ = load_entry(entry)
    districts = district_keys(city, catalogue, entry.residences)
    parts = [client.submit(run_district, entry, d, key=f"district-{tag}-{d or 'none'}",
                           retries=RETRIES) for d in districts]  # fmt: skip
    return client.submit(run_stitch, entry, store, key, *parts,
                         key=f"stitch-{tag}", retries=RETRIES)  # fmt: skip


def _failed(entry: CityEntry, exc: BaseException, started: float) -> dict[str, Any]:
    message = str(exc) if isinstance(exc, ShanchengError) else f"{type(exc).__name__}: {exc}"
    return {"name": entry.name, "status": "failed", "error": message,
            "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip


def _finish(
    entry: CityEntry, evaluation: Evaluation, store: str, key: str, started: float
) -> dict[str, Any]:
    """Write the results and ``done.json``; return the outcome record (also in done.json)."""
    table = evaluation.table
    city = table[(table["unit_level"] == "city") & (table["age_group"] == "all")]
    shares = city[["measure", "category", "level_min", "population", "covered_population",
                   "share"]].to_dict("records")  # fmt: skip
    homes = evaluation.residences.geometry.to_crs(4326).representative_point()
    record: dict[str, Any] = {
        "name": entry.name,
        "status": "ok",
        "error": "",
        "key": key,
        "residences": len(evaluation.residences),
        "lon": float(homes.x.mean()) if len(homes) else None,
        "lat": float(homes.y.mean()) if len(homes) else None,
        "shares": [
            {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in shares
        ],
        "seconds": round(time.perf_counter() - started, 3),
        "peak_rss_mb": peak_rss_mb(),
        "worker": _worker_address(),
    }
    write_city_results(evaluation, store, entry.name, record)
    return record


def peak_rss_mb() -> float:
    """Peak resident memory of this process (the worker), MiB.

    Linux's ``VmHWM``: ``ru_maxrss`` would carry over the peak of the process that forked
    the worker (the client's, with a LocalCluster), kept across ``exec``.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:  # noqa: PTH123
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def task_threads() -> int | None:
    """Threads a task may use: its Dask worker's (``None`` off a worker: every core).

    The kernels default to every core; on a worker of one thread beside another worker,
    that would run two searches per core.
    """
    try:
        from distributed import get_worker  # noqa: PLC0415

        return int(get_worker().state.nthreads)
    except ValueError:  # not on a worker
        return None


def _worker_address() -> str:
    try:
        from distributed import get_worker  # noqa: PLC0415

        return str(get_worker().address)
    except ValueError:  # not on a worker (called directly)
        return "local"
