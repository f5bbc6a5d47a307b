"""Measuring any audio file a client sends: tempo, key, loudness, true peak, duration."""

from __future__ import annotations

import logging
import math
import re
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from dgx_music.api.problems import ApiProblem, problems
from dgx_music.api.schemas import AnalysisOut

router = APIRouter(tags=["analysis"])

MAX_SECONDS = 10 * 60
MAX_SAMPLES = MAX_SECONDS * 48_000 * 2
"""Longest audio analysed, and most samples (all channels) decoded: the size limit alone would
let a compressed upload (FLAC, MP3) decode to gigabytes."""
RATES = (8_000, 384_000)
"""Sample rates the analysis is meant for, in Hz."""

log = logging.getLogger(__name__)
UNREADABLE = "not audio this server can read (WAV, FLAC, Ogg Vorbis/Opus, MP3 …)"
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


@router.post("/analyze", responses=problems(400, 413, 422), response_model=AnalysisOut)
def analyze(
    file: Annotated[UploadFile, File(description="WAV, FLAC, Ogg, MP3 … (size-limited)")],
) -> AnalysisOut:
    """Duration, BPM and key (each with a confidence), integrated LUFS and true peak."""
    import shutil

    import soundfile

    from dgx_music.audio import AudioFileError, analyse, read_audio

    suffix = Path(file.filename or "").suffix.lower()
    with tempfile.TemporaryDirectory(prefix="dgx-music-analyze-") as folder:
        # The client's file name contributes at most a vetted suffix: libsndfile reads the
        # format from the content, the suffix only helps it with headerless formats.
        path = Path(folder) / ("upload" + (suffix if _SUFFIX.match(suffix) else ""))
        with path.open("wb") as handle:
            shutil.copyfileobj(file.file, handle)
        try:
            info = soundfile.info(str(path))
            _check_size(info.frames, info.samplerate, info.channels)
            clip = read_audio(path)
        except (soundfile.SoundFileError, RuntimeError, OSError, AudioFileError):
            # libsndfile's message names the temporary file, which is no business of the client
            raise ApiProblem(400, UNREADABLE, kind="unreadable-audio") from None
    try:
        analysis = analyse(clip)
    except Exception:  # e.g. NaN samples in a float WAV; the file, not the server, is at fault
        log.warning("analysis of an upload failed", exc_info=True)
        raise ApiProblem(400, "the audio could not be analysed", kind="unreadable-audio") from None
    return AnalysisOut(
        duration=analysis.duration,
        sample_rate=analysis.sample_rate,
        channels=analysis.channels,
        bpm=analysis.bpm,
        bpm_confidence=analysis.bpm_confidence,
        key=analysis.key,
        key_confidence=analysis.key_confidence,
        lufs=_finite(analysis.lufs),
        true_peak=_finite(analysis.true_peak),
    )


def _check_size(frames: int, rate: int, channels: int) -> None:
    if frames <= 0 or channels <= 0:
        raise ApiProblem(400, "the file holds no audio", kind="unreadable-audio")
    if not RATES[0] <= rate <= RATES[1]:
        raise ApiProblem(
            400,
            f"sample rate {rate} Hz is outside {RATES[0]}–{RATES[1]} Hz",
            kind="unreadable-audio",
        )
    if frames / rate > MAX_SECONDS or frames * channels > MAX_SAMPLES:
        raise ApiProblem(
            413,
            f"the audio lasts {frames / rate:.0f} s in {channels} channels; at most "
            f"{MAX_SECONDS} s of stereo are analysed",
            kind="audio-too-long",
        )
