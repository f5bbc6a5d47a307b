"""Harmonic mixing: which keys sound right next to a given one.

DJs call these the Camelot neighbours: the same key, its relative major or minor (same notes,
so a blend never clashes) and the keys a fifth up and down (one accidental apart, the smallest
possible change). Pure string arithmetic on canonical keys so that the storage layer and a
future REST API can share it without importing anything heavy.
"""

from __future__ import annotations

from dgx_music.domain import PITCH_CLASSES


def _split(key: str) -> tuple[int, str]:
    pitch, _, mode = key.partition(" ")
    if pitch not in PITCH_CLASSES or mode not in ("major", "minor"):
        raise ValueError(f"{key!r} is not a canonical key such as 'A minor' or 'C# major'")
    return PITCH_CLASSES.index(pitch), mode


def _name(pitch: int, mode: str) -> str:
    return f"{PITCH_CLASSES[pitch % 12]} {mode}"


def compatible_keys(key: str) -> tuple[str, str, str, str]:
    """``key`` itself, its relative, a fifth down and a fifth up, in that order.

    ``key`` must already be canonical (see :func:`dgx_music.domain.canonical_key`): callers
    canonicalise user input once, and stored keys are canonical by construction.
    """
    pitch, mode = _split(key)
    relative = _name(pitch + 3, "major") if mode == "minor" else _name(pitch - 3, "minor")
    return (key, relative, _name(pitch + 5, mode), _name(pitch + 7, mode))
