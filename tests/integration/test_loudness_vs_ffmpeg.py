"""analyse()'s integrated loudness and true peak agree with ffmpeg's ebur128 filter.

On music the project did not make (fluidsynth renders of the evaluation set in
benchmarks/evalset.py, one short piece per style) and on files the project writes: a piece
loudness-normalised by normalise_loudness, kept as a float WAV master (write_audio) and exported
from it by the project's own export path (``dgx_music.audio.encode.export_file``, as the
``export`` command does) to 16- and 24-bit WAV, FLAC, FLAC resampled to 48 kHz, MP3 and Opus.
Every exported file is decoded with soundfile (libsndfile reads MP3 and Opus too) and measured
by analyse(); ffmpeg measures the same file. Needs the ``fluidsynth`` CLI, FluidR3_GM.sf2 and
``ffmpeg``; the test command installs them, so their absence is a failure, not a skip.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import soundfile as sf
from benchmarks.evalset import SOUNDFONT, STYLES, build_evalset, ffmpeg_loudness

from dgx_music.audio.analysis import analyse
from dgx_music.audio.encode import EXTENSIONS, export_file
from dgx_music.audio.export import write_audio
from dgx_music.audio.loudness import normalise_loudness
from dgx_music.domain import AudioClip

LUFS_TOLERANCE = 0.2  # LU; ffmpeg prints one decimal
TP_TOLERANCE = 0.3  # dB
# (name, format, bit depth, sample rate) of the exports checked; None = export_file's default.
EXPORTS = (
    ("wav16", "wav", "16", None),
    ("wav24", "wav", "24", None),
    ("flac", "flac", "24", None),
    ("flac48k", "flac", "24", 48_000),
    ("mp3", "mp3", None, None),
    ("opus", "opus", None, None),  # always 48 kHz
)


def _require_tools() -> None:
    missing = [tool for tool in ("fluidsynth", "ffmpeg") if shutil.which(tool) is None]
    if not SOUNDFONT.exists():
        missing.append(f"{SOUNDFONT} (Debian package fluid-soundfont-gm)")
    if missing:
        pytest.fail(
            "this test needs " + ", ".join(missing) + "; install them "
            "(apt-get install fluidsynth fluid-soundfont-gm ffmpeg)",
            pytrace=False,
        )


def _ours(path: Path) -> tuple[float, float]:
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    measured = analyse(AudioClip(samples, rate))
    return measured.lufs, measured.true_peak


def _compare(paths: list[Path]) -> list[str]:
    problems = []
    for path in paths:
        lufs, peak = _ours(path)
        ref_lufs, ref_peak = ffmpeg_loudness(path)
        if abs(lufs - ref_lufs) > LUFS_TOLERANCE or abs(peak - ref_peak) > TP_TOLERANCE:
            problems.append(
                f"{path.name}: ours {lufs:.2f} LUFS / {peak:.2f} dBTP, "
                f"ffmpeg {ref_lufs:.1f} LUFS / {ref_peak:.1f} dBTP"
            )
    return problems


def test_loudness_and_true_peak_match_ffmpeg(tmp_path: Path) -> None:
    _require_tools()
    pieces = build_evalset(tmp_path / "set", count_per_style=1, duration=12.0, seed=7, workers=2)
    assert [p.style for p in pieces] == list(STYLES)

    # Files as the project exports them: normalised to -14 LUFS / -1 dBTP, a float WAV master,
    # then export_file to each format.
    samples, rate = sf.read(pieces[0].wav, dtype="float32", always_2d=True)
    normalised = normalise_loudness(AudioClip(samples, rate), -14.0, -1.0).clip
    master = write_audio(tmp_path / "master.wav", normalised, "wav", "32f")
    exported = []
    for name, fmt, depth, sample_rate in EXPORTS:
        target = tmp_path / f"export-{name}{EXTENSIONS[fmt]}"
        result = export_file(master, target, fmt, bit_depth=depth, sample_rate=sample_rate)
        assert sf.info(result.path).samplerate == result.sample_rate
        exported.append(result.path)

    problems = _compare([p.wav for p in pieces] + exported)
    assert not problems, (
        f"loudness disagrees with ffmpeg ebur128 beyond {LUFS_TOLERANCE} LU / {TP_TOLERANCE} dB:\n"
        + "\n".join(problems)
    )
