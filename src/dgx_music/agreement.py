"""Whether a clip came out at the tempo and in the key it was asked for.

Peers echo the requested tempo and key into their metadata; this service measures both and
says when the audio disagrees, because a producer who asked for 90 BPM and got a clip that
grooves at 120 needs to know before the clip lands in a session. Half- and double-time
readings are reported as such: the clip may well be right and the measurement a metrical
level off, and the producer can tell at a glance.
"""

from __future__ import annotations

from typing import Any

from dgx_music.domain import PITCH_CLASSES, GenerationRequest, Track, canonical_key

__all__ = [
    "TEMPO_TOLERANCE",
    "asked_tempo_and_key",
    "disagreements",
    "key_relation",
    "labelled_tempo_and_key",
]

TEMPO_TOLERANCE = 0.04
"""Within 4 % is the same tempo: the margin tempo-estimation evaluations call "Acc1"."""


def asked_tempo_and_key(request: GenerationRequest) -> tuple[float | None, str | None]:
    """The tempo and key a request asked for: its own fields, else explicit words in the prompt
    ("80 bpm", "in A minor", "F#m"). Genre defaults and moods do not count as asking."""
    from dgx_music.engines.symbolic.prompt import parse_prompt

    bpm, key = request.bpm, request.key
    if bpm is not None and key is not None:
        return bpm, key
    interpretation = parse_prompt(request.prompt).interpretation
    tempo, key_info = interpretation["tempo"], interpretation["key"]
    if bpm is None and tempo.get("source") == "prompt":
        bpm = float(tempo["value"])
    if key is None and key_info.get("source") == "prompt":
        key = canonical_key(str(key_info["value"]))
    return bpm, key


def key_relation(asked: str, measured: str) -> str:
    """How ``measured`` relates to ``asked`` (both canonical): "same", "relative", "parallel",
    "fifth" (dominant or subdominant, same mode) or "other"."""
    root_a, mode_a = asked.split()
    root_m, mode_m = measured.split()
    interval = (PITCH_CLASSES.index(root_m) - PITCH_CLASSES.index(root_a)) % 12
    if mode_a == mode_m:
        return {0: "same", 5: "fifth", 7: "fifth"}.get(interval, "other")
    if interval == 0:
        return "parallel"
    relative = 9 if mode_a == "major" else 3
    return "relative" if interval == relative else "other"


def labelled_tempo_and_key(
    asked: tuple[float | None, str | None],
    measured: tuple[float | None, str | None],
    engine_notes: dict[str, Any],
) -> tuple[float | None, str | None]:
    """The tempo and key to write into a file's DAW metadata (ACID chunk).

    An engine that writes notes (symbolic) reports exactly what it played: that wins. Otherwise
    the asked-for value is exact where the measurement agrees with it (a DAW wants 90, not
    89.87); where they disagree the audio is what the DAW will play, so the measurement wins.
    """
    asked_bpm, asked_key = asked
    bpm, key = measured
    played_bpm, played_key = engine_notes.get("bpm"), engine_notes.get("key")
    if isinstance(played_bpm, int | float):
        bpm = float(played_bpm)
    elif asked_bpm is not None and (bpm is None or _tempo_note(asked_bpm, bpm) is None):
        bpm = asked_bpm
    if isinstance(played_key, str):
        key = played_key
    elif asked_key is not None and key in (None, asked_key):
        key = asked_key
    return bpm, key


def _tempo_note(asked: float, measured: float | None) -> str | None:
    if measured is None:
        return f"tempo: asked {asked:g} BPM, no steady pulse measured"
    if abs(measured / asked - 1.0) <= TEMPO_TOLERANCE:
        return None
    note = f"tempo: asked {asked:g} BPM, measured {measured:.1f}"
    for factor, name in ((2.0, "double time"), (0.5, "half time"), (1.5, "3:2"), (2 / 3, "2:3")):
        if abs(measured / (asked * factor) - 1.0) <= TEMPO_TOLERANCE:
            return f"{note} ({name})"
    return note


def disagreements(track: Track) -> list[str]:
    """One line per measurement that disagrees with what was asked for; empty when all agree
    or nothing was asked."""
    notes: list[str] = []
    if track.asked_bpm is not None:
        tempo = _tempo_note(track.asked_bpm, track.bpm)
        if tempo:
            notes.append(tempo)
    if track.asked_key is not None:
        if track.key is None:
            notes.append(f"key: asked {track.asked_key}, no key measured")
        elif track.key != track.asked_key:
            relation = key_relation(track.asked_key, track.key)
            suffix = "" if relation == "other" else f" ({relation} key)"
            notes.append(f"key: asked {track.asked_key}, measured {track.key}{suffix}")
    return notes
