"""Where clips go on Ardour's timeline, and the tempo map that puts a bar line under each.

Ardour 7 keeps time in "superclocks" (282,240,000 per second, divisible by every common sample
rate) and musical time in ticks (1920 per quarter note). Its tempo map is a list of points, each
stating its superclock, its quarter-note count and its bar: Ardour trusts those numbers, so they
are computed here exactly as Ardour computes them (``superclocks per quarter`` rounded once per
tempo, positions rounded to the nearest superclock from the tempo point before them).

Clips placed one after another each start a new tempo section on a bar line at the clip's own
tempo and meter, so every clip sits on a grid that matches it. A clip is given as many whole
bars as it fills; a clip that overshoots its last bar by less than a sixteenth of a bar (a
measured tempo a hair off the composed one) does not get a whole extra bar of silence after
it: the next clip starts on that bar line, over the clip's last few milliseconds, on its own
track. Stacked clips all start at zero under the first clip's tempo.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

SUPERCLOCK_RATE = 282_240_000
"""Superclocks per second in Ardour 7."""
TICKS_PER_BEAT = 1920
"""Ticks per quarter note in Ardour 7's musical time (``Temporal::ticks_per_beat``)."""
DEFAULT_BPM = 120.0
OVERSHOOT_TOLERANCE = Fraction(1, 16)
"""How far past a bar line a clip may end before the next clip moves on a whole bar."""


@dataclass(frozen=True)
class Meter:
    """A time signature: ``beats_per_bar`` beats of 1/``note_value`` notes."""

    beats_per_bar: int = 4
    note_value: int = 4

    def __post_init__(self) -> None:
        if self.beats_per_bar < 1 or self.note_value not in (1, 2, 4, 8, 16):
            raise ValueError(f"{self.beats_per_bar}/{self.note_value} is not a meter")

    @property
    def quarters_per_bar(self) -> Fraction:
        return Fraction(self.beats_per_bar * 4, self.note_value)

    @property
    def ticks_per_bar(self) -> int:
        return int(self.quarters_per_bar * TICKS_PER_BEAT)

    def __str__(self) -> str:
        return f"{self.beats_per_bar}/{self.note_value}"


@dataclass(frozen=True)
class TempoSection:
    """A tempo (quarter notes per minute) and meter in force from ``superclock`` on."""

    bpm: float
    meter: Meter
    bar: int
    """1-based bar number at which the section starts."""
    ticks: int
    """Quarter notes from the session start to the section, in ticks."""
    superclock: int

    @property
    def superclocks_per_quarter(self) -> int:
        return superclocks_per_quarter(self.bpm)

    def superclock_at(self, ticks: int) -> int:
        """Where ``ticks`` (from the session start, at or after this section) falls."""
        return self.superclock + _div_round(
            (ticks - self.ticks) * self.superclocks_per_quarter, TICKS_PER_BEAT
        )

    @property
    def bbt(self) -> str:
        return f"{self.bar}|1|0"

    @property
    def quarters(self) -> str:
        """Ardour's ``beats:ticks`` notation for the section's quarter-note position."""
        return f"{self.ticks // TICKS_PER_BEAT}:{self.ticks % TICKS_PER_BEAT}"


@dataclass(frozen=True)
class ClipTiming:
    """What the layout needs to know of a clip: its length at the session rate and tempo."""

    frames: int
    bpm: float
    meter: Meter = Meter()


@dataclass(frozen=True)
class Layout:
    starts: list[int]
    """Each clip's first sample on the timeline, at the session rate."""
    tempos: list[TempoSection]
    """The tempo map; the first section starts at zero."""
    sections_of_clips: list[TempoSection]
    """The section each clip starts in (the tempo its MIDI is written at)."""


def superclocks_per_quarter(bpm: float) -> int:
    """Ardour's ``double_npm_to_scpn``: rounded once, the way every position is derived."""
    return round(SUPERCLOCK_RATE * 60.0 / bpm)


def samples_to_superclock(samples: int, rate: int) -> int:
    return samples * SUPERCLOCK_RATE // rate


def first_sample_at(superclock: int, rate: int) -> int:
    """The first whole sample at or after ``superclock``: a clip placed there is already under
    the tempo that starts at that superclock, never a fraction of a sample before it."""
    return -(-superclock * rate // SUPERCLOCK_RATE)


def bars_filled(frames: int, rate: int, bpm: float, meter: Meter) -> int:
    """Whole bars a clip of ``frames`` occupies (at least one), forgiving a small overshoot."""
    bar_seconds = float(meter.quarters_per_bar) * 60.0 / bpm
    bars = frames / rate / bar_seconds
    return max(1, math.ceil(bars - float(OVERSHOOT_TOLERANCE)))


def lay_out(clips: Sequence[ClipTiming], rate: int, *, stack: bool) -> Layout:
    """Starts and tempo map for ``clips`` in order: one after another on bar lines, or all at
    zero (``stack``)."""
    if not clips:
        raise ValueError("nothing to lay out")
    first = clips[0]
    section = TempoSection(bpm=first.bpm, meter=first.meter, bar=1, ticks=0, superclock=0)
    if stack:
        return Layout([0] * len(clips), [section], [section] * len(clips))
    tempos = [section]
    starts: list[int] = []
    sections: list[TempoSection] = []
    bar, ticks = 1, 0
    for clip in clips:
        if (clip.bpm, clip.meter) != (section.bpm, section.meter):
            section = TempoSection(
                bpm=clip.bpm,
                meter=clip.meter,
                bar=bar,
                ticks=ticks,
                superclock=section.superclock_at(ticks),
            )
            tempos.append(section)
        starts.append(first_sample_at(section.superclock_at(ticks), rate))
        sections.append(section)
        bars = bars_filled(clip.frames, rate, clip.bpm, clip.meter)
        bar += bars
        ticks += bars * clip.meter.ticks_per_bar
    return Layout(starts, tempos, sections)


def _div_round(numerator: int, denominator: int) -> int:
    """Ardour's ``int_div_round`` for non-negative values: halves round up."""
    return (numerator + denominator // 2) // denominator
