"""Tempo and key estimation on synthetic signals whose answers are known by construction."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from dgx_music.audio import onset_periods, tempo
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


def _decaying(signal: FloatArray, seconds: float) -> FloatArray:
    t = np.arange(signal.size) / SR
    return np.asarray(signal * np.exp(-t / seconds))


def _drum_kit() -> dict[str, FloatArray]:
    """Kick (a 120 -> 50 Hz sine sweep), snare (noise and a 190 Hz body), closed hat (high-passed
    noise, 15 ms) and clap-like noise burst, from a fixed seed so every run is identical."""
    rng = np.random.default_rng(7)
    t = np.arange(round(0.3 * SR)) / SR
    sweep = 2 * np.pi * np.cumsum(50.0 + 70.0 * np.exp(-t / 0.03)) / SR
    noise = rng.standard_normal(t.size)
    return {
        "kick": _decaying(np.sin(sweep), 0.12),
        "snare": _decaying(0.5 * noise + 0.6 * np.sin(2 * np.pi * 190 * t), 0.06),
        "hat": _decaying(0.3 * np.diff(noise, prepend=0.0), 0.015),
    }


def _groove(bpm: float, pattern: dict[str, str], bars: int = 8, swing: float = 0.0) -> FloatArray:
    """Render 16-step patterns (``x`` hit, ``X`` accent, ``o`` soft) at ``bpm`` for ``bars``."""
    kit = _drum_kit()
    step = 60.0 / bpm / 4
    out = np.zeros(round((bars * 16 * step + 0.5) * SR))
    for name, steps in pattern.items():
        sound = kit[name]
        for bar in range(bars):
            for index, char in enumerate(steps):
                if char == ".":
                    continue
                start = round(((bar * 16 + index) + swing * (index % 2)) * step * SR)
                gain = {"X": 1.0, "x": 0.6, "o": 0.3}[char]
                stop = min(start + sound.size, out.size)
                out[start:stop] += gain * sound[: stop - start]
    return out


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


@pytest.mark.parametrize(
    ("bpm", "pattern"),
    [
        # Breakbeat: kick on 1 and 3, snare on 2 and 4, 8th hats. The kick alone repeats at 85.
        (
            170.0,
            {"kick": "X.......x.......", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
        ),
        # Half-time trap: kick 1 and the "and" of 3, clap on 3, hats on every 16th accented on
        # the beat. Kick and clap alone repeat at 70; the hats subdivide 140 into four.
        (
            140.0,
            {"kick": "X.........X.....", "snare": "........X.......", "hat": "XoxoXoxoXoxoXoxo"},
        ),
        # Slow backbeat with 8th hats: the hats alone would say 160.
        (
            80.0,
            {"kick": "X.......X.x.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
        ),
        # Four on the floor with off-beat hats.
        (
            124.0,
            {"kick": "X...X...X...X...", "snare": "....X.......X...", "hat": "..x...x...x...x."},
        ),
        # Half time at 85: kick on 1, snare on 3, 8th hats. Must not be doubled to 170.
        (
            85.0,
            {"kick": "X.........X.....", "snare": "........X.......", "hat": "x.x.x.x.x.x.x.x."},
        ),
        # Busy 16th hats over four-on-the-floor: four subdivisions of the beat, not eight.
        (
            120.0,
            {"kick": "X...X...X...X...", "snare": "....X.......X...", "hat": "xxxxxxxxxxxxxxxx"},
        ),
    ],
    ids=[
        "breakbeat-170",
        "half-time-trap-140",
        "backbeat-80",
        "four-on-floor-124",
        "half-time-85",
        "sixteenth-hats-120",
    ],
)
def test_drum_groove_tempo_is_the_beat_not_half_or_double(
    bpm: float, pattern: dict[str, str]
) -> None:
    result = analyse(_stereo(0.3 * _groove(bpm, pattern)))
    assert result.bpm is not None
    assert result.bpm == pytest.approx(bpm, rel=0.02)


def _backbeat_with_eighth_bass(bpm: float, hats: str) -> FloatArray:
    """Kick on 1 and 3 (and the "and" of 3), snare on 2 and 4, ``hats``, and a bass playing
    roots in 8th notes as loud as the drums: its attacks fill the drum bands half-way between
    the beats nearly as strongly as the kick and snare fill them on the beats."""
    drums = 0.3 * _groove(
        bpm, {"kick": "X.......X.x.....", "snare": "....X.......X...", "hat": hats}
    )
    eighth = round(30.0 / bpm * SR)
    roots = [33, 33, 36, 31]
    for index in range(drums.size // eighth):
        gain = 0.4 if index % 2 == 0 else 0.32
        note = gain * _note(roots[(index // 8) % len(roots)], 0.9 * 30.0 / bpm)
        stop = min(index * eighth + note.size, drums.size)
        drums[index * eighth : stop] += note[: stop - index * eighth]
    return drums


@pytest.mark.parametrize("bpm", [66.0, 72.0])
@pytest.mark.parametrize("hats", ["X.x.X.x.X.x.X.x.", "x.x.x.x.x.x.x.x."], ids=["accented", "even"])
def test_slow_backbeat_with_eighth_bass_is_not_read_at_double_time(
    bpm: float, hats: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At double the tempo the 8th hats and bass would be the beats themselves, with nothing
    played between them; a drummed beat is subdivided, so the slower level stays."""
    piece = _backbeat_with_eighth_bass(bpm, hats)
    found = tempo.tempo_and_confidence(piece, SR)
    assert found is not None
    assert found[0] == pytest.approx(bpm, rel=0.02)
    # Without the rule the drum bands' evidence alone reads double time (so the test can fail).
    monkeypatch.setattr(tempo, "_BETWEEN_BEATS", 1e-9)
    without = tempo.tempo_and_confidence(piece, SR)
    assert without is not None
    assert without[0] == pytest.approx(2.0 * bpm, rel=0.02)


@pytest.mark.parametrize("bpm", [70.0, 150.0])
def test_swung_ride_is_read_at_the_beat_not_at_its_swung_eighths(bpm: float) -> None:
    # Jazz ride: every beat plus the swung "and" two thirds of the way through beats 2 and 4,
    # hi-hat foot on 2 and 4, a feathered kick, a walking bass on every beat. Half a swung beat
    # is no period of the music, so it must not be read as the beat. This synthetic groove
    # reads right without the swing guard as well; the guard itself is pinned by the swung
    # FluidSynth pieces of tests/integration/test_analysis_on_evalset.py.
    pattern = {"hat": "X...X..xX...X..x", "snare": "....o.......o...", "kick": "o...o...o...o..."}
    drums = 0.3 * _groove(bpm, pattern, bars=12, swing=-1.0 / 3.0)
    beat = round(60.0 / bpm * SR)
    walk = [40, 43, 45, 47, 48, 47, 45, 43]
    for index in range(drums.size // beat):
        note = 0.15 * _note(walk[index % len(walk)], 60.0 / bpm)
        stop = min(index * beat + note.size, drums.size)
        drums[index * beat : stop] += note[: stop - index * beat]
    result = analyse(_stereo(drums))
    assert result.bpm == pytest.approx(bpm, rel=0.04)


@pytest.mark.parametrize("bpm", [60.0, 70.0])
def test_a_slow_swung_ride_alone_is_read_at_the_beat_not_at_three_halves(
    bpm: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ride's swung "and" at two thirds of the beat puts the onsets' peaks at 1/3 and 2/3
    of it; the onset grid may only split the beat into two, four or eight, never three."""
    ride = 0.3 * _groove(bpm, {"hat": "X...X..xX...X..x"}, bars=12, swing=-1.0 / 3.0)
    assert analyse(_stereo(ride)).bpm == pytest.approx(bpm, rel=0.02)
    # With any dividing peak allowed the grid is a triplet 8th, and its powers of two miss the
    # beat: 3/2 of the tempo (so the test can fail).
    monkeypatch.setattr(onset_periods, "_halves", onset_periods._divides)
    assert analyse(_stereo(ride)).bpm == pytest.approx(1.5 * bpm, rel=0.02)


def test_a_chord_held_for_each_bar_gives_the_tempo_of_a_four_four_bar() -> None:
    # No beat-rate pulse at all: the bar (2.5 s) is all there is, read as four beats of 96.
    bar = 4 * 60.0 / 96.0
    chords = [[57, 60, 64], [53, 57, 60], [48, 52, 55], [55, 59, 62]] * 3
    result = analyse(_progression(chords, seconds_each=bar))
    assert result.bpm == pytest.approx(96.0, rel=0.04)
    assert result.bpm_confidence is not None and result.bpm_confidence <= 0.5


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


# Am - F - C - G - Am: exactly the notes of C major; only the tonic's weight (the bass, the
# first and last chords) says A minor.
_RELATIVE_MINOR = [_triad(57, True), _triad(53, False), _triad(48, False), _triad(55, False)]


@pytest.mark.parametrize(
    ("chords", "key"),
    [
        ([*_RELATIVE_MINOR, _triad(57, True)], "A minor"),
        # C - Am - F - G - C: the same notes again, centred on C.
        (
            [
                _triad(48, False),
                _triad(57, True),
                _triad(53, False),
                _triad(55, False),
                _triad(48, False),
            ],
            "C major",
        ),
        # i - iv - V - i in C minor.
        ([_triad(48, True), _triad(53, True), _triad(55, False), _triad(48, True)], "C minor"),
        # I - IV - V - I in F# major.
        ([_triad(54, False), _triad(59, False), _triad(61, False), _triad(54, False)], "F# major"),
    ],
    ids=["A-minor-over-C-major-notes", "C-major-over-A-minor-notes", "C-minor", "F#-major"],
)
def test_key_with_drums_on_top(chords: list[list[int]], key: str) -> None:
    """Kick, snare and hats as loud as the chords must not move the key: percussion spreads its
    energy over every pitch class, and the kick's sweep must not read as a bass note."""
    harmony = _progression(chords).samples[:, 0].astype(np.float64)
    drums = _groove(
        120.0,
        {"kick": "X.......X.x.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
        bars=len(chords),
    )
    length = min(harmony.size, drums.size)
    mix = harmony[:length] + 0.5 * drums[:length] / np.abs(drums).max()
    assert analyse(_stereo(0.5 * mix / np.abs(mix).max())).key == key


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


@pytest.mark.parametrize("rate", [16000, 44100])
def test_steady_chord_with_beating_partials_has_no_tempo(rate: int) -> None:
    # Partials 55 Hz apart beat inside the STFT's main lobes; the frame rate aliases that to a
    # few Hz, which once read as 112.5 BPM.
    t = np.arange(rate * 8) / rate
    chord = sum(0.2 * np.sin(2 * np.pi * 220.0 * ratio * t) for ratio in (1.0, 1.25, 1.5))
    samples = np.stack([chord, chord], axis=1).astype(np.float32)
    result = analyse(AudioClip(samples, rate))
    assert result.bpm is None and result.bpm_confidence is None
    assert result.key == "A major" and result.key_confidence is not None


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


# --- key: drums under the bass line -------------------------------------------------------


def _kick_on_every_beat(bpm: float, seconds: float) -> FloatArray:
    """A four-on-the-floor kick whose body is a 62 -> 55 Hz sine (A1 at the end) held 0.2 s, as
    sampled kicks are: a pitched thump that sits under the bass line on every beat."""
    t = np.arange(round(0.4 * SR)) / SR
    phase = 2 * np.pi * np.cumsum(55.0 + 7.0 * np.exp(-t / 0.02)) / SR
    kick = _decaying(np.sin(phase), 0.2)
    out = np.zeros(round(seconds * SR))
    for onset in np.arange(0.0, seconds - 0.05, 60.0 / bpm):
        start = round(onset * SR)
        stop = min(start + kick.size, out.size)
        out[start:stop] += kick[: stop - start]
    return out


def test_kick_body_is_not_read_as_a_bass_note() -> None:
    """C#m - A - E - B (an Aeolian loop in C# minor) over a kick on every beat whose body sits
    on A1, as loud as the chords: counted as a bass note, the A in every frame makes A major
    (C#m, A, E all diatonic to it) the better fit. The bass chroma starts above the kick's
    body and masks broadband energy, so the key stays C# minor."""
    chords = [_triad(61, True), _triad(57, False), _triad(52, False), _triad(59, False)] * 2
    harmony = _progression(chords).samples[:, 0].astype(np.float64)
    kick = _kick_on_every_beat(120.0, harmony.size / SR)
    mix = harmony + 0.6 * kick / np.abs(kick).max()
    assert analyse(_stereo(0.5 * mix / np.abs(mix).max())).key == "C# minor"
