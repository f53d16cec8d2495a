from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from shancheng.lifelines.leak_signatures import node_signatures
from shancheng.lifelines.leaks import Leak
from shancheng.lifelines.scada_simulation import _orifice_flow

wntr = pytest.importorskip("wntr")
T0 = datetime(2018, 1, 1)


def test_orifice_flow_by_hand():
    t = np.arange(0, 4 * 86_400, 300, dtype=np.float64)
    abrupt = Leak(
        "p1", T0 + timedelta(days=1), T0 + timedelta(days=3), 0.01, "abrupt", T0 + timedelta(days=1)
    )
    q = _orifice_flow(abrupt, t, T0, 50.0)
    full = 0.75 * math.pi * 0.01**2 / 4 * math.sqrt(2 * 9.81 * 50.0)  # m3/s
    assert q[0] == 0.0
    assert q[288] == pytest.approx(full)
    assert q[3 * 288 + 1] == 0.0  # repaired
    incipient = Leak("p1", T0, T0 + timedelta(days=4), 0.01, "incipient", T0 + timedelta(days=2))
    q = _orifice_flow(incipient, t, T0, 50.0)
    assert q[288] == pytest.approx(full / 2)  # halfway to the peak
    assert q[3 * 288] == pytest.approx(full)


def test_signatures_fall_most_at_the_leaking_node():
    inp = Path(wntr.__file__).parent / "library" / "networks" / "Net3.inp"
    sensors = ["10", "15", "20", "35", "40"]
    wn = wntr.network.WaterNetworkModel(str(inp))
    junctions = set(wn.junction_name_list)
    sig = node_signatures(inp, [s for s in sensors if s in junctions])
    assert (sig.to_numpy() <= 1e-6).all()
    for s in sig.columns:
        assert sig.loc[s].idxmin() == s  # a leak at a sensor node drops that sensor most
