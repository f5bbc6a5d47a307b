"""The chord score on hand-written chroma frames: which keys a chord sequence fits."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from dgx_music.audio import harmony

FloatArray = npt.NDArray[np.float64]

NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def _frames(chords: list[tuple[int, ...]]) -> FloatArray:
    """One frame per chord, its pitch classes sharing the power equally."""
    frames = np.zeros((len(chords), 12))
    for index, pitch_classes in enumerate(chords):
        frames[index, list(pitch_classes)] = 1.0 / len(pitch_classes)
    return frames


def _best_key(chords: list[tuple[int, ...]]) -> str:
    best = int(np.argmax(harmony.chord_fit(_frames(chords))))
    return f"{NAMES[best % 12]} {'major' if best < 12 else 'minor'}"


CMAJ7, EM7, FMAJ7, DM7, G7 = (0, 4, 7, 11), (4, 7, 11, 2), (5, 9, 0, 4), (2, 5, 9, 0), (7, 11, 2, 5)


@pytest.mark.parametrize(
    ("chords", "key"),
    [
        ([CMAJ7], "C major"),
        ([CMAJ7, FMAJ7], "C major"),
        ([DM7, G7, CMAJ7, CMAJ7], "C major"),
        ([CMAJ7, FMAJ7, EM7, (9, 0, 4, 7), DM7, G7, CMAJ7, CMAJ7], "C major"),
        ([(2, 5, 8, 0), G7, (0, 3, 7, 10), (0, 3, 7, 10)], "C minor"),
        ([(0, 4, 7), (7, 11, 2), (9, 0, 4), (5, 9, 0)], "C major"),
    ],
    ids=["Imaj7", "Imaj7-IVmaj7", "ii-V-I", "jazz-turnaround", "minor-ii-V-i", "triads"],
)
def test_chords_fit_their_key(chords: list[tuple[int, ...]], key: str) -> None:
    assert _best_key(chords) == key


def test_a_major_seventh_is_the_tonic_not_the_iii_triad_inside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cmaj7 holds E-G-B; split between the C and E minor triads, a held Cmaj7 scored E minor's
    tonic chord and fitted E minor best."""
    assert _best_key([CMAJ7]) == "C major"
    triads = ("major", "minor")
    monkeypatch.setattr(harmony, "_QUALITIES", {q: harmony._QUALITIES[q] for q in triads})
    for table in ("_MAJOR_KEY_CHORDS", "_MINOR_KEY_CHORDS"):
        chords = getattr(harmony, table)
        monkeypatch.setattr(harmony, table, {c: p for c, p in chords.items() if c[1] in triads})
    harmony._templates.cache_clear()
    harmony._log_chord_probabilities.cache_clear()
    try:
        assert _best_key([CMAJ7]) == "E minor"
    finally:
        harmony._templates.cache_clear()
        harmony._log_chord_probabilities.cache_clear()


def test_the_opening_triads_are_the_triads_alone() -> None:
    weights = harmony.triad_weights(_frames([(0, 4, 7), (9, 0, 4)]))
    assert weights.shape == (2, 24)
    assert np.allclose(weights.sum(axis=1), 1.0)
    assert int(np.argmax(weights[0])) == 0  # C major
    assert int(np.argmax(weights[1])) == 12 + 9  # A minor
