"""``dgx-music library check``: real tracks from the tone engine, then faults a crash or a
careless hand would leave, found and (where safe) repaired."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from tests.support.cli import run_cli


def make_track(prompt: str) -> dict[str, Any]:
    result = run_cli("generate", prompt, "--engine", "tone", "--duration", "1", "--json")
    assert result.returncode == 0, result.stderr
    track: dict[str, Any] = json.loads(result.stdout)["track"]
    return track


def check(*flags: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("library", "check", "--json", *flags)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def kinds(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["kind"], f["path"]) for f in report["findings"]}


def sidecar(path: str) -> str:
    return path.rsplit(".", 1)[0] + ".json"


def test_clean_library_passes(isolated_environment: Path) -> None:
    make_track("calm pad")
    make_track("busy drums")
    result = run_cli("library", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "library OK: 2 tracks, 4 files"


def test_empty_library_passes(isolated_environment: Path) -> None:
    result = run_cli("library", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "library OK: 0 tracks, 0 files"


def test_bad_option_is_bad_input(isolated_environment: Path) -> None:
    assert run_cli("library", "check", "--fix").returncode == 2


def test_faults_are_reported_then_repaired(isolated_environment: Path) -> None:
    root = isolated_environment / "library"
    gone, unlisted, corrupt, fine = (make_track(p) for p in ("gone", "unlisted", "bad", "fine"))

    # The audio of one track vanished; its sidecar is still there.
    (root / gone["path"]).unlink()
    # A crash inside `tracks delete` (row removed, files not yet): the sidecar can restore it.
    with sqlite3.connect(isolated_environment / "dgx-music.db") as conn:
        conn.execute("DELETE FROM tracks WHERE id = ?", (unlisted["id"],))
    conn.close()
    # A stray file no row or sidecar explains.
    stray = Path(fine["path"]).parent / "stray-0badf00d.wav"
    (root / stray).write_bytes((root / fine["path"]).read_bytes())
    # Same size, different bytes.
    audio = root / corrupt["path"]
    data = bytearray(audio.read_bytes())
    data[-100:] = bytes(100)
    audio.write_bytes(bytes(data))
    # Staging files from an interrupted write two hours ago, and from one under way now.
    day = root / Path(fine["path"]).parent
    stale = day / ".old-00000000.wav.staging"
    fresh = day / ".new-11111111.wav.staging"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))

    code, report = check()
    assert code == 1
    assert kinds(report) == {
        ("missing-audio", gone["path"]),
        ("orphan", unlisted["path"]),
        ("orphan", sidecar(unlisted["path"])),
        ("orphan", stray.as_posix()),
        ("sha-mismatch", corrupt["path"]),
        ("stale-temp", stale.relative_to(root).as_posix()),
    }
    assert all(f["action"] is None for f in report["findings"])
    assert report["tracks"] == 3

    quick_code, quick = check("--quick")
    assert quick_code == 1
    assert ("sha-mismatch", corrupt["path"]) not in kinds(quick)

    code, repaired = check("--repair")
    assert code == 1
    assert repaired["unresolved"] == 1
    actions = {f["path"]: f["action"] for f in repaired["findings"]}
    assert actions[corrupt["path"]] is None
    assert actions[unlisted["path"]] == "restored the row from its sidecar"
    assert actions[stray.as_posix()] == f"moved to lost+found/{stray.as_posix()}"

    assert not (root / sidecar(gone["path"])).exists()
    assert run_cli("tracks", "show", gone["id"]).returncode == 2
    assert run_cli("tracks", "show", unlisted["id"]).returncode == 0
    assert (root / "lost+found" / stray).is_file()
    assert not stale.exists()
    assert fresh.exists()
    assert audio.read_bytes() == bytes(data)

    code, after = check()
    assert code == 1
    assert kinds(after) == {("sha-mismatch", corrupt["path"])}
    assert after["tracks"] == 3


def test_text_output_lists_problems(isolated_environment: Path) -> None:
    root = isolated_environment / "library"
    track = make_track("short")
    (root / track["path"]).unlink()
    result = run_cli("library", "check")
    assert result.returncode == 1
    assert re.search(rf"missing-audio\s+{re.escape(track['path'])}", result.stdout)
    assert "1 problem, 0 repaired, 1 left" in result.stdout
    repaired = run_cli("library", "check", "--repair")
    assert repaired.returncode == 0, repaired.stdout
    assert "1 repaired, 0 left" in repaired.stdout
    assert run_cli("library", "check").stdout.strip() == "library OK: 0 tracks, 0 files"
