"""How well a clip's chords fit each of the 24 keys: the functional half of the key estimate.

Pitch-class profiles (``key``) cannot tell a key from its relative when the chords use the same
notes, nor see that a major IV chord rules out the minor key a ii-V-I loop starts on. Chords
can: each frame's chroma is matched against the 24 major and minor triads (a soft match, so a
seventh chord shares its weight between its two triads), and each key scores the mean
log-probability of those chords under a key-conditioned chord distribution -- I, V and IV
common in major, i, VI, VII and iv in minor, a borrowed chord rare, a chromatic one very rare.

The distribution is hand-set from the usual chord frequencies of tonal and popular music, not
fitted to any set. On the independent evaluation set (benchmarks/analysis_accuracy.py) adding
it to the profile score moved key accuracy on the held-out seed from 80.8 % to 85.8 %, and on
the project's own renders from 97.6 % to 99.5 %.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

__all__ = ["chord_fit", "triad_weights"]

FloatArray = npt.NDArray[np.float64]

_MAJOR_KEY_CHORDS = {
    (0, "major"): 0.30, (7, "major"): 0.17, (5, "major"): 0.15, (9, "minor"): 0.12,
    (2, "minor"): 0.08, (4, "minor"): 0.05, (10, "major"): 0.03, (2, "major"): 0.02,
    (5, "minor"): 0.02, (7, "minor"): 0.01,
}  # fmt: skip
"""Chord root (semitones above the tonic) and quality -> share of a major-key piece's chords."""
_MINOR_KEY_CHORDS = {
    (0, "minor"): 0.28, (5, "minor"): 0.12, (8, "major"): 0.12, (10, "major"): 0.12,
    (7, "major"): 0.10, (3, "major"): 0.10, (7, "minor"): 0.05, (5, "major"): 0.02,
    (0, "major"): 0.01,
}  # fmt: skip
"""The same for minor keys: natural-minor chords, the harmonic-minor V, a Dorian IV."""
_OTHER_CHORD = 0.005
"""Any chord not listed: chromatic, so rare but not impossible."""
_MATCH_TEMPERATURE = 0.1
"""Softmax temperature of the per-frame triad match (correlations in [-1, 1])."""


@functools.lru_cache(maxsize=1)
def _triads() -> FloatArray:
    """Z-scored templates of the 24 triads, ``[24, 12]``: C..B major, then C..B minor."""
    templates = np.zeros((24, 12))
    for root in range(12):
        templates[root, [root, (root + 4) % 12, (root + 7) % 12]] = 1.0
        templates[12 + root, [root, (root + 3) % 12, (root + 7) % 12]] = 1.0
    centred = templates - templates.mean(axis=1, keepdims=True)
    return np.asarray(centred / centred.std(axis=1, keepdims=True), dtype=np.float64)


@functools.lru_cache(maxsize=1)
def _log_chord_probabilities() -> FloatArray:
    """``[24 keys, 24 chords]`` log-probabilities; keys and chords both C..B major, C..B minor."""
    table = np.full((24, 24), _OTHER_CHORD)
    for key_mode, chords in ((0, _MAJOR_KEY_CHORDS), (1, _MINOR_KEY_CHORDS)):
        for tonic in range(12):
            for (interval, quality), share in chords.items():
                chord = (0 if quality == "major" else 12) + (tonic + interval) % 12
                table[key_mode * 12 + tonic, chord] = share
    table /= table.sum(axis=1, keepdims=True)
    return np.asarray(np.log(table), dtype=np.float64)


def triad_weights(chroma_frames: FloatArray) -> FloatArray:
    """Each frame's soft match to the 24 triads, ``[frames, 24]`` (C..B major, then C..B minor;
    rows sum to 1), from per-frame pitch-class shares ``[frames, 12]``."""
    spread = chroma_frames.std(axis=1, keepdims=True)
    centred = chroma_frames - chroma_frames.mean(axis=1, keepdims=True)
    z = centred / np.where(spread > 0.0, spread, 1.0)
    match = z @ _triads().T / 12.0
    weights = np.exp((match - match.max(axis=1, keepdims=True)) / _MATCH_TEMPERATURE)
    return np.asarray(weights / weights.sum(axis=1, keepdims=True), dtype=np.float64)


def chord_fit(chroma_frames: FloatArray) -> FloatArray:
    """Mean log-probability per frame of the frames' chords under each key, ``[24]`` (C..B
    major, then C..B minor), from per-frame pitch-class shares ``[frames, 12]``."""
    weights = triad_weights(chroma_frames)
    return np.asarray(_log_chord_probabilities() @ weights.mean(axis=0), dtype=np.float64)
