from pathlib import Path

import pytest
from pydantic import ValidationError

from shancheng.config import Settings


def test_defaults_are_server_free(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.city_dir == Path("data/demo")
    assert settings.resolved_database_url == "sqlite:///data/shancheng.sqlite"


def test_toml_file_is_read_and_environment_wins(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shancheng.toml").write_text(
        'data_dir = "/srv/sc"\ncity = "chongqing"\nmqtt_url = "mqtt://broker:1883"\n'
    )
    monkeypatch.setenv("SHANCHENG_CITY", "porto")
    settings = Settings()
    assert settings.data_dir == Path("/srv/sc")
    assert settings.mqtt_url == "mqtt://broker:1883"
    assert settings.city == "porto"


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ("SHANCHENG_WALK_SPEED_KM_H", "walk_speed_km_h"),
        ("SHANCHENG_MQTT_URL", "mqtt_url"),
        ("SHANCHENG_CITY", "city"),
    ],
)
def test_bad_settings_name_the_field(monkeypatch, tmp_path, env, field):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(
        env,
        {
            "SHANCHENG_WALK_SPEED_KM_H": "-2",
            "SHANCHENG_MQTT_URL": "http://x",
            "SHANCHENG_CITY": "../etc",
        }[env],
    )
    with pytest.raises(ValidationError) as info:
        Settings()
    assert field in str(info.value)
