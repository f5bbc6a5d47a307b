"""Explicit request fields (bpm, key, instruments) over what the prompt text said.

Kept apart from :mod:`prompt` because the two have different contracts: the prompt is read
leniently and never fails, request fields are already validated and always win. Every override
is recorded in the interpretation, with what the prompt had said, so a user sees the clash.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from dgx_music.engines.symbolic.prompt import (
    INSTRUMENT_HINTS,
    MAX_BPM,
    MIN_BPM,
    NO_DRUMS,
    Mode,
    MusicalIntent,
)


def _request_instruments(
    names: tuple[str, ...],
) -> tuple[tuple[str, ...], bool, list[str]]:
    """Known hints, whether drums stay, and the names nothing could be done with."""
    hints: list[str] = []
    drums, unknown = True, []
    for raw in names:
        name = " ".join(raw.lower().split())
        if NO_DRUMS.fullmatch(name):
            drums = False
        elif name in INSTRUMENT_HINTS or name.rstrip("s") in INSTRUMENT_HINTS:
            hints.append(name if name in INSTRUMENT_HINTS else name.rstrip("s"))
        elif name not in ("drums", "drum", "percussion"):  # drums are there unless removed
            unknown.append(raw)
    return tuple(dict.fromkeys(hints)), drums, unknown


def _overridden(info: dict[str, Any], value: Any) -> dict[str, Any]:
    """The request's value for a field, keeping what the prompt said so the user sees the clash."""
    said = info.get("matched")
    out: dict[str, Any] = {"value": value, "source": "request"}
    if said:
        out["prompt_said"] = said
    return out


def apply_request(
    intent: MusicalIntent,
    *,
    bpm: float | None = None,
    key: str | None = None,
    instruments: tuple[str, ...] | None = None,
) -> MusicalIntent:
    """Let explicit request fields beat the prompt, and record in the interpretation that they did.

    ``key`` is already canonical (``"A# minor"``), as :func:`dgx_music.domain.canonical_key`
    writes it.
    """
    info: dict[str, Any] = copy.deepcopy(intent.interpretation)
    ignored: list[str] = list(info.get("ignored", []))
    changes: dict[str, Any] = {}
    if bpm is not None:
        bpm = min(max(float(bpm), MIN_BPM), MAX_BPM)
        if info["tempo"].get("matched"):
            ignored.append(f"prompt tempo {info['tempo']['matched']!r} (request bpm wins)")
        info["tempo"] = _overridden(info["tempo"], bpm)
        changes["bpm"] = bpm
    if key is not None:
        root, mode_word = key.split()
        mode: Mode = "minor" if mode_word == "minor" else "major"
        if info["key"].get("matched"):
            ignored.append(f"prompt key {info['key']['matched']!r} (request key wins)")
        info["key"] = _overridden(info["key"], f"{root} {mode}")
        changes.update(key_root=root, mode=mode)
    if instruments is not None:
        hints, drums, unknown = _request_instruments(instruments)
        said = info["instruments"]["matched"]
        if said:
            ignored.append(f"prompt instruments {said} (request instruments win)")
        ignored += [
            f"instrument {name!r} (unknown; try e.g. rhodes, 808, strings)" for name in unknown
        ]
        info["instruments"] = {"value": list(hints), "source": "request", "matched": list(hints)}
        changes["instruments"] = hints
        if not drums:
            info["drums"] = {"value": False, "source": "request", "matched": "no drums"}
            changes["drums"] = False
    info["defaulted"] = [
        name for name in ("genre", "tempo", "key") if info[name]["source"] == "default"
    ]
    info["understood_nothing"] = info["understood_nothing"] and not changes
    info["ignored"] = ignored
    return replace(intent, interpretation=info, **changes)
