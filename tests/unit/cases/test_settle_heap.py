"""The server freezes its long-lived heap once start-up work is done (no full-collection stalls)."""

from __future__ import annotations

import gc
from types import SimpleNamespace

from shancheng.api import app as app_module


class _City:
    def __init__(self, fail: bool) -> None:
        self.fail = fail

    def get(self):
        if self.fail:
            msg = "no city"
            raise RuntimeError(msg)
        return [object() for _ in range(1000)]


def test_city_warm_up_freezes_what_is_alive_even_when_it_fails():
    for fail in (False, True):
        gc.unfreeze()
        assert gc.get_freeze_count() == 0
        app_module._warm_city(SimpleNamespace(state=SimpleNamespace(city=_City(fail))))
        assert gc.get_freeze_count() > 0  # the objects alive now are out of the collector's way
    gc.unfreeze()
