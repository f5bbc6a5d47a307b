"""API keys through the real app: off, on from the setting or the keys file, the 401s, the
open routes, the schema, the `keys` commands and `serve`'s refusal to bind without keys."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dgx_music.api_keys import add_key, remove_key
from dgx_music.cli.main import app as cli
from dgx_music.cli.serve import refuse_unsafe_bind
from dgx_music.config import SettingsError, load_settings
from tests.support.access import GENERATE, app_client, bearer
from tests.support.api import assert_problem

KEY = "s3cret-studio-key-0123456789"
OTHER = "another-studio-key-9876543210"
GUARDED = [
    ("POST", "/api/v1/generate"),
    ("GET", "/api/v1/jobs"),
    ("GET", "/api/v1/tracks"),
    ("GET", "/api/v1/engines"),
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/metrics"),
    ("GET", "/api/v1/files/anything.wav"),
    ("GET", "/api/v1/history"),
]
OPEN = ["/api/v1/health", "/api/v1/health/live", "/api/v1/health/ready", "/openapi.json", "/docs"]


def test_without_keys_nothing_asks_for_one(monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(monkeypatch) as (client, _):
        assert client.post("/api/v1/generate", json=GENERATE).status_code == 202
        assert client.get("/api/v1/jobs").status_code == 200
        assert client.get("/api/v1/metrics").status_code == 200
        operation = client.get("/openapi.json").json()["paths"]["/api/v1/jobs"]["get"]
        assert "security" not in operation


def test_with_keys_every_route_but_health_and_docs_needs_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with app_client(monkeypatch, api_keys=f"{KEY},{OTHER}") as (client, _):
        for method, path in GUARDED:
            missing = assert_problem(client.request(method, path), 401)
            assert missing["type"].endswith(":unauthorized") and "Bearer" in missing["detail"]
        answer = client.get("/api/v1/jobs", headers=bearer("wrong-key-but-long-enough"))
        assert_problem(answer, 401)
        assert answer.headers["www-authenticate"] == (
            'Bearer realm="dgx-music", error="invalid_token"'
        )
        bare = client.get("/api/v1/jobs")
        assert bare.headers["www-authenticate"] == 'Bearer realm="dgx-music"'
        for header in ("Basic " + KEY, KEY, "Bearer", "Bearer  "):
            assert_problem(client.get("/api/v1/jobs", headers={"Authorization": header}), 401)

        for path in OPEN:
            assert client.get(path).status_code == 200, path
        assert client.get("/api/v1/jobs", headers=bearer(KEY)).status_code == 200
        assert client.get("/api/v1/jobs", headers={"Authorization": f"bearer {OTHER}"}).is_success
        created = client.post("/api/v1/generate", json=GENERATE, headers=bearer(KEY))
        assert created.status_code == 202
        assert client.get(created.headers["location"], headers=bearer(OTHER)).status_code == 200


def test_a_key_from_the_keys_file_works_and_its_removal_takes_effect_at_once(
    monkeypatch: pytest.MonkeyPatch, isolated_environment: Path
) -> None:
    keys_file = isolated_environment / "api-keys"
    alice = add_key(keys_file, "alice")
    with app_client(monkeypatch) as (client, _):
        assert client.get("/api/v1/jobs", headers=bearer(alice)).status_code == 200
        assert_problem(client.get("/api/v1/jobs"), 401)
        bob = add_key(keys_file, "bob")  # no restart
        assert client.get("/api/v1/jobs", headers=bearer(bob)).status_code == 200
        remove_key(keys_file, "alice")
        assert_problem(client.get("/api/v1/jobs", headers=bearer(alice)), 401)
        remove_key(keys_file, "bob")  # the last key: the API locks rather than opens
        assert_problem(client.get("/api/v1/jobs"), 401)
        assert client.get("/api/v1/health/live").status_code == 200


def test_the_schema_declares_the_bearer_scheme_where_it_applies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with app_client(monkeypatch, api_keys=KEY) as (client, _):
        schema = client.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            if path.startswith("/api/v1/health"):
                assert "security" not in operation and "401" not in operation["responses"]
            else:
                assert operation["security"] == [{"bearerAuth": []}], path
                assert "401" in operation["responses"], path
    assert "429" in schema["paths"]["/api/v1/generate"]["post"]["responses"]


def test_keys_given_in_settings_are_held_only_as_digests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DGX_MUSIC_API_KEYS", f'["{KEY}", "{OTHER}"]')
    settings = load_settings()
    assert len(settings.api_keys) == 2
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump())
    monkeypatch.setenv("DGX_MUSIC_API_KEYS", "short")
    with pytest.raises(SettingsError, match="DGX_MUSIC_API_KEYS: an API key must have at least"):
        load_settings()
    monkeypatch.setenv("DGX_MUSIC_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1, nonsense")
    monkeypatch.setenv("DGX_MUSIC_API_KEYS", KEY)
    with pytest.raises(SettingsError, match="'nonsense' is not an IP address"):
        load_settings()


def test_keys_commands_add_list_and_remove(isolated_environment: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(cli, ["keys", "add", "studio-laptop"])
    assert added.exit_code == 0, added.output
    key = added.stdout.strip()
    assert key.startswith("dgxm_") and "\n" not in key  # stdout holds the key alone
    assert "shown only now" in added.stderr
    keys_file = isolated_environment / "api-keys"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    assert key not in keys_file.read_text() and "studio-laptop:" in keys_file.read_text()

    assert runner.invoke(cli, ["keys", "add", "render-box"]).exit_code == 0
    again = runner.invoke(cli, ["keys", "add", "studio-laptop"])
    assert again.exit_code == 2 and "exists" in again.stderr
    bad = runner.invoke(cli, ["keys", "add", "no spaces please"])
    assert bad.exit_code == 2 and "not a usable key name" in bad.stderr
    listed = runner.invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0 and listed.stdout.split() == ["studio-laptop", "render-box"]

    removed = runner.invoke(cli, ["keys", "rm", "studio-laptop"])
    assert removed.exit_code == 0
    assert runner.invoke(cli, ["keys", "list"]).stdout.split() == ["render-box"]
    missing = runner.invoke(cli, ["keys", "rm", "studio-laptop"])
    assert missing.exit_code == 2 and "no key named 'studio-laptop'" in missing.stderr
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600


def test_serve_binds_beyond_loopback_only_with_keys_or_explicit_consent(
    monkeypatch: pytest.MonkeyPatch, isolated_environment: Path
) -> None:
    refusal = refuse_unsafe_bind("0.0.0.0", load_settings())
    assert refusal is not None and "dgx-music keys add" in refusal
    assert refuse_unsafe_bind("127.0.0.1", load_settings()) is None

    refused = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert refused.exit_code == 2
    assert "refusing to listen on 0.0.0.0 without API keys" in refused.stderr

    add_key(isolated_environment / "api-keys", "studio")
    assert refuse_unsafe_bind("0.0.0.0", load_settings()) is None
    assert refuse_unsafe_bind("::", load_settings()) is None
    remove_key(isolated_environment / "api-keys", "studio")
    monkeypatch.setenv("DGX_MUSIC_API_KEYS", KEY)
    assert refuse_unsafe_bind("192.168.1.20", load_settings()) is None


def test_the_command_line_loads_no_web_stack_for_help_or_keys() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from dgx_music.cli.main import app\n"
        "for args in (['--help'], ['keys', 'list'], ['keys', 'add', 'probe']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0, args\n"
        "web = ('fastapi', 'starlette', 'prometheus_client')\n"
        "print(sorted(name for name in web if name in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
