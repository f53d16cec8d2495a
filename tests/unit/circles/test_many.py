"""``evaluate-many`` on a LocalCluster (2 worker processes, 1 thread each).

Each city's files in the store are compared byte for byte with the same city evaluated
alone by ``shancheng circles evaluate`` (and imported alone by ``shancheng city import`` for
the OSM extract). A worker is killed while it holds a city's task; a city with bad data
fails alone; a rerun after one input changed recomputes that city only.
"""

import hashlib
import json
import logging
import os
import shutil
import signal
import threading
import time

import pytest
from tests.shared import shared_or_skip

from shancheng.circles.many import evaluate_many
from shancheng.circles.many_manifest import read_manifest_file
from shancheng.cli import main
from shancheng.data.demo import DemoConfig, write_demo_city
from shancheng.errors import InputError

# one LocalCluster for the module: keep its tests on one xdist worker (its dashboard on a
# free port: 8787 may be another cluster's)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dask-local-cluster")]
PARQUETS = ("residences", "units", "cells", "gaps", "facilities", "coverage")
MONACO_BBOX = "7.415,43.728,7.432,43.742"


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR,
                           memory_limit="3GiB")  # fmt: skip
    with Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    """Two small demo cities (seeds 1 and 2) and each one evaluated alone by the CLI."""
    root = tmp_path_factory.mktemp("demos")
    alone = {}
    for seed in (1, 2):
        folder = root / f"demo{seed}"
        write_demo_city(folder, DemoConfig.small(seed=seed))
        out = root / f"alone{seed}"
        assert main(["circles", "evaluate", "--city", str(folder), "--out", str(out),
                     "--no-report"]) == 0  # fmt: skip
        alone[f"demo-{seed}"] = out
    return root, alone


def _digest(path):
    """The table's bytes, bit for bit, as an Arrow IPC stream, with the file's metadata apart.

    The geo metadata's CRS is compared as a CRS: the same WGS84 is written as a datum or as
    a datum ensemble depending on the PROJ state of the process that wrote it (see
    docs/scale.md), which is not a difference in the results.
    """
    import pyarrow.parquet as pq
    import pyproj

    table = pq.read_table(path)
    metadata = dict(table.schema.metadata or {})
    geo = json.loads(metadata.pop(b"geo", b"{}"))
    crs = {}
    for name, column in geo.get("columns", {}).items():
        crs[name] = pyproj.CRS.from_json_dict(column.pop("crs")).to_epsg()
    digest = hashlib.sha256()
    for name in table.column_names:  # every value's bytes: validity, offsets and data
        digest.update(name.encode())
        for buffer in table.column(name).combine_chunks().buffers():
            digest.update(b"-" if buffer is None else buffer.to_pybytes())
    data = digest.hexdigest()
    return data, json.dumps(geo, sort_keys=True), crs, metadata


def _same_files(store_city, alone):
    for name in PARQUETS:
        assert _digest(store_city / f"{name}.parquet") == _digest(alone / f"{name}.parquet"), name
    assert json.loads((store_city / "summary.json").read_text()) == json.loads(
        (alone / "summary.json").read_text()
    )


def _manifest(path, cities):
    lines = []
    for name, keys in cities.items():
        lines += ["[[cities]]", f'name = "{name}"', *(f"{k} = {v}" for k, v in keys.items()), ""]
    path.write_text("\n".join(lines))
    return read_manifest_file(path)


def test_demo_and_osm_cities_equal_each_evaluated_alone(client, demos, tmp_path, capsys):
    shared = shared_or_skip()
    osm = shared / "networks/osm/monaco_2026-07-10_geofabrik.osm.pbf"
    dem = shared / "networks/dem/srtm3_v21/N43E007.hgt"
    root, alone = demos
    monaco = tmp_path / "monaco_city"
    assert main(["city", "import", "--osm", str(osm), "--out", str(monaco), "--name", "monaco",
                 "--bbox", MONACO_BBOX, "--dem", str(dem), "--admin-from-osm", "MC"]) == 0  # fmt: skip
    assert main(["circles", "evaluate", "--city", str(monaco), "--out", str(tmp_path / "mc"),
                 "--no-report"]) == 0  # fmt: skip
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{}")
    entries = _manifest(tmp_path / "cities.toml", {
        "demo-1": {"city": f'"{root / "demo1"}"'},
        "demo-2": {"city": f'"{root / "demo2"}"'},
        "demo-1-split": {"city": f'"{root / "demo1"}"', "split": "true"},
        "monaco": {"osm": f'"{osm}"', "dem": f'"{dem}"', "admin_from_osm": '"MC"',
                   "bbox": "[" + MONACO_BBOX + "]"},
        "broken": {"city": '"broken"'},
        "broken-split": {"city": '"broken"', "split": "true"},
    })  # fmt: skip
    report = evaluate_many(entries, str(tmp_path / "store"), client=client)

    assert sorted(report.computed) == ["demo-1", "demo-1-split", "demo-2", "monaco"]
    assert sorted(report.failed) == ["broken", "broken-split"]
    cities = tmp_path / "store" / "cities"
    _same_files(cities / "demo-1", alone["demo-1"])
    _same_files(cities / "demo-2", alone["demo-2"])
    _same_files(cities / "monaco", tmp_path / "mc")
    for name in PARQUETS:  # the district split, through Dask, is the whole city too
        assert _digest(cities / "demo-1-split" / f"{name}.parquet") == _digest(
            alone["demo-1"] / f"{name}.parquet"
        )
    assert not (cities / "broken").exists()
    error = next(o["error"] for o in report.outcomes if o["name"] == "broken")
    assert "broken/manifest.json" in error
    assert "format" in error
    import pandas as pd

    national = pd.read_parquet(tmp_path / "store" / "national.parquet")
    assert set(national["city"]) == {"demo-1", "demo-2", "demo-1-split", "monaco", "broken",
                                     "broken-split"}  # fmt: skip
    assert (national.loc[national["city"] == "broken", "status"] == "failed").all()
    one = national[(national["city"] == "demo-2") & (national["measure"] == "kindergarten_5min")]
    summary = json.loads((alone["demo-2"] / "summary.json").read_text())
    assert one["share"].iloc[0] == pytest.approx(summary["shares"]["kindergarten_5min"], abs=1e-6)
    for name in ("national.csv", "national.png", "national.html", "run.json"):
        assert (tmp_path / "store" / name).stat().st_size > 100


def _kill_first_holder(client, seen):
    """Kill the worker process that holds a city task, and note where the task went next."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        held = {w: [k for k in keys if str(k).startswith("city-")]
                for w, keys in client.processing().items()}  # fmt: skip
        held = {w: keys for w, keys in held.items() if keys}
        if held:
            worker, keys = next(iter(held.items()))
            pid = client.run(os.getpid, workers=[worker])[worker]
            seen["killed"], seen["key"] = worker, keys[0]
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    while time.monotonic() < deadline and "again_on" not in seen:
        for w, keys in client.processing().items():
            if seen.get("key") in keys and w != seen.get("killed"):
                seen["again_on"] = w
        time.sleep(0.02)


def test_a_worker_killed_mid_run_and_the_run_completes_the_same(client, demos, tmp_path):
    root, alone = demos
    entries = _manifest(tmp_path / "cities.toml", {
        "demo-1": {"city": f'"{root / "demo1"}"'},
        "demo-2": {"city": f'"{root / "demo2"}"'},
    })  # fmt: skip
    seen = {}
    killer = threading.Thread(target=_kill_first_holder, args=(client, seen))
    killer.start()
    report = evaluate_many(entries, str(tmp_path / "store"), client=client)
    killer.join()

    assert "killed" in seen, "no city task was ever seen on a worker"
    assert seen["again_on"] != seen["killed"]  # the task ran again on another worker
    assert sorted(report.computed) == ["demo-1", "demo-2"]
    assert report.failed == []
    for name in ("demo-1", "demo-2"):
        _same_files(tmp_path / "store" / "cities" / name, alone[name])
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker


def test_rerun_recomputes_only_the_changed_city(client, demos, tmp_path, capsys):
    root, _ = demos
    for seed in (1, 2):
        shutil.copytree(root / f"demo{seed}", tmp_path / f"demo{seed}")
    manifest = tmp_path / "cities.yaml"
    manifest.write_text(
        "cities:\n  - {name: demo-1, city: demo1}\n  - {name: demo-2, city: demo2}\n"
    )
    address = client.scheduler.address
    store = tmp_path / "store"
    url = f"file://{store}"  # any fsspec URL
    args = ["circles", "evaluate-many", str(manifest), "--out", url, "--scheduler", address]
    assert main(args) == 0
    first = {n: (store / "cities" / n / "done.json").read_text() for n in ("demo-1", "demo-2")}
    assert "computed 2, skipped (unchanged) 0, failed 0" in capsys.readouterr().out

    write_demo_city(tmp_path / "demo2", DemoConfig.small(seed=3))  # one input changed
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "computed 1, skipped (unchanged) 1, failed 0" in out
    run = json.loads((store / "run.json").read_text())
    assert run["computed"] == ["demo-2"]
    assert run["skipped"] == ["demo-1"]
    assert (store / "cities" / "demo-1" / "done.json").read_text() == first["demo-1"]
    assert (store / "cities" / "demo-2" / "done.json").read_text() != first["demo-2"]

    (tmp_path / "demo2" / "manifest.json").write_text("{}")  # now demo-2's data are bad
    assert main(args) == 1
    assert "computed 0, skipped (unchanged) 1, failed 1" in capsys.readouterr().out
    assert not (store / "cities" / "demo-2").exists()  # no results of the old inputs left
    assert (store / "cities" / "demo-1" / "done.json").read_text() == first["demo-1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[cities]]\nname = 'a'\n", "give exactly one of `city`"),
        ("[[cities]]\nname = 'a b'\ncity = 'x'\n", "field `name` must be"),
        ("[[cities]]\nname = 'a'\ncity = 'x'\nwalk = 1\n", "unknown keys ['walk']"),
        ("[[cities]]\nname = 'a'\nosm = 'x.pbf'\nsplit = true\n", "`split` needs a City folder"),
        (
            "[[cities]]\nname = 'a'\ncity = 'x'\n[[cities]]\nname = 'a'\ncity = 'y'\n",
            "is used twice",
        ),
        ("[[cities]]\nname = 'a'\ncity = 'x'\ncutoff_s = -1\n", "`cutoff_s` must be a number"),
        ("[[cities]]\nname = 'a'\nosm = 'x'\nbbox = [1, 2]\n", "`bbox` must be"),
        ("cities = []\n", "non-empty list `cities`"),
    ],
)
def test_bad_manifests_are_refused_with_the_entry_and_key(tmp_path, text, message):
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(InputError, match="m.toml") as caught:
        read_manifest_file(path)
    assert message in str(caught.value)
