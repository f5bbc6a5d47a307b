"""A clip's MIDI as Ardour sources: one single-track SMF per instrument, on the session's grid.

Ardour reads an SMF source's ticks as musical time (quarter notes) and plays them at the
session's tempo map. The engine wrote its MIDI at the tempo it composed at; the session runs at
the tempo the analysis measured, which can differ slightly (or be the half- or double-time
reading). So every note is moved by its time in seconds from the clip's start, not by its tick:
``ticks = seconds × session_bpm / 60 × 1920``. The MIDI then lines up with the audio stem it
was rendered to, whatever tempo the session shows.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from dgx_music.daw.timeline import TICKS_PER_BEAT

DRUM_CHANNEL = 9


@dataclass(frozen=True)
class MidiPart:
    """One instrument of a clip, as the bytes of a type-0 SMF at 1920 ticks per quarter."""

    name: str
    smf: bytes
    length_ticks: int
    """Up to the clip's end (not just the last note), so the region covers the whole clip."""
    notes: int


def split_parts(midi: bytes, seconds: float, bpm: float) -> list[MidiPart]:
    """Each instrument of a (type 0 or 1) MIDI file with notes, retimed to ``bpm``.

    ``seconds`` is the clip's length: the region is that long even when the last note ends
    earlier. Instruments keep their program (as a program change at the start) and drums
    stay on channel 10; controllers and pitch bends are not carried over.
    """
    import pretty_midi

    score = pretty_midi.PrettyMIDI(io.BytesIO(midi))
    ticks_per_second = bpm / 60.0 * TICKS_PER_BEAT
    length = max(1, math.ceil(seconds * ticks_per_second))
    parts: list[MidiPart] = []
    melodic = 0
    for instrument in score.instruments:
        if not instrument.notes:
            continue
        if instrument.is_drum:
            channel = DRUM_CHANNEL
            name = instrument.name or "drums"
        else:
            channel = (melodic + (melodic >= DRUM_CHANNEL)) % 16  # skipping the drums' 10
            melodic += 1
            name = instrument.name or pretty_midi.program_to_instrument_name(instrument.program)
        notes = [
            (
                round(n.start * ticks_per_second),
                round(n.end * ticks_per_second),
                n.pitch,
                n.velocity,
            )
            for n in instrument.notes
        ]
        program = None if instrument.is_drum else instrument.program
        smf = _smf(name, channel, program, notes, length)
        parts.append(MidiPart(name, smf, length, len(notes)))
    return parts


def _smf(
    name: str,
    channel: int,
    program: int | None,
    notes: list[tuple[int, int, int, int]],
    length: int,
) -> bytes:
    """A type-0 SMF of ``notes`` (start tick, end tick, pitch, velocity) lasting ``length``."""
    import mido

    events: list[tuple[int, int, mido.Message]] = []
    for start, end, pitch, velocity in notes:
        on = mido.Message("note_on", channel=channel, note=pitch, velocity=max(1, velocity))
        events.append((start, 1, on))
        events.append(
            (max(start + 1, end), 0, mido.Message("note_off", channel=channel, note=pitch))
        )
    events.sort(key=lambda event: (event[0], event[1]))  # a note ends before one starts
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=_latin1(name), time=0))
    if program is not None:
        track.append(mido.Message("program_change", channel=channel, program=program, time=0))
    now = 0
    for tick, _order, message in events:
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, length - now)))
    smf = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    smf.tracks.append(track)
    buffer = io.BytesIO()
    smf.save(file=buffer)
    return buffer.getvalue()


def _latin1(text: str) -> str:
    """SMF meta text is bytes that mido encodes as Latin-1; anything else is dropped."""
    return text.encode("latin-1", "ignore").decode("latin-1")
