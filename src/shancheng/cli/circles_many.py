"""``shancheng circles evaluate-many``: every city of a manifest on a Dask cluster."""

from __future__ import annotations

import logging
from pathlib import Path  # noqa: TC003 - typer reads the annotations at run time

import typer
from rich.console import Console
from rich.table import Table

from shancheng.circles.many import ManyReport, evaluate_many
from shancheng.circles.many_manifest import read_manifest_file
from shancheng.progress import progress_bar

_console = Console()
_err = Console(stderr=True)


def evaluate_many_command(
    manifest: Path = typer.Argument(..., help="Manifest of cities (TOML or YAML; docs/scale.md)."),  # noqa: B008
    *,
    out: str = typer.Option(..., help="Store: a folder or an fsspec URL the workers can write."),
    scheduler: str | None = typer.Option(
        None, help="Address of a running Dask scheduler (tcp://host:8786); default a local cluster."
    ),
    workers: int = typer.Option(2, min=1, help="Workers of the local cluster (1 thread each)."),
    memory_limit: str = typer.Option(
        "4GiB", help="Memory of each local worker, so of each task (Dask's memory_limit)."
    ),
    force: bool = typer.Option(False, "--force", help="Recompute cities that did not change."),  # noqa: FBT003
) -> None:
    """Evaluate the living circles of every city of MANIFEST on Dask; results to the store.

    One task per city (per district with `split = true`); a city whose inputs and code are
    unchanged since its last result in the store is skipped. Writes GeoParquet per city and
    the national table, map and run record.
    """
    entries = read_manifest_file(manifest)
    from distributed import Client, LocalCluster  # noqa: PLC0415 - slow import, this command only

    logging.getLogger("distributed").setLevel(logging.WARNING)
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,  # type: ignore[no-untyped-call]
                               memory_limit=memory_limit)  # fmt: skip
        client = Client(cluster)  # type: ignore[no-untyped-call]
        where = f"local cluster: {workers} workers x 1 thread, {memory_limit} each"
    else:
        cluster = None
        client = Client(scheduler)  # type: ignore[no-untyped-call]
        where = f"scheduler {scheduler}"
    try:
        _console.print(f"{len(entries)} cities on the {where}", highlight=False)
        _console.print(_memory_line(client), highlight=False)
        _console.print(f"Dask dashboard: {client.dashboard_link}", highlight=False)
        with progress_bar("cities", len(entries)) as advance:
            report = evaluate_many(entries, out, client=client, force=force, progress=advance)
    finally:
        client.close()  # type: ignore[no-untyped-call]
        if cluster is not None:
            cluster.close()
    _print_report(report, out)
    if report.failed:
        raise typer.Exit(1)


def _memory_line(client: object) -> str:
    """State the memory each task may use: the workers' memory_limit."""
    info = client.scheduler_info()  # type: ignore[attr-defined]
    limits = sorted({w.get("memory_limit") or 0 for w in info.get("workers", {}).values()})
    text = ", ".join(f"{limit / 2**30:.1f} GiB" if limit else "unbounded" for limit in limits)
    return f"memory per task: at most {text or 'unknown'} (one task per worker thread)"


def _print_report(report: ManyReport, out: str) -> None:
    table = Table(title=f"living circles of {len(report.outcomes)} cities ({report.seconds:.1f} s)")
    for column in ("city", "status", "complete 15 min", "seconds", "peak MiB", "worker / error"):
        table.add_column(column, justify="left" if column in ("city", "status") else "right")
    for outcome in sorted(report.outcomes, key=lambda o: str(o["name"])):
        shares = {s["measure"]: s["share"] for s in outcome.get("shares") or []}
        share = shares.get("complete_15min")
        table.add_row(
            str(outcome["name"]),
            str(outcome["status"]),
            "" if share is None else f"{share:.1%}",
            f"{outcome.get('seconds', 0):.1f}",
            f"{outcome.get('peak_rss_mb', 0) or 0:,.0f}",
            str(outcome.get("error") or outcome.get("worker") or ""),
        )
    _console.print(table)
    _console.print(
        f"computed {len(report.computed)}, skipped (unchanged) {len(report.skipped)}, "
        f"failed {len(report.failed)}; results in {out} (national.parquet, national.csv, "
        "national.png, national.html)",
        highlight=False,
    )
    for outcome in report.outcomes:
        if outcome["status"] == "failed":
            _err.print(f"[bold red]failed:[/] {outcome['name']}: {outcome['error']}",
                       highlight=False, soft_wrap=True)  # fmt: skip
