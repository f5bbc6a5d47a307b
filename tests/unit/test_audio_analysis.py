"""Tempo and key estimation on synthetic signals whose answers are known by construction."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from dgx_music.audio.analysis import analyse
from dgx_music.audio.loudness import integrated_loudness, true_peak
from dgx_music.domain import AudioClip

SR = 44100
FloatArray = npt.NDArray[np.float64]


def _stereo(mono: FloatArray, sr: int = SR) -> AudioClip:
    return AudioClip(np.stack([mono, 0.8 * mono], axis=1).astype(np.float32), sr)


def _click_track(bpm: float, seconds: float = 12.0, sr: int = SR) -> FloatArray:
    """Decaying 1.5 kHz blips on every beat, the downbeat of each bar accented."""
    out = np.zeros(round(seconds * sr))
    t = np.arange(round(0.03 * sr)) / sr
    blip = np.sin(2 * np.pi * 1500 * t) * np.exp(-t / 0.005)
    for index, onset in enumerate(np.arange(0.0, seconds - 0.05, 60.0 / bpm)):
        start = round(onset * sr)
        stop = min(start + blip.size, out.size)
        out[start:stop] += (1.0 if index % 4 == 0 else 0.6) * blip[: stop - start]
    return 0.5 * out


def _note(midi: int, seconds: float) -> FloatArray:
    """Additive tone: six harmonics rolling off by 0.6 each, 10 ms attack, 1.5 s decay."""
    t = np.arange(round(seconds * SR)) / SR
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    tone = sum(0.6**h * np.sin(2 * np.pi * freq * (h + 1) * t) for h in range(6))
    return np.asarray(tone * np.minimum(1.0, t / 0.01) * np.exp(-t / 1.5))


def _progression(chords: list[list[int]], seconds_each: float = 2.0) -> AudioClip:
    mono = np.concatenate([sum(_note(m, seconds_each) for m in chord) for chord in chords])
    return _stereo(0.5 * mono / np.abs(mono).max())


def _triad(root: int, minor: bool) -> list[int]:
    """Root in the bass an octave down, then root position triad."""
    return [root - 12, root, root + (3 if minor else 4), root + 7]


@pytest.mark.parametrize("bpm", [90.0, 120.0, 140.0, 75.0, 160.0])
def test_click_track_tempo_within_two_percent(bpm: float) -> None:
    result = analyse(_stereo(_click_track(bpm)))
    assert result.bpm is not None
    assert result.bpm == pytest.approx(bpm, rel=0.02)


def test_tempo_at_48k_mono() -> None:
    clip = AudioClip(_click_track(104.0, sr=48000)[:, None].astype(np.float32), 48000)
    result = analyse(clip)
    assert result.bpm == pytest.approx(104.0, rel=0.02)


@pytest.mark.parametrize(
    ("chords", "key"),
    [
        # i - iv - V - i in A minor (harmonic minor dominant, G# leading tone)
        ([_triad(57, True), _triad(62, True), _triad(64, False), _triad(57, True)], "A minor"),
        # i - iv - v - i in A minor (natural minor)
        ([_triad(57, True), _triad(62, True), _triad(64, True), _triad(57, True)], "A minor"),
        # I - IV - V - I in E major
        ([_triad(52, False), _triad(57, False), _triad(59, False), _triad(52, False)], "E major"),
        # I - IV - V - I in F# major: the name uses sharps
        ([_triad(54, False), _triad(59, False), _triad(61, False), _triad(54, False)], "F# major"),
        # i - iv - V - i in C minor
        ([_triad(48, True), _triad(53, True), _triad(55, False), _triad(48, True)], "C minor"),
    ],
    ids=["A-minor-harmonic", "A-minor-natural", "E-major", "F#-major", "C-minor"],
)
def test_chord_progression_key(chords: list[list[int]], key: str) -> None:
    assert analyse(_progression(chords)).key == key


def test_silence_has_no_tempo_or_key() -> None:
    result = analyse(AudioClip(np.zeros((SR * 10, 2), np.float32), SR))
    assert result.bpm is None
    assert result.key is None
    assert result.lufs == -math.inf
    assert result.true_peak == -math.inf
    assert (result.duration, result.sample_rate, result.channels) == (10.0, SR, 2)


def test_steady_tone_has_key_but_no_tempo() -> None:
    t = np.arange(SR * 8) / SR
    result = analyse(_stereo(0.3 * np.sin(2 * np.pi * 440.0 * t)))
    assert result.bpm is None
    assert result.key is not None and result.key.startswith("A ")


def test_short_clip_has_no_tempo() -> None:
    result = analyse(_stereo(_click_track(120.0, seconds=2.5)))
    assert result.bpm is None
    assert result.duration == pytest.approx(2.5)


@pytest.mark.parametrize("frames", [0, 1, 100])
def test_tiny_clips_do_not_crash(frames: int) -> None:
    result = analyse(AudioClip(np.full((frames, 2), 0.1, np.float32), SR))
    assert result.bpm is None
    assert result.lufs == -math.inf


def test_loudness_fields_match_the_meters() -> None:
    clip = _progression([_triad(57, True), _triad(62, True)])
    result = analyse(clip)
    assert result.lufs == pytest.approx(integrated_loudness(clip), abs=1e-9)
    assert result.true_peak == pytest.approx(true_peak(clip), abs=1e-9)


def test_thirty_second_stereo_click_track_with_noise() -> None:
    rng = np.random.default_rng(0)
    mono = _click_track(128.0, seconds=30.0) + 0.05 * rng.standard_normal(SR * 30)
    result = analyse(_stereo(mono))
    assert result.bpm == pytest.approx(128.0, rel=0.02)
