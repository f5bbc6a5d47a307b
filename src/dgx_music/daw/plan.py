"""What a session holds, decided before any XML is written: tracks, regions, tempo, markers.

The plan is plain data in session terms (samples at the session rate, ticks, names), so the
XML writer only translates and the tests can state what a session should contain.
"""

from __future__ import annotations

from dataclasses import dataclass

from dgx_music.daw.timeline import TempoSection


@dataclass(frozen=True)
class AudioLane:
    """One audio track holding one region: a clip's mix or one of its stems."""

    route: str
    region: str
    files: tuple[str, ...]
    """File names under ``interchange/<name>/audiofiles``, one mono file per channel."""
    frames: int
    start: int
    clip: int
    """Index of the clip (library track) the audio comes from."""
    group: str | None = None
    comment: str = ""


@dataclass(frozen=True)
class MidiLane:
    """One MIDI track holding one region of a clip's instrument."""

    route: str
    region: str
    file: str
    """File name under ``interchange/<name>/midifiles``."""
    length_ticks: int
    start: int
    clip: int
    group: str | None = None
    comment: str = ""


@dataclass(frozen=True)
class Marker:
    """A marker (``end`` is None) or a range, in samples at the session rate."""

    name: str
    start: int
    end: int | None = None


@dataclass(frozen=True)
class Group:
    name: str
    routes: tuple[str, ...]
    colour: int
    """0xRRGGBBAA, as Ardour stores colours."""


@dataclass(frozen=True)
class SessionPlan:
    name: str
    """Folder and snapshot name: already safe as a file name."""
    title: str
    """The name as the producer typed it, shown in the session's metadata."""
    sample_rate: int
    audio: tuple[AudioLane, ...]
    midi: tuple[MidiLane, ...]
    tempos: tuple[TempoSection, ...]
    end: int
    groups: tuple[Group, ...] = ()
    markers: tuple[Marker, ...] = ()
    loop: Marker | None = None
    ranges: tuple[Marker, ...] = ()
    description: str = ""
    comment: str = ""
    genre: str = ""

    def __post_init__(self) -> None:
        if not self.tempos or self.tempos[0].superclock != 0:
            raise ValueError("a tempo map starts with a tempo at zero")
        if not self.audio and not self.midi:
            raise ValueError("a session needs at least one track")
