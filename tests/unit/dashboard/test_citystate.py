"""The City state is built once per process, however many requests ask for it at once."""

import threading
import time
from pathlib import Path

from shancheng.api.state import state_of
from shancheng.indicators import citystate


def test_holder_builds_once_for_concurrent_callers(monkeypatch):
    built, loaded = [], []

    def slow_build(city, gtfs=None):
        time.sleep(0.2)
        built.append(city)
        return f"state of {city}"

    monkeypatch.setattr(citystate, "build_city_state", slow_build)
    holder = citystate.CityHolder(Path("data/x"), loader=lambda p: loaded.append(p) or "x")
    results = []
    threads = [threading.Thread(target=lambda: results.append(holder.get())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["state of x"] * 4
    assert (len(built), loaded) == (1, [Path("data/x")])


def test_a_missing_city_is_a_clear_400(center, tmp_path):
    from fastapi.testclient import TestClient

    from shancheng.api.app import create_app
    from shancheng.config import Settings
    from shancheng.store import upgrade_database

    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    upgrade_database(url)
    app = create_app(Settings(database_url=url, data_dir=tmp_path, city="nowhere"), center=center)
    r = TestClient(app).get("/city/units")
    assert r.status_code == 400
    assert "no such City directory" in r.json()["detail"][0]["msg"]
    state_of(app).engine.dispose()
