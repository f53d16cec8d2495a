"""``shancheng lifelines ...`` on the small demo city (one city built per module)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from shancheng.cli import main

DATA = Path(__file__).resolve().parents[2] / "data" / "lifelines"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("lifelines-cli")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHANCHENG_DATA_DIR", str(root))
        mp.setenv("SHANCHENG_QUIET", "1")
        assert main(["demo", "--small"]) == 0
    return root


@pytest.fixture
def env(data_dir, monkeypatch):
    monkeypatch.setenv("SHANCHENG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SHANCHENG_QUIET", "1")
    return data_dir


def test_live_scenario_raises_the_graded_alarm_and_opens_the_case(env, capsys):
    assert main(["lifelines", "live", "--minutes", "16"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "loopback (in-process, no broker)" in out
    assert "3 rejected" in out
    for level in (3, 2, 1):
        assert f"threshold level {level} raised" in out
    assert "confirmed" in out
    assert "isolation plan: close" in out
    assert "opened in the governance center: status registered" in out
    assert "department gas_utility" in out
    assert (env / "lifelines_plan.png").read_bytes().startswith(b"\x89PNG")
    engine = sa.create_engine(f"sqlite:///{env / 'shancheng.sqlite'}")
    with engine.connect() as conn:
        alarms = conn.execute(
            sa.text(
                "select state, level, case_reference from lifelines_alarms "
                "where rule = 'threshold' and state = 'confirmed'"
            )
        ).all()
        rejected = conn.execute(sa.text("select count(*) from lifelines_rejections")).scalar()
        cases = conn.execute(
            sa.text("select id, reference, status, source, department from cases")
        ).all()
        plan = conn.execute(
            sa.text("select data from case_attachments where case_id = :c"), {"c": cases[0][0]}
        ).scalar_one()
    engine.dispose()
    assert rejected == 3
    # the confirmed alarm opened exactly one real case, routed to the gas utility
    assert len(alarms) == 1
    assert len(cases) == 1
    _case_id, reference, status, source, department = cases[0]
    assert alarms[0] == ("confirmed", 1, reference)
    assert (status, source, department) == ("registered", "sensor", "gas_utility")
    assert reference in out
    # the isolation plan travels with the case
    assert "valves_to_close" in str(plan)


def test_isolate_names_valves_and_facilities(env, capsys, tmp_path):
    assert (
        main(
            ["lifelines", "isolate", "304", "--network", "gas", "--png", str(tmp_path / "plan.png")]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (tmp_path / "plan.png").read_bytes().startswith(b"\x89PNG")
    assert "break on link 304" in out
    assert "close " in out


def test_isolate_unknown_link_is_one_line(env, capsys):
    assert main(["lifelines", "isolate", "no-such-link"]) == 1
    assert "no link 'no-such-link'" in capsys.readouterr().err


def test_criticality_and_coverage_print_tables(env, capsys, tmp_path):
    assert (
        main(
            [
                "lifelines",
                "criticality",
                "--network",
                "water",
                "--top",
                "3",
                "--out",
                str(tmp_path / "rank.csv"),
            ]
        )
        == 0
    )
    assert (tmp_path / "rank.csv").read_text().startswith("segment,supplied,valves")
    assert (
        main(["lifelines", "coverage", "--network", "gas", "--png", str(tmp_path / "coverage.png")])
        == 0
    )
    assert (tmp_path / "coverage.png").read_bytes().startswith(b"\x89PNG")
    out = capsys.readouterr().out
    assert "coverage by district" in out
    assert "more sensors reach 100 %" in out


def test_validate_reports_bad_files(env, capsys):
    assert main(["lifelines", "validate", str(DATA / "bad_refs.geojson"), "--network", "gas"]) == 1
    err = capsys.readouterr().err
    assert "unknown node 'J9'" in err
    assert main(["lifelines", "validate", str(DATA / "bad_corrupt.inp")]) == 1
    assert "bad_corrupt.inp" in capsys.readouterr().err


def test_readings_downsampled_and_bad_time(env, capsys):
    assert main(["lifelines", "live", "--minutes", "12"]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "lifelines",
                "readings",
                "G00045",
                "--start",
                "2000-01-01T00:00:00Z",
                "--end",
                "2100-01-01T00:00:00Z",
                "--bucket",
                "86400",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "bucket_start_ms" in out
    assert (
        main(
            [
                "lifelines",
                "readings",
                "G00045",
                "--start",
                "yesterday",
                "--end",
                "2100-01-01T00:00:00Z",
            ]
        )
        == 1
    )
    assert "option `--start`: 'yesterday' is not an ISO 8601 time" in capsys.readouterr().err
