"""Library clips → the files of an Ardour session in a folder, and the plan that describes them.

Audio is written the way Ardour records it: one mono 32-bit float WAV per channel, at the
session's rate. A clip at another rate is resampled (soxr, very high quality) first, because
Ardour plays a file of another rate at the wrong speed and pitch without a word. A clip with
stems becomes one track per stem, grouped and named after the instrument (the stems sum to the
mix, so the mix itself is left out); its MIDI becomes one MIDI track per instrument, grouped
too, and the original ``.mid`` lies beside the session file.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dgx_music.daw.midi import split_parts
from dgx_music.daw.naming import UniqueNames, display_name, slugify
from dgx_music.daw.plan import AudioLane, Group, Marker, MidiLane, SessionPlan
from dgx_music.daw.timeline import DEFAULT_BPM, ClipTiming, Meter, lay_out
from dgx_music.domain import Track

GROUP_COLOURS = (0x5C9FD6FF, 0xD67F5CFF, 0x7FC46BFF, 0xB77FD6FF, 0xD6C35CFF, 0x5CD6C3FF)
MIN_BPM, MAX_BPM = 20.0, 400.0


@dataclass(frozen=True)
class Clip:
    """A library track with everything the session needs from the library and the job."""

    track: Track
    audio: Path
    stems: dict[str, Path] = field(default_factory=dict)
    midi: Path | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    """The engine's notes for the job (tempo it played, sections, parts…)."""
    loop: bool = False
    bpm: float = DEFAULT_BPM
    """The tempo of the clip's grid: the one its WAV's ACID chunk carries (the tempo the engine
    played, else the asked one where the measurement agrees, else the measured one)."""
    key: str | None = None
    details: str = ""
    """Prompt and parameters, several lines, for the session notes and track comments."""

    @property
    def meter(self) -> Meter:
        """The meter the engine wrote (notes ``"meter": "3/4"``), else 4/4."""
        text = self.notes.get("meter")
        if isinstance(text, str) and "/" in text:
            beats, _, note = text.partition("/")
            try:
                return Meter(int(beats), int(note))
            except ValueError:
                pass
        return Meter()


@dataclass
class _Written:
    """A clip's audio as written: its file base name, its stem group and one entry per track."""

    base: str
    group: str | None = None
    lanes: list[tuple[str, str, tuple[str, ...], int]] = field(default_factory=list)
    """(route, region, files, frames) of each audio track."""

    @property
    def frames(self) -> int:
        return max(lane[3] for lane in self.lanes)


def session_rate(clips: Sequence[Clip]) -> int:
    """The most common sample rate among the clips; the first clip's on a tie."""
    counts = Counter(clip.track.sample_rate for clip in clips)
    best = max(counts.values())
    return next(c.track.sample_rate for c in clips if counts[c.track.sample_rate] == best)


def write_session_files(
    clips: Sequence[Clip],
    folder: Path,
    sources: str,
    *,
    name: str,
    title: str,
    rate: int,
    stack: bool,
    description: str,
    comment: str,
) -> SessionPlan:
    """Write every clip's audio and MIDI into ``folder`` and return the session plan.

    ``sources`` is the interchange folder's name (Ardour derives it from the session
    folder's final name, which ``folder`` may not have yet).
    """
    interchange = folder / "interchange" / sources
    audio_dir, midi_dir = interchange / "audiofiles", interchange / "midifiles"
    for sub in ("analysis", "dead", "export", "peaks", "plugins", "externals"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    audio_dir.mkdir(parents=True, exist_ok=True)
    midi_dir.mkdir(parents=True, exist_ok=True)

    names, groups = UniqueNames(), UniqueNames()
    written = [_write_audio(clip, rate, audio_dir, names, groups) for clip in clips]
    for clip in clips:
        if clip.midi is not None:  # the engine's own file, under its library name
            (folder / clip.midi.name).write_bytes(clip.midi.read_bytes())
    timings = [ClipTiming(w.frames, c.bpm, c.meter) for c, w in zip(clips, written, strict=True)]
    layout = lay_out(timings, rate, stack=stack)
    audio: list[AudioLane] = []
    midi: list[MidiLane] = []
    group_members: dict[str, list[str]] = {}
    markers: list[Marker] = []
    loops: list[Marker] = []
    for index, (clip, entry) in enumerate(zip(clips, written, strict=True)):
        start, frames = layout.starts[index], entry.frames
        for route, region, files, length in entry.lanes:
            comment = _comment(clip, region if clip.stems else None)
            audio.append(
                AudioLane(route, region, files, length, start, index, entry.group, comment)
            )
            if entry.group:
                group_members.setdefault(entry.group, []).append(route)
        if clip.midi is not None:
            tempo = layout.sections_of_clips[index].bpm
            smf = clip.midi.read_bytes()
            lanes = _write_midi(
                clip, smf, entry, index, start, frames / rate, tempo, midi_dir, names, groups
            )
            midi += lanes
            for lane in lanes:
                group_members.setdefault(lane.group or "", []).append(lane.route)
        prefix = f"{index + 1}: " if len(clips) > 1 else ""
        for section in _sections(clip):
            offset = round(float(section["seconds"]) * rate)
            if 0 <= offset < frames:
                markers.append(Marker(f"{prefix}{section['name']}", start + offset))
        if clip.loop:
            loop_name = f"loop: {display_name(clip.track.prompt)}"
            loops.append(Marker(loop_name, start, start + frames))

    colour_of = {
        name: GROUP_COLOURS[i % len(GROUP_COLOURS)] for i, name in enumerate(group_members)
    }
    return SessionPlan(
        name=name,
        title=title,
        sample_rate=rate,
        audio=tuple(audio),
        midi=tuple(midi),
        tempos=tuple(layout.tempos),
        end=max(s + t.frames for s, t in zip(layout.starts, timings, strict=True)),
        groups=tuple(Group(g, tuple(m), colour_of[g]) for g, m in group_members.items()),
        markers=tuple(markers),
        loop=loops[0] if loops else None,
        ranges=tuple(loops[1:]),
        description=description,
        comment=comment,
        genre=next((str(c.notes["genre"]) for c in clips if c.notes.get("genre")), ""),
    )


def _write_audio(
    clip: Clip, rate: int, folder: Path, names: UniqueNames, groups: UniqueNames
) -> _Written:
    """The clip's stems (one track each, grouped) or else its mix, as mono files."""
    entry = _Written(base=f"{slugify(clip.track.prompt, 32)}-{clip.track.id[:8]}")
    if clip.stems:
        entry.group = groups.claim(display_name(clip.track.prompt, 32))
        for stem, path in _ordered_stems(clip):
            files, frames = _write_channels(path, rate, folder, f"{entry.base}-{slugify(stem)}")
            entry.lanes.append((names.claim(stem), stem, files, frames))
    else:
        files, frames = _write_channels(clip.audio, rate, folder, entry.base)
        route = names.claim(display_name(clip.track.prompt))
        entry.lanes.append((route, route, files, frames))
    return entry


def _write_midi(
    clip: Clip,
    smf: bytes,
    entry: _Written,
    index: int,
    start: int,
    seconds: float,
    bpm: float,
    folder: Path,
    names: UniqueNames,
    groups: UniqueNames,
) -> list[MidiLane]:
    """One SMF source and MIDI track per instrument of the clip's MIDI, in one group."""
    group = groups.claim(f"{entry.group or display_name(clip.track.prompt, 32)} MIDI")
    lanes = []
    for part in split_parts(smf, seconds, bpm):
        file = f"{entry.base}-{slugify(part.name)}.mid"
        (folder / file).write_bytes(part.smf)
        comment = _comment(clip, f"{part.name} (MIDI)")
        route = names.claim(f"{part.name} MIDI")
        lanes.append(
            MidiLane(route, part.name, file, part.length_ticks, start, index, group, comment)
        )
    return lanes


def _ordered_stems(clip: Clip) -> list[tuple[str, Path]]:
    """Stems in the engine's part order (drums, bass, chords, lead), any others after."""
    parts = [p for p in clip.notes.get("parts", []) if isinstance(p, str)]
    rank = {name: i for i, name in enumerate(parts)}
    return sorted(clip.stems.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


def _sections(clip: Clip) -> list[dict[str, Any]]:
    found = clip.notes.get("sections")
    if not isinstance(found, list):
        return []
    return [s for s in found if isinstance(s, dict) and "name" in s and "seconds" in s]


def _comment(clip: Clip, part: str | None) -> str:
    head = f"{part} of: " if part else ""
    return f"{head}{clip.details}"


def _write_channels(
    source: Path, rate: int, folder: Path, base: str
) -> tuple[tuple[str, ...], int]:
    """One mono float WAV per channel of ``source`` at ``rate``: (file names, frames)."""
    from dgx_music.audio.encode import resample
    from dgx_music.audio.export import read_audio, write_audio
    from dgx_music.domain import AudioClip

    clip = resample(read_audio(source), rate)
    channels = clip.channels
    suffixes = (
        ["-L", "-R"]
        if channels == 2
        else [""]
        if channels == 1
        else [f"-{n}" for n in range(1, channels + 1)]
    )
    files = []
    for channel, suffix in enumerate(suffixes):
        file = f"{base}{suffix}.wav"
        mono = AudioClip(clip.samples[:, channel : channel + 1].copy(), rate)
        write_audio(folder / file, mono, "wav", "32f")
        files.append(file)
    return tuple(files), clip.frames


def clamp_bpm(bpm: float | None) -> float:
    """A tempo Ardour's map can hold, to a thousandth of a BPM; 120 when none is known."""
    if bpm is None or not math.isfinite(bpm) or bpm <= 0:
        return DEFAULT_BPM
    return round(min(MAX_BPM, max(MIN_BPM, bpm)), 3)
