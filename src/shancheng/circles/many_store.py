"""The store of ``evaluate-many``: a folder or any fsspec URL, one prefix per city.

Layout::

    STORE/cities/<name>/residences.parquet, units.parquet, cells.parquet, gaps.parquet,
                        facilities.parquet, coverage.parquet, summary.json
    STORE/cities/<name>/done.json     written last: the content hash of the inputs and code
    STORE/national.parquet            coverage per city and per requirement (long table)
    STORE/national.csv                the same, one row per city, one column per measure
    STORE/national.png, national.html the map and the table people look at
    STORE/run.json                    what the last run computed, skipped and why cities failed

A city's files are written first and ``done.json`` last, so a run stopped half-way leaves a
city without ``done.json``, which the next run computes again. A city is skipped only when its
``done.json`` holds the same content hash as its inputs and the code have now.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fsspec
import pandas as pd

from shancheng.circles.evaluate import write_evaluation

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from shancheng.circles.evaluate import Evaluation

logger = logging.getLogger(__name__)

DONE = "done.json"
CODE_PACKAGES = ("circles", "data", "network", "geo")
"""Subpackages whose source makes the code part of a city's content hash."""


def open_store(url: str | Path) -> tuple[AbstractFileSystem, str]:
    """Return the fsspec filesystem and root path of a store URL or folder."""
    fs, root = fsspec.core.url_to_fs(str(url))
    fs.makedirs(root, exist_ok=True)
    return fs, str(root).rstrip("/")


def city_prefix(root: str, name: str) -> str:
    """Where one city's results go in the store."""
    return f"{root}/cities/{name}"


def sha256_files(paths: list[Path]) -> str:
    """Hash the contents (and relative names) of files and folders, in a fixed order."""
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            relative = file.relative_to(path) if path.is_dir() else Path(file.name)
            digest.update(str(relative).encode() + b"\0")
            with file.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
    return digest.hexdigest()


def code_fingerprint() -> str:
    """Hash of the analysis code (and its packaged catalogues) that a result depends on."""
    import shancheng  # noqa: PLC0415 - the package's own folder
    from shancheng import __version__  # noqa: PLC0415

    root = Path(shancheng.__file__).parent
    files = sorted(
        p
        for package in CODE_PACKAGES
        for p in (root / package).rglob("*")
        if p.suffix in (".py", ".toml", ".json") and p.is_file()
    )
    digest = hashlib.sha256(__version__.encode())
    for file in files:
        digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def read_done(fs: AbstractFileSystem, root: str, name: str) -> dict[str, Any] | None:
    """Return the ``done.json`` of a city, or ``None`` when it has none (never finished)."""
    path = f"{city_prefix(root, name)}/{DONE}"
    if not fs.exists(path):
        return None
    try:
        record = json.loads(fs.cat_file(path))
    except (ValueError, OSError):
        return None
    return record if isinstance(record, dict) else None


def write_city_results(
    evaluation: Evaluation, store: str, name: str, record: dict[str, Any]
) -> None:
    """Replace one city's results in the store; ``done.json`` (``record``) goes last."""
    fs, root = open_store(store)
    prefix = city_prefix(root, name)
    if fs.exists(prefix):
        fs.rm(prefix, recursive=True)
    fs.makedirs(prefix, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shancheng-many-") as tmp:
        local = write_evaluation(evaluation, Path(tmp) / name, formats=("parquet",))
        for file in sorted(local.iterdir()):
            fs.put_file(str(file), f"{prefix}/{file.name}")
    fs.pipe_file(
        f"{prefix}/{DONE}", (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode()
    )


def national_table(outcomes: list[dict[str, Any]]) -> pd.DataFrame:
    """Coverage per city and per requirement: one row per city and measure.

    Columns ``city, status, error, measure, category, level_min, population,
    covered_population, share``; a failed city has one row with its error and no measure.
    """
    rows: list[dict[str, Any]] = []
    for outcome in sorted(outcomes, key=lambda o: str(o["name"])):
        base = {"city": outcome["name"], "status": outcome["status"],
                "error": outcome.get("error", "")}  # fmt: skip
        shares = outcome.get("shares") or []
        if not shares:
            rows.append({**base, "measure": "", "category": "", "level_min": 0,
                         "population": 0.0, "covered_population": 0.0,
                         "share": float("nan")})  # fmt: skip
        rows.extend({**base, **share} for share in shares)
    return pd.DataFrame(rows)


def write_national(
    fs: AbstractFileSystem, root: str, outcomes: list[dict[str, Any]], run: dict[str, Any]
) -> pd.DataFrame:
    """Write the national table (Parquet, CSV), its map (PNG, HTML) and ``run.json``."""
    from shancheng.circles.many_map import national_html, national_png  # noqa: PLC0415

    table = national_table(outcomes)
    wide = _wide(table)
    with tempfile.TemporaryDirectory(prefix="shancheng-national-") as tmp:
        local = Path(tmp)
        table.to_parquet(local / "national.parquet", index=False)
        wide.to_csv(local / "national.csv", index=False)
        national_png(wide, outcomes, local / "national.png")
        national_html(wide, local / "national.png", local / "national.html")
        (local / "run.json").write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n",
                                        encoding="utf-8")  # fmt: skip
        for file in sorted(local.iterdir()):
            fs.put_file(str(file), f"{root}/{file.name}")
    return table


def _wide(table: pd.DataFrame) -> pd.DataFrame:
    """One row per city (status, error, population), one column per measure's share."""
    cities = table.drop_duplicates("city")[["city", "status", "error"]].reset_index(drop=True)
    measured = table[table["measure"] != ""]
    if measured.empty:
        return cities
    shares = measured.pivot_table(index="city", columns="measure", values="share", sort=False)
    order = list(dict.fromkeys(measured["measure"]))
    people = measured.groupby("city")["population"].max().rename("population")
    return cities.merge(people, on="city", how="left").merge(
        shares[order].reset_index(), on="city", how="left"
    )
