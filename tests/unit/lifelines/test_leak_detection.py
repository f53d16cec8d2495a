from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shancheng.lifelines.leak_detection import (
    DetectorSettings,
    detect_leaks,
    node_signatures,
)
from shancheng.lifelines.leaks import Leak
from shancheng.lifelines.scada_simulation import _orifice_flow

wntr = pytest.importorskip("wntr")
T0 = datetime(2018, 1, 1)


def test_orifice_flow_by_hand():
    t = np.arange(0, 4 * 86_400, 300, dtype=np.float64)
    abrupt = Leak("p1", T0 + timedelta(days=1), T0 + timedelta(days=3), 0.01, "abrupt",
                  T0 + timedelta(days=1))
    q = _orifice_flow(abrupt, t, T0, 50.0)
    full = 0.75 * math.pi * 0.01**2 / 4 * math.sqrt(2 * 9.81 * 50.0)  # m3/s
    assert q[0] == 0.0
    assert q[288] == pytest.approx(full)
    assert q[3 * 288 + 1] == 0.0  # repaired
    incipient = Leak("p1", T0, T0 + timedelta(days=4), 0.01, "incipient", T0 + timedelta(days=2))
    q = _orifice_flow(incipient, t, T0, 50.0)
    assert q[288] == pytest.approx(full / 2)  # halfway to the peak
    assert q[3 * 288] == pytest.approx(full)


def test_detector_finds_a_synthetic_drop_on_the_matching_pipe():
    index = pd.date_range(T0, periods=40 * 24, freq="h")
    rng = np.random.default_rng(1)
    model = pd.DataFrame(50.0, index=index, columns=["s1", "s2", "s3"])
    measured = model + rng.normal(0, 0.02, model.shape)
    after = index >= T0 + timedelta(days=20)
    measured.loc[after, "s2"] -= 1.0
    measured.loc[after, "s3"] -= 0.5
    names = ["pA", "pB"]
    signatures = np.array([[-1.0, 0.0, 0.0], [0.0, -1.0, -0.5]])
    settings = DetectorSettings(threshold_m=0.3, common_modes=0)
    found = detect_leaks(measured, model, names, signatures, settings)
    assert found["link_id"].tolist() == ["pB"]
    assert found["time"].tolist() == [T0 + timedelta(days=20, hours=4)]
    assert found["similarity"].iloc[0] == pytest.approx(1.0, abs=1e-3)  # noise of 0.02 m


def test_signatures_fall_most_at_the_leaking_node():
    inp = Path(wntr.__file__).parent / "library" / "networks" / "Net3.inp"
    sensors = ["10", "15", "20", "35", "40"]
    wn = wntr.network.WaterNetworkModel(str(inp))
    junctions = set(wn.junction_name_list)
    sig = node_signatures(inp, [s for s in sensors if s in junctions])
    assert (sig.to_numpy() <= 1e-6).all()
    for s in sig.columns:
        assert sig.loc[s].idxmin() == s  # a leak at a sensor node drops that sensor most
