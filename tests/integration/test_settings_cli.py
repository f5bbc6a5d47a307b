"""Settings: environment, TOML file, defaults, and refusal of invalid values at start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli


def test_config_prints_each_setting_with_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = tmp_path / "config" / "dgx-music" / "config.toml"
    config_file.parent.mkdir(parents=True)
    config_file.write_text('loudness_lufs = -14.0\nbit_depth = "16"\n')
    monkeypatch.setenv("DGX_MUSIC_FADE_OUT", "1.5")
    result = run_cli("config", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["loudness_lufs"] == {"value": -14.0, "source": f"file {config_file}"}
    assert shown["bit_depth"]["value"] == "16"
    assert shown["fade_out"] == {"value": 1.5, "source": "env DGX_MUSIC_FADE_OUT"}
    assert shown["lease_seconds"] == {"value": 60.0, "source": "default"}
    table = run_cli("config")
    assert "DGX_MUSIC_FADE_OUT" in table.stdout


def test_data_dir_defaults_to_xdg_data_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DGX_MUSIC_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    shown = json.loads(run_cli("config", "--json").stdout)
    assert shown["data_dir"]["value"] == str(tmp_path / "xdg" / "dgx-music")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DGX_MUSIC_LEASE_SECONDS", "soon"),
        ("DGX_MUSIC_LOUDNESS_LUFS", "3"),
        ("DGX_MUSIC_BIT_DEPTH", "12"),
        ("DGX_MUSIC_NO_SUCH_SETTING", "1"),
    ],
)
def test_invalid_setting_stops_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    result = run_cli("jobs", "list")
    if name == "DGX_MUSIC_NO_SUCH_SETTING":
        # Unknown environment variables are ignored (the prefix is shared with the shell), but
        # an unknown key in the config file is not: see the next test.
        assert result.returncode == 0
        return
    assert result.returncode == 2
    assert name in result.stderr and "Traceback" not in result.stderr


def test_unknown_key_in_config_file_is_refused(tmp_path: Path) -> None:
    config_file = tmp_path / "config" / "dgx-music" / "config.toml"
    config_file.parent.mkdir(parents=True)
    config_file.write_text("lowdness = -14\n")
    result = run_cli("config")
    assert result.returncode == 2 and "LOWDNESS" in result.stderr.upper()


def test_heartbeat_must_fit_in_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DGX_MUSIC_HEARTBEAT_SECONDS", "90")
    result = run_cli("jobs", "list")
    assert result.returncode == 2 and "heartbeat_seconds" in result.stderr
