from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dgx_music.library import Library, StagedFiles, copy_atomic, slugify


@pytest.mark.parametrize(
    ("prompt", "slug"),
    [
        ("lofi hip hop, dusty piano, 80 bpm, A minor", "lofi-hip-hop-dusty-piano-80-bpm-a-minor"),
        ("Café Ünïcode ✨ beats", "cafe-unicode-beats"),
        ("../../etc/passwd", "etc-passwd"),
        ("✨✨✨", "clip"),
        ("x" * 100, "x" * 48),
    ],
)
def test_slugify_is_safe_and_readable(prompt: str, slug: str) -> None:
    assert slugify(prompt) == slug


def test_track_base_is_dated_and_carries_the_job_id(tmp_path: Path) -> None:
    library = Library(tmp_path)
    when = datetime(2026, 3, 4, tzinfo=UTC)
    base = library.track_base("Trap beat", "0123456789abcdef", when)
    assert str(base) == "2026/03/04/trap-beat-01234567"


def test_absolute_refuses_paths_outside_the_library(tmp_path: Path) -> None:
    library = Library(tmp_path / "lib")
    with pytest.raises(ValueError, match="outside"):
        library.absolute("../secrets.txt")


def test_staged_files_appear_only_when_published(tmp_path: Path) -> None:
    staged = StagedFiles()
    final = tmp_path / "clip.wav"
    staging = staged.add(final)
    staging.write_bytes(b"data")
    assert staging.name.startswith(".") and not final.exists()
    staged.publish()
    assert final.read_bytes() == b"data" and not staging.exists()


def test_discarded_staging_leaves_nothing(tmp_path: Path) -> None:
    staged = StagedFiles()
    stems = tmp_path / "clip.stems"
    stems.mkdir()
    staged.add(stems / "bass.wav").write_bytes(b"x")
    staged.discard()
    assert list(tmp_path.iterdir()) == []


def test_delete_files_prunes_empty_date_folders(tmp_path: Path) -> None:
    library = Library(tmp_path)
    keep = tmp_path / "2026/01/01/a.wav"
    gone = tmp_path / "2026/01/02/b.wav"
    for path in (keep, gone):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x")
    library.delete_files(["2026/01/02/b.wav"])
    assert keep.exists() and not (tmp_path / "2026/01/02").exists()
    assert tmp_path.exists()


def test_copy_atomic_into_a_directory(tmp_path: Path) -> None:
    source = tmp_path / "clip.wav"
    source.write_bytes(b"audio")
    (tmp_path / "out").mkdir()
    copied = copy_atomic(source, tmp_path / "out")
    assert copied == tmp_path / "out" / "clip.wav" and copied.read_bytes() == b"audio"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["clip.wav"]
