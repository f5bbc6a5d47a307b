"""``export ardour`` and ``POST /exports/ardour``, checked by loading every session in real Ardour.

The clips are real library tracks made through the service: symbolic clips (stems, MIDI, known
tempo and sections; one of them a loop) at 44.1 kHz and a tone-engine clip at 16 kHz with
quotes, an ampersand, a colon and an accent in its prompt. Expected positions, lengths and
tempos are worked out here from the tracks (seconds, bars, the session rate), not read from the
exporter's plan, and then compared with what Ardour reports after loading the session.
"""

from __future__ import annotations

import io
import json
import math
import os
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pretty_midi
import pytest
import soundfile
from fastapi.testclient import TestClient

from dgx_music.api import create_app
from dgx_music.config import Settings, load_settings
from dgx_music.daw import export_ardour_session
from dgx_music.domain import GenerationRequest, Track
from dgx_music.service import GenerationService
from tests.conftest import TONE_PLUGIN
from tests.support.api import run_queue
from tests.support.ardour import ArdourView, Region, load_in_ardour
from tests.support.cli import run_cli
from tests.support.tone_engine import SAMPLE_RATE as TONE_RATE

pytestmark = pytest.mark.slow

SONG_PROMPT = "lofi hip hop, 90 bpm, D minor"
LOOP_PROMPT = "techno, 160 bpm"
TONE_PROMPT = 'Tone "A" & B: café'
SILENT = 1e-3
"""A channel whose peak stays under this (−60 dBFS) counts as silence."""


@dataclass(frozen=True)
class Library:
    settings: Settings
    data_dir: Path
    song: Track
    """Symbolic, 2 bars at 90 BPM: four stems and their MIDI."""
    loop: Track
    """Symbolic loop, 8 bars at 160 BPM: a verse and a chorus section."""
    tone: Track
    """Tone engine, 2 s at 16 kHz, no stems, no tempo of its own."""

    def service(self) -> GenerationService:
        return GenerationService(self.settings)


def run_queue_for(service: GenerationService, *requests: GenerationRequest) -> list[Track]:
    """Queue the requests, run them as a worker would, and return their tracks in order."""
    jobs = service.submit(list(requests)).jobs
    run_queue(service)
    return [service.track_for_job(job.id) for job in jobs]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    root = tmp_path_factory.mktemp("ardour-library")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("DGX_MUSIC_", "DGX_TEST_")):
                patch.delenv(name)
        patch.setenv("DGX_MUSIC_DATA_DIR", str(root / "data"))
        patch.setenv("DGX_MUSIC_ENGINE_PLUGINS", TONE_PLUGIN)
        settings = load_settings()
        service = GenerationService(settings)
        try:
            song, loop, tone = run_queue_for(
                service,
                service.build_request(SONG_PROMPT, engine="symbolic", bars=2, seed=11),
                service.build_request(LOOP_PROMPT, engine="symbolic", bars=8, loop=True, seed=5),
                service.build_request(TONE_PROMPT, engine="tone", duration=2.0, seed=3),
            )
        finally:
            service.close()
        assert song.stems and song.midi_path and loop.stems and not tone.stems
        assert (song.sample_rate, tone.sample_rate) == (44_100, TONE_RATE)
        yield Library(settings, root / "data", song, loop, tone)


def _export(library: Library, ids: list[str], out: Path, name: str | None = None) -> Path:
    service = library.service()
    try:
        return export_ardour_session(service, ids, out, name=name).folder
    finally:
        service.close()


def _bar_seconds(bpm: float) -> float:
    return 4 * 60.0 / bpm


def _tempo_of(track: Track) -> float:
    """What the session's grid should use: the symbolic engine's exact tempo, else 120."""
    if track.engine == "symbolic":
        return {SONG_PROMPT: 90.0, LOOP_PROMPT: 160.0}[track.prompt]
    return track.bpm if track.bpm is not None else 120.0


def _check_audio(view: ArdourView, region: Region, track: Track) -> None:
    """The region plays whole files at the session rate, none missing, none silent."""
    rate = view.sample_rate
    expected_frames = round(track.duration * rate)
    assert abs(region.length - expected_frames) <= 1, (region, expected_frames)
    assert region.start == 0
    assert region.peak > SILENT, region
    assert len(region.sources) == track.channels
    for _name, path, length in region.sources:
        assert Path(path).is_file(), f"{region.route}: {path} missing"
        info = soundfile.info(path)
        assert (info.samplerate, info.channels) == (rate, 1), (path, info)
        assert info.frames == length == region.length
        samples, _ = soundfile.read(path, dtype="float32")
        assert float(abs(samples).max()) > SILENT, f"{path} is silent"


def _check_common(view: ArdourView, folder: Path) -> ET.Element:
    assert view.name == folder.name
    root = ET.parse(folder / f"{folder.name}.ardour").getroot()
    assert root.get("version") == "7002"
    return root


def test_one_clip_session_opens_at_the_clips_own_rate(library: Library, tmp_path: Path) -> None:
    folder = _export(library, [library.tone.id], tmp_path / "out")
    for sub in ("analysis", "dead", "export", "peaks", "plugins", "externals"):
        assert (folder / sub).is_dir()
    assert (folder / "interchange" / folder.name / "midifiles").is_dir()
    view = load_in_ardour(folder, folder.name, tmp_path / "ardour")
    _check_common(view, folder)
    assert view.sample_rate == TONE_RATE
    region = view.region(TONE_PROMPT)
    assert region.position == 0 and region.bbt == "1|1|0"
    assert region.bpm == pytest.approx(_tempo_of(library.tone), abs=1e-3)
    _check_audio(view, region, library.tone)
    route = view.routes[TONE_PROMPT]
    assert TONE_PROMPT in route.comment and library.tone.id in route.comment
    assert route.audio_inputs == 2 and route.group == ""


def test_clips_in_sequence_with_stems_midi_resampling_sections_and_loop(
    library: Library, tmp_path: Path
) -> None:
    song, tone, loop = library.song, library.tone, library.loop
    folder = _export(library, [song.id, tone.id, loop.id], tmp_path / "out", name="Set one")
    view = load_in_ardour(folder, "Set one", tmp_path / "ardour")
    root = _check_common(view, folder)
    rate = 44_100
    assert view.sample_rate == rate  # two of three clips are at 44.1 kHz: the tone is resampled

    # Each clip starts on the first bar line after the one before, under its own tempo.
    starts_s, bar, at = [], 1, 0.0
    bars_at = []
    for track in (song, tone, loop):
        starts_s.append(at)
        bars_at.append(bar)
        bar_s = _bar_seconds(_tempo_of(track))
        bars = max(1, math.ceil(track.duration / bar_s - 1 / 16))
        at += bars * bar_s
        bar += bars
    starts = [math.ceil(s * rate - 1e-6) for s in starts_s]

    for part in song.stems:
        region = view.region(part)
        assert region.position == starts[0] and region.bbt == "1|1|0"
        assert region.bpm == pytest.approx(90.0, abs=1e-3)
        _check_audio(view, region, song)
        assert view.routes[part].group == view.routes["drums"].group != ""
        assert SONG_PROMPT in view.routes[part].comment
    tone_region = view.region(TONE_PROMPT)
    assert abs(tone_region.position - starts[1]) <= 1 and tone_region.bbt == f"{bars_at[1]}|1|0"
    assert tone_region.bpm == pytest.approx(_tempo_of(tone), abs=1e-3)
    _check_audio(view, tone_region, tone)
    for part in loop.stems:
        region = view.region(f"{part} 2")  # the second "drums" track is "drums 2"
        assert abs(region.position - starts[2]) <= 1 and region.bbt == f"{bars_at[2]}|1|0"
        assert region.bpm == pytest.approx(160.0, abs=1e-3) and region.meter == "4/4"
        _check_audio(view, region, loop)

    # MIDI: one track per instrument, every note of the engine's file, on the clip's bar line.
    assert song.midi_path is not None
    score = pretty_midi.PrettyMIDI(str(library.data_dir / "library" / song.midi_path))
    for instrument in score.instruments:
        region = view.region(f"{instrument.name} MIDI")
        assert region.kind == "midi" and region.position == starts[0]
        assert region.notes == len(instrument.notes) > 0
        assert Path(region.sources[0][1]).is_file()
    assert (folder / Path(song.midi_path).name).is_file()  # the .mid beside the session

    # Markers at the loop's sections, the loop range over the loop clip.
    marks = view.marks()
    chorus_at = starts[2] + round(4 * _bar_seconds(160.0) * rate)
    assert abs(marks["3: verse"] - starts[2]) <= 1 and abs(marks["3: chorus"] - chorus_at) <= 1
    loops = [loc for loc in view.locations if loc.flags == "loop"]
    loop_region = view.region("drums 2")
    assert len(loops) == 1
    assert (loops[0].start, loops[0].end) == (
        loop_region.position,
        loop_region.position + loop_region.length,
    )

    # The prompts and how to make each clip again, in the session's metadata.
    description = root.findtext("Metadata/description") or ""
    for track in (song, tone, loop):
        assert track.prompt in description and track.id in description
    assert description.count("dgx-music generate") == 3
    assert root.findtext("Metadata/title") == "Set one"


def test_stacked_session_from_the_api_zip(library: Library, tmp_path: Path) -> None:
    service = library.service()
    try:
        with TestClient(create_app(service=service)) as client:
            body = {
                "track_ids": [library.loop.id, library.song.id, library.tone.id],
                "stack": True,
                "name": "Stacked",
            }
            answer = client.post("/api/v1/exports/ardour", json=body)
    finally:
        service.close()
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"].startswith('attachment; filename="Stacked.zip"')
    with zipfile.ZipFile(io.BytesIO(answer.content)) as bundle:
        names = bundle.namelist()
        assert "Stacked/Stacked.ardour" in names
        assert "Stacked/interchange/Stacked/midifiles/" in names and "Stacked/peaks/" in names
        assert all(name.startswith("Stacked/") for name in names)
        bundle.extractall(tmp_path / "unzipped")
    assert not list((library.data_dir / "cache" / "ardour").iterdir())  # work folder removed
    folder = tmp_path / "unzipped" / "Stacked"
    view = load_in_ardour(folder, "Stacked", tmp_path / "ardour")
    assert view.sample_rate == 44_100
    audio = [r for r in view.regions if r.kind == "audio"]
    assert len(audio) == len(library.loop.stems) + len(library.song.stems) + 1
    for region in view.regions:
        assert region.position == 0 and region.bbt == "1|1|0"
        assert region.bpm == pytest.approx(160.0, abs=1e-3)  # the first clip's tempo


def test_unusual_names_survive_through_the_cli(library: Library, tmp_path: Path) -> None:
    name = 'Café "Late" & <Night> 夜/1'
    out = tmp_path / "out dir"
    env = {"DGX_MUSIC_DATA_DIR": str(library.data_dir)}
    done = run_cli(
        "export", "ardour", library.tone.id[:8], "--out", str(out), "--name", name, env=env
    )
    assert done.returncode == 0, done.stderr
    folder = out / "Café _Late_ & _Night_ 夜_1"
    assert [p.name for p in out.iterdir()] == [folder.name]
    assert str(folder / f"{folder.name}.ardour") in done.stdout and TONE_PROMPT in done.stdout
    view = load_in_ardour(folder, folder.name, tmp_path / "ardour")
    root = _check_common(view, folder)
    assert root.findtext("Metadata/title") == name
    region = view.region(TONE_PROMPT)
    _check_audio(view, region, library.tone)
    assert f'"{TONE_PROMPT}"' in view.routes[TONE_PROMPT].comment


def test_bad_input_exits_2_and_leaves_nothing(library: Library, tmp_path: Path) -> None:
    env = {"DGX_MUSIC_DATA_DIR": str(library.data_dir)}
    out = tmp_path / "out"
    song = library.song.id

    def refused(*args: str, message: str) -> None:
        before = sorted(p.name for p in tmp_path.rglob("*"))
        done = run_cli("export", "ardour", *args, env=env)
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
        assert sorted(p.name for p in tmp_path.rglob("*")) == before

    refused(song, "nope", "--out", str(out), message="no track with id 'nope'")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    refused(song, "--out", str(blocker / "sub"), message="is not a folder")
    refused(song, "--out", str(out), "--name", "\x01", message="no usable characters")
    refused(song, "--out", str(out), "--sample-rate", "12345", message="sample rate 12345")

    first = run_cli("export", "ardour", song, "--out", str(out), "--name", "take", env=env)
    assert first.returncode == 0, first.stderr
    refused(song, "--out", str(out), "--name", "take", message="pass --force")
    (out / "take" / "my notes.txt").write_text("mine")
    again = run_cli(
        "export",
        "ardour",
        library.tone.id,
        "--out",
        str(out),
        "--name",
        "take",
        "--force",
        "--json",
        env=env,
    )
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["session"] == str(out / "take" / "take.ardour")
    assert [t["name"] for t in summary["tracks"]] == [TONE_PROMPT]
    assert not (out / "take" / "my notes.txt").exists()  # replaced whole, not merged
    assert [p.name for p in out.iterdir()] == ["take"]
    (out / "not a session").mkdir()
    refused(
        song,
        "--out",
        str(out),
        "--name",
        "not a session",
        "--force",
        message="not an Ardour session",
    )


def test_a_failure_while_writing_leaves_nothing(tmp_path: Path) -> None:
    """A clip whose audio turns out unreadable fails the export half-way: the partial session
    and the output folder the export created are removed."""
    done = run_cli("generate", "x", "--engine", "tone", "--duration", "1", "--json")
    assert done.returncode == 0, done.stderr
    track = json.loads(done.stdout)["track"]
    Path(track["absolute_path"]).write_bytes(b"RIFF but not audio")
    out = tmp_path / "new" / "deeper"
    failed = run_cli("export", "ardour", track["id"], "--out", str(out))
    assert failed.returncode == 2 and "cannot read audio" in failed.stderr, failed.stderr
    assert not (tmp_path / "new").exists()


def test_api_errors_are_problems(library: Library) -> None:
    service = library.service()
    try:
        with TestClient(create_app(service=service)) as client:
            url = "/api/v1/exports/ardour"
            cases = [
                ({"track_ids": ["nope"]}, 404),
                ({"track_ids": [library.tone.id], "name": "\x00"}, 400),
                ({"track_ids": []}, 422),
                ({"track_ids": [library.tone.id], "sample_rate": 12345}, 422),
            ]
            for body, status in cases:
                answer = client.post(url, json=body)
                assert answer.status_code == status, answer.text
                assert answer.headers["content-type"].startswith("application/problem+json")
    finally:
        service.close()
    assert not list((library.data_dir / "cache" / "ardour").glob("*"))


def test_the_checks_catch_a_file_ardour_silently_replaces_with_silence(
    library: Library, tmp_path: Path
) -> None:
    """Ardour loads a session whose audio file is gone without an error or a warning (it plays
    silence instead), so the audio checks must catch it themselves."""
    folder = _export(library, [library.tone.id], tmp_path / "out")
    audio = folder / "interchange" / folder.name / "audiofiles"
    victim = sorted(audio.iterdir())[0]
    victim.unlink()
    view = load_in_ardour(folder, folder.name, tmp_path / "ardour")  # loads "fine"
    with pytest.raises(AssertionError, match="missing"):
        _check_audio(view, view.region(TONE_PROMPT), library.tone)
