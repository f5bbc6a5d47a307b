"""``dgx-music tracks list`` filters and sorts: real tracks from the symbolic engine, real CLI.

The symbolic engine honours ``--bpm`` and ``--key``, and a fixed seed makes the measured tempo
and key the same on every run (without it, a 4 s render's mode was once measured wrong), so
every filter's answer can be checked id for id, in order.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dgx_music.keys import compatible_keys
from dgx_music.storage.database import SCHEMA_REVISION, Database
from tests.support.cli import run_cli

SPECS = [  # (prompt, bpm, key), made in this order
    ("techno one", 128, "A minor"),
    ("house two", 122, "C major"),
    ("Dub three", 90, "E minor"),
    ("ambient four", 70, "F# major"),
    ("techno five", 140, "D minor"),
]


def _list(*args: str) -> list[str]:
    done = run_cli("tracks", "list", *args, "--json")
    assert done.returncode == 0, done.stderr
    return [track["id"] for track in json.loads(done.stdout)]


@pytest.fixture
def made(isolated_environment: Path) -> list[dict[str, Any]]:
    tracks = []
    for prompt, bpm, key in SPECS:
        done = run_cli(
            "generate", prompt, "-e", "symbolic", "--bpm", str(bpm), "--key", key, "-d", "8",
            "--seed", "1", "--json",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        tracks.append(json.loads(done.stdout)["track"])
    return tracks


def test_every_filter_and_sort_returns_exactly_the_expected_tracks(
    made: list[dict[str, Any]],
) -> None:
    ids = [track["id"] for track in made]
    one, two, three, four, five = ids
    newest_first = ids[::-1]
    assert [t["key"] for t in made] == [spec[2] for spec in SPECS]

    assert _list() == newest_first
    assert _list("--sort", "created", "--asc") == ids
    assert _list("--limit", "2") == [five, four]
    assert _list("--search", "TECHNO") == [five, one]
    assert _list("--bpm-min", "100", "--bpm-max", "130") == [two, one]
    assert _list("--bpm-min", "125") == [five, one]  # measured, so not exactly 128
    assert _list("--sort", "bpm") == [four, three, two, one, five]
    assert _list("--sort", "bpm", "--desc") == [five, one, two, three, four]
    assert _list("--bpm-min", "80", "--sort", "bpm") == [three, two, one, five]
    assert _list("--key", "Am") == [one]
    assert _list("--key", "A minor", "--compatible") == [five, three, two, one]
    assert _list("--key", "Gb", "--compatible") == [four]
    assert _list("--sort", "key") == [one, two, five, three, four]  # alphabetical key names
    assert _list("--sort", "prompt") == [three, four, two, five, one]  # case-sensitive order
    assert _list("--engine", "symbolic") == newest_first
    assert _list("--engine", "tone") == []
    assert _list("--model", "no-such-model") == []
    assert _list("--since", "2000-01-01", "--until", "2999-12-31") == newest_first
    assert _list("--until", "2000-01-01") == []
    assert _list("--since", made[2]["created_at"]) == [five, four, three]
    assert _list("--until", made[1]["created_at"]) == [two, one]
    assert _list("--duration-min", "1", "--duration-max", "60", "--key", "D minor") == [five]
    assert _list("--duration-min", "100") == []
    assert _list("--sort", "duration") == sorted(ids, key=lambda i: (_dur(made, i), i))
    assert _list("--sort", "lufs", "--asc") == sorted(ids, key=lambda i: (_lufs(made, i), i))


def _dur(made: list[dict[str, Any]], track_id: str) -> float:
    return float(next(t["duration"] for t in made if t["id"] == track_id))


def _lufs(made: list[dict[str, Any]], track_id: str) -> float:
    return float(next(t["lufs"] for t in made if t["id"] == track_id))


@pytest.mark.parametrize(
    "args",
    [
        ("--bpm-min", "130", "--bpm-max", "120"),
        ("--duration-min", "9", "--duration-max", "3"),
        ("--sort", "loudness"),
        ("--since", "yesterday"),
        ("--until", "2026-13-01"),
        ("--key", "H minor"),
        ("--compatible",),
    ],
)
def test_bad_values_exit_2_with_one_line(args: tuple[str, ...]) -> None:
    done = run_cli("tracks", "list", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: ")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("A minor", ("A minor", "C major", "D minor", "E minor")),
        ("C major", ("C major", "A minor", "F major", "G major")),
        ("F# major", ("F# major", "D# minor", "B major", "C# major")),
        ("B minor", ("B minor", "D major", "E minor", "F# minor")),  # a fifth up wraps to F#
        ("C# minor", ("C# minor", "E major", "F# minor", "G# minor")),
        ("D# major", ("D# major", "C minor", "G# major", "A# major")),
    ],
)
def test_compatible_keys_are_the_camelot_neighbours(key: str, expected: tuple[str, ...]) -> None:
    assert compatible_keys(key) == expected


def test_compatible_keys_refuses_non_canonical_input() -> None:
    with pytest.raises(ValueError, match="canonical"):
        compatible_keys("Am")


def test_a_0001_database_upgrades_with_the_indexes(tmp_path: Path) -> None:
    from tests.support.migrations import migrate_to

    path = tmp_path / "old.db"
    db = Database(f"sqlite:///{path}")
    migrate_to(db, "0001")
    assert db.current_revision() == "0001"
    assert "ix_tracks_bpm" not in _indexes(path)

    assert db.upgrade() == "0001"
    assert db.current_revision() == SCHEMA_REVISION
    expected = {"ix_tracks_created", "ix_tracks_bpm", "ix_tracks_key", "ix_tracks_engine"}
    expected |= {"ix_tracks_duration", "ix_tracks_lufs", "ix_tracks_prompt"}
    assert expected <= _indexes(path)

    migrate_to(db, "0001", down=True)
    assert _indexes(path) & expected == {"ix_tracks_created"}
    db.dispose()


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as raw:
        return {row[1] for row in raw.execute("PRAGMA index_list(tracks)")}


def test_search_text_is_literal_and_ignores_case() -> None:
    """LIKE's wildcards in the search text are matched as themselves, not as wildcards."""
    from tests.support.api import api_client, make_track

    with api_client() as (client, service):
        made = {
            prompt: make_track(client, service, prompt=prompt)["id"]
            for prompt in ("100% analog", "1000 analog", "lo_fi tape", "lofi tape", "a/b test")
        }

        def found(text: str) -> set[str]:
            answer = client.get("/api/v1/tracks", params={"search": text})
            assert answer.status_code == 200, answer.text
            return {item["id"] for item in answer.json()["items"]}

        assert found("100%") == {made["100% analog"]}
        assert found("lo_fi") == {made["lo_fi tape"]}
        assert found("A/B") == {made["a/b test"]}
        assert found("ANALOG") == {made["100% analog"], made["1000 analog"]}
