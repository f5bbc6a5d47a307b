"""What counts as asked for, and how a disagreement with the measurement is worded."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dgx_music.agreement import (
    asked_tempo_and_key,
    disagreements,
    key_relation,
    labelled_tempo_and_key,
)
from dgx_music.domain import GenerationRequest, Track

TRACK = Track(
    id="t", job_id="j", path="a.wav", format="wav", sample_rate=44100, channels=2,
    duration=8.0, bpm=120.0, key="A minor", lufs=-14.0, true_peak=-1.0,
    loudness_method="gain", size_bytes=1, sha256="0" * 64, prompt="p", engine="e",
    model=None, seed=1, created_at=datetime(2026, 1, 1, tzinfo=UTC),
)  # fmt: skip


@pytest.mark.parametrize(
    ("prompt", "fields", "expected"),
    [
        ("lofi hip hop, dusty piano, 80 bpm, A minor", {}, (80.0, "A minor")),
        ("techno in F#m", {}, (None, "F# minor")),
        ("dark techno", {}, (None, None)),  # a genre default or a mood is not asking
        ("sad piano", {}, (None, None)),
        ("trap, 140 bpm, C minor", {"bpm": 70.0, "key": "Eb major"}, (70.0, "D# major")),
    ],
)
def test_asked_comes_from_the_request_then_the_prompts_explicit_words(
    prompt: str, fields: dict[str, object], expected: tuple[float | None, str | None]
) -> None:
    request = GenerationRequest(prompt=prompt, duration=8.0, **fields)  # type: ignore[arg-type]
    assert asked_tempo_and_key(request) == expected


@pytest.mark.parametrize(
    ("asked", "measured", "relation"),
    [
        ("A minor", "A minor", "same"),
        ("A minor", "C major", "relative"),
        ("C major", "A minor", "relative"),
        ("A minor", "A major", "parallel"),
        ("A minor", "E minor", "fifth"),
        ("A minor", "D minor", "fifth"),
        ("A minor", "F# major", "other"),
    ],
)
def test_key_relations(asked: str, measured: str, relation: str) -> None:
    assert key_relation(asked, measured) == relation


@pytest.mark.parametrize(
    ("asked_bpm", "bpm", "expected"),
    [
        (120.0, 123.0, []),  # within 4 %
        (90.0, 180.2, ["tempo: asked 90 BPM, measured 180.2 (double time)"]),
        (140.0, 70.0, ["tempo: asked 140 BPM, measured 70.0 (half time)"]),
        (100.0, 111.0, ["tempo: asked 100 BPM, measured 111.0"]),
        (100.0, None, ["tempo: asked 100 BPM, no steady pulse measured"]),
    ],
)
def test_tempo_disagreements(asked_bpm: float, bpm: float | None, expected: list[str]) -> None:
    assert disagreements(replace(TRACK, asked_bpm=asked_bpm, bpm=bpm)) == expected


def test_key_disagreement_names_the_relation_and_nothing_asked_means_no_flag() -> None:
    assert disagreements(TRACK) == []
    flagged = replace(TRACK, asked_key="C major")
    assert disagreements(flagged) == ["key: asked C major, measured A minor (relative key)"]
    assert disagreements(replace(TRACK, asked_key="A minor")) == []


def test_daw_label_prefers_what_was_played_then_an_agreeing_ask_then_the_measurement() -> None:
    played = {"bpm": 128, "key": "D minor"}
    assert labelled_tempo_and_key((None, None), (127.9, "A minor"), played) == (128.0, "D minor")
    assert labelled_tempo_and_key((90.0, "A minor"), (89.6, "A minor"), {}) == (90.0, "A minor")
    assert labelled_tempo_and_key((90.0, "A minor"), (120.0, "C major"), {}) == (120.0, "C major")
    assert labelled_tempo_and_key((90.0, "A minor"), (None, None), {}) == (90.0, "A minor")
