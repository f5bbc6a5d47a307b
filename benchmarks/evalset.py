"""A labelled evaluation set for the analysis that this project did not compose itself.

Writes MIDI pieces with a known tempo and key (pretty_midi) in five styles and renders each with
the ``fluidsynth`` CLI and the General MIDI SoundFont FluidR3_GM.sf2 (Debian
``fluid-soundfont-gm``). Everything is deterministic from ``--seed``; the audio is generated,
never committed.

Styles (24 pieces each by default, one per key, tempos stratified over the style's range):

* ``four_on_floor`` 90-150 BPM: kick on every beat, off-beat open hats, clap/snare on 2 and 4.
* ``backbeat`` 60-180 BPM: kick around 1 and 3 with variations, snare on 2 and 4, 8th/16th hats.
* ``half_time`` 120-180 BPM (notated at the fast tempo): snare/clap on beat 3 only, 16th hats
  with triplet rolls, programmed near-even as trap hats are. The audible 16th hats are what
  makes producers notate a trap or half-time beat at 140 rather than 70; with 8th hats (or
  16ths so soft that only the 8ths are heard) the same groove is a backbeat at half the tempo
  with 16th hats, and its label would be a convention no listener could recover.
* ``swung`` 60-180 BPM: jazz ride with swung 8ths, hi-hat foot on 2 and 4, walking bass; or a
  shuffle.
* ``drumless`` 60-160 BPM: keys only (piano, e-piano, organ, strings), chords with a melody or
  an arpeggio, bass optional.

The label is exact: ``bpm`` is the tempo read back from the written MIDI file, ``key`` the key
the piece was written in ("A minor", "F# major", sharps only). The wav is cut at ``duration``
seconds (20 ms fade-out) and peak-scaled to -1..-6 dBFS, 24-bit PCM, 44.1 kHz stereo.

Each piece gets ``<id>.mid``, ``<id>-<hash>.wav`` (hash of the MIDI bytes and render settings,
so a re-run renders only what changed) and ``<id>.json`` (the manifest).

Usage: ``python benchmarks/evalset.py --out DIR [--count-per-style N] [--duration S]
[--seed N] [--styles a,b] [--workers W]``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SAMPLE_RATE = 44100
GAIN = 0.5
RENDER_VERSION = "1"  # bump when the rendering/trim code changes

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KEYS = tuple(f"{n} {m}" for m in ("major", "minor") for n in NOTE_NAMES)

STYLE_TEMPO: dict[str, tuple[float, float]] = {
    "four_on_floor": (90.0, 150.0),
    "backbeat": (60.0, 180.0),
    "half_time": (120.0, 180.0),
    "swung": (60.0, 180.0),
    "drumless": (60.0, 160.0),
}
STYLES = tuple(STYLE_TEMPO)

# GM drum notes
KICK, RIM, SNARE, CLAP, CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 36, 37, 38, 39, 42, 44, 46
CRASH, RIDE, RIDE_BELL, TAMBOURINE, SHAKER, LOW_TOM = 49, 51, 53, 54, 70, 45

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
MAJ, MIN, DIM = (0, 4, 7), (0, 3, 7), (0, 3, 6)
DOM7, MAJ7, MIN7, HDIM7 = (0, 4, 7, 10), (0, 4, 7, 11), (0, 3, 7, 10), (0, 3, 6, 10)

# Roman numeral -> (root offset from the tonic in semitones, chord intervals)
CHORDS: dict[str, tuple[int, tuple[int, ...]]] = {
    # major mode
    "I": (0, MAJ), "ii": (2, MIN), "iii": (4, MIN), "IV": (5, MAJ), "V": (7, MAJ),
    "vi": (9, MIN), "Imaj7": (0, MAJ7), "ii7": (2, MIN7), "V7": (7, DOM7), "vi7": (9, MIN7),
    "IVmaj7": (5, MAJ7), "iii7": (4, MIN7),
    # minor mode (V and V7 from the harmonic minor)
    "i": (0, MIN), "iv": (5, MIN), "v": (7, MIN), "III": (3, MAJ), "VI": (8, MAJ),
    "VII": (10, MAJ), "i7": (0, MIN7), "iv7": (5, MIN7), "iiø7": (2, HDIM7), "VImaj7": (8, MAJ7),
}  # fmt: skip
PROGRESSIONS = {
    "major": (
        ("I", "IV", "V", "I"), ("I", "V", "vi", "IV"), ("ii", "V", "I", "I"),
        ("I", "vi", "IV", "V"), ("I", "IV", "vi", "V"), ("I", "iii", "IV", "V"),
        ("I", "IV", "I", "V"), ("I", "V", "IV", "V"),
    ),
    "minor": (
        ("i", "iv", "V", "i"), ("i", "VI", "III", "VII"), ("i", "VII", "VI", "V"),
        ("i", "iv", "VII", "III"), ("i", "VI", "iv", "V"), ("i", "iv", "v", "i"),
        ("i", "VII", "VI", "VII"), ("i", "i", "iv", "V"),
    ),
}  # fmt: skip
JAZZ_PROGRESSIONS = {
    "major": (("ii7", "V7", "Imaj7", "Imaj7"), ("Imaj7", "vi7", "ii7", "V7"),
              ("Imaj7", "IVmaj7", "iii7", "vi7", "ii7", "V7", "Imaj7", "Imaj7")),
    "minor": (("iiø7", "V7", "i7", "i7"), ("i7", "iv7", "V7", "i7"),
              ("i7", "VImaj7", "iiø7", "V7")),
}  # fmt: skip

# GM programs (0-based) per style and role
PROGRAMS: dict[str, dict[str, tuple[int, ...]]] = {
    "four_on_floor": {
        "chords": (0, 4, 5, 16, 48, 50, 81, 88, 89, 90), "lead": (80, 81, 11, 4, 62),
        "bass": (33, 38, 39, 34), "drums": (0, 24, 25, 8),
    },
    "backbeat": {
        "chords": (0, 1, 4, 16, 24, 25, 26, 27, 29), "lead": (65, 56, 73, 80, 11, 66, 29),
        "bass": (32, 33, 34, 35, 36, 37), "drums": (0, 8, 16),
    },
    "half_time": {
        "chords": (88, 89, 90, 91, 48, 49, 0, 4, 5), "lead": (80, 81, 11, 9, 84),
        "bass": (38, 39, 33, 32), "drums": (25, 24, 0),
    },
    "swung": {
        "chords": (0, 1, 4, 26, 11, 16), "lead": (65, 66, 56, 73, 11, 64),
        "bass": (32, 33), "drums": (32, 40, 0),
    },
    "drumless": {
        "chords": (0, 1, 2, 4, 5, 16, 19, 48, 49, 89), "lead": (0, 40, 73, 71, 68, 4, 11),
        "bass": (32, 33, 42), "drums": (),
    },
}  # fmt: skip


@dataclass(frozen=True)
class Piece:
    id: str
    style: str
    bpm: float  # exact MIDI tempo
    key: str  # "A minor", "F# major"
    wav: Path
    midi: Path


@dataclass
class _Spec:
    id: str
    style: str
    bpm: float
    key: str
    seed: int
    duration: float
    programs: dict[str, int] = field(default_factory=dict)


class _Writer:
    """Collects notes per instrument, in beats, and converts to seconds at a fixed tempo."""

    def __init__(self, bpm: float, end_s: float, rng: np.random.Generator) -> None:
        self.midi = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=bpm)
        self.spb = 60.0 / bpm
        self.end_s = end_s
        self.rng = rng
        self.instruments: dict[str, pretty_midi.Instrument] = {}

    def instrument(self, role: str, program: int, *, drum: bool = False) -> None:
        inst = pretty_midi.Instrument(program=program, is_drum=drum, name=role)
        self.instruments[role] = inst
        self.midi.instruments.append(inst)

    def note(self, role: str, pitch: int, beat: float, length: float, velocity: float) -> None:
        start = beat * self.spb
        if start >= self.end_s - 0.05:
            return
        start += float(self.rng.normal(0.0, 0.003))  # a little human timing, ~3 ms
        start = max(0.0, start)
        end = min(start + max(length * self.spb, 0.03), self.end_s)
        vel = int(np.clip(round(velocity + self.rng.normal(0.0, 5.0)), 1, 127))
        self.instruments[role].notes.append(
            pretty_midi.Note(velocity=vel, pitch=int(pitch), start=start, end=end)
        )


def _midi_bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def _voice_chord(
    pcs: Sequence[int], previous: list[int] | None, rng: np.random.Generator
) -> list[int]:
    """A close-position voicing of the pitch classes with its lowest note in 52-64, the one
    nearest the previous voicing (voice leading)."""
    candidates = []
    for bottom in range(52, 65):
        if bottom % 12 not in pcs:
            continue
        notes = [bottom]
        for pc in sorted(pcs, key=lambda p: (p - bottom) % 12)[1:]:
            notes.append(bottom + (pc - bottom) % 12)
        candidates.append(sorted(notes))
    if previous is None:
        return candidates[int(rng.integers(len(candidates)))]

    def distance(voicing: list[int]) -> float:
        return float(sum(min(abs(n - p) for p in previous) for n in voicing))

    return min(candidates, key=distance)


def _scale(tonic: int, mode: str) -> list[int]:
    steps = MAJOR if mode == "major" else MINOR
    return [tonic + s + 12 * octave for octave in range(1, 9) for s in steps]


def _compose(spec: _Spec) -> bytes:
    rng = np.random.default_rng(spec.seed)
    style = spec.style
    tonic_name, mode = spec.key.split()
    tonic = NOTE_NAMES.index(tonic_name)
    beats_per_bar = 4
    spb = 60.0 / spec.bpm
    bars = int(np.ceil(spec.duration / (beats_per_bar * spb)))
    w = _Writer(spec.bpm, spec.duration + 0.5, rng)
    programs = PROGRAMS[style]

    def pick(role: str) -> int:
        program = int(rng.choice(programs[role]))
        spec.programs[role] = program
        return program

    w.instrument("chords", pick("chords"))
    melodic = style != "drumless" or rng.random() < 0.8
    if melodic:
        w.instrument("lead", pick("lead"))
    has_bass = style != "drumless" or rng.random() < 0.6
    if has_bass:
        w.instrument("bass", pick("bass"))
    if programs["drums"]:
        w.instrument("drums", pick("drums"), drum=True)

    jazz = style == "swung"
    shuffle = jazz and rng.random() < 0.35
    swing = float(rng.uniform(0.6, 0.67)) if jazz else 0.5
    table = JAZZ_PROGRESSIONS if jazz and not shuffle else PROGRESSIONS
    progression = table[mode][int(rng.integers(len(table[mode])))]
    if shuffle:  # a blues-ish shuffle over a plain progression, with sevenths
        progression = tuple(
            {"I": "Imaj7", "IV": "IVmaj7", "V": "V7", "i": "i7", "iv": "iv7"}.get(c, c)
            for c in progression
        )
    bars_per_chord = 2 if spec.bpm >= 135 and style != "swung" and rng.random() < 0.7 else 1

    def swung(beat: float) -> float:
        """Delays off-beat 8ths by the swing ratio."""
        whole, frac = divmod(beat, 1.0)
        return whole + (swing if abs(frac - 0.5) < 1e-9 else frac)

    scale = _scale(tonic, mode)
    leading = (tonic + 11) % 12
    previous: list[int] | None = None
    chord_per_bar = []
    for bar in range(bars):
        numeral = progression[(bar // bars_per_chord) % len(progression)]
        root, intervals = CHORDS[numeral]
        pcs = [(tonic + root + i) % 12 for i in intervals]
        voicing = _voice_chord(pcs, previous, rng)
        previous = voicing
        chord_per_bar.append((tonic + root, pcs, voicing))

    # ---- chords
    comp = str(
        rng.choice(
            {
                "four_on_floor": ("offbeat", "held", "stabs"),
                "backbeat": ("held", "eighths", "strum"),
                "half_time": ("held", "held", "offbeat"),
                "swung": ("charleston", "quarters"),
                "drumless": ("held", "arpeggio", "broken", "quarters"),
            }[style]
        )
    )
    if shuffle:
        comp = "quarters"
    chord_vel = float(rng.uniform(55, 80))
    for bar, (_root, _pcs, voicing) in enumerate(chord_per_bar):
        b0 = bar * beats_per_bar
        if comp == "held":
            for n in voicing:
                w.note("chords", n, b0, beats_per_bar * 0.98, chord_vel)
        elif comp == "offbeat":
            for beat in range(beats_per_bar):
                for n in voicing:
                    w.note("chords", n, b0 + beat + 0.5, 0.3, chord_vel)
        elif comp == "stabs":
            for pos in (0.0, 1.5, 3.0) if bar % 2 == 0 else (0.5, 2.0, 2.5):
                for n in voicing:
                    w.note("chords", n, b0 + pos, 0.35, chord_vel + 5)
        elif comp == "eighths":
            for e in range(8):
                for n in voicing:
                    w.note("chords", n, b0 + e / 2, 0.45, chord_vel + (8 if e % 2 == 0 else 0))
        elif comp == "strum":
            for pos, length in ((0.0, 1.5), (1.5, 1.0), (2.5, 0.5), (3.0, 1.0)):
                for i, n in enumerate(voicing):
                    w.note("chords", n, b0 + pos + i * 0.02, length, chord_vel + 6 * (pos == 0))
        elif comp == "quarters":
            for beat in range(beats_per_bar):
                for n in voicing:
                    w.note("chords", n, b0 + beat, 0.8, chord_vel + (6 if beat % 2 == 0 else 0))
        elif comp == "charleston":
            for pos, length in ((0.0, 1.0), (1.5, 0.5)) if bar % 2 == 0 else ((0.5, 1.0), (2.5, 1)):
                for n in voicing:
                    w.note("chords", n, b0 + swung(pos), length, chord_vel)
        elif comp == "arpeggio":
            pattern = [*voicing, voicing[-1] + 12 - (12 if len(voicing) > 3 else 0)]
            order = [0, 1, 2, 3, 2, 1, 0, 1] if len(pattern) >= 4 else [0, 1, 2, 1] * 2
            for e, idx in enumerate(order):
                w.note("chords", pattern[idx % len(pattern)], b0 + e / 2, 0.9, chord_vel)
        elif comp == "broken":  # left-hand root + right-hand chord
            w.note("chords", voicing[0] - 12, b0, 2.0, chord_vel)
            for n in voicing:
                w.note("chords", n, b0 + 1.0, 0.9, chord_vel - 5)
                w.note("chords", n, b0 + 2.0, 0.9, chord_vel)
                w.note("chords", n, b0 + 3.0, 0.9, chord_vel - 5)

    # ---- bass
    if has_bass:
        bass_vel = float(rng.uniform(75, 100))
        low = 36 if style != "half_time" else 28
        bass_mode = {
            "four_on_floor": ("offbeat", "roots8"),
            "backbeat": ("roots8", "root5", "syncopated"),
            "half_time": ("long", "long", "syncopated"),
            "swung": ("walking",),
            "drumless": ("long", "root5"),
        }[style]
        bass_style = str(rng.choice(bass_mode))
        for bar, (root, _pcs, _voicing) in enumerate(chord_per_bar):
            b0 = bar * beats_per_bar
            r = low + (root - low) % 12
            fifth = r + 7
            next_root = chord_per_bar[(bar + 1) % len(chord_per_bar)][0]
            nr = low + (next_root - low) % 12
            if bass_style == "offbeat":
                for beat in range(beats_per_bar):
                    w.note("bass", r, b0 + beat + 0.5, 0.4, bass_vel)
            elif bass_style == "roots8":
                for e in range(8):
                    w.note("bass", r + (12 if e == 6 and bar % 2 else 0), b0 + e / 2, 0.45,
                           bass_vel - 8 * (e % 2))  # fmt: skip
            elif bass_style == "root5":
                w.note("bass", r, b0, 1.5, bass_vel)
                w.note("bass", fifth, b0 + 2.0, 1.0, bass_vel - 6)
                w.note("bass", r if rng.random() < 0.5 else r + 12, b0 + 3.0, 0.9, bass_vel)
            elif bass_style == "syncopated":
                for pos, pitch in ((0.0, r), (0.75, r), (2.5, r), (3.5, fifth)):
                    w.note("bass", pitch, b0 + pos, 0.5, bass_vel)
            elif bass_style == "long":
                w.note("bass", r, b0, 2.75, bass_vel)
                w.note("bass", r if rng.random() < 0.6 else fifth, b0 + 3.0, 0.9, bass_vel - 10)
            elif bass_style == "walking":
                pcs = chord_per_bar[bar][1]
                tones = [low + (pc - low) % 12 for pc in pcs]
                line = [
                    r,
                    tones[min(1, len(tones) - 1)],
                    fifth if rng.random() < 0.6 else tones[-1],
                ]
                approach = nr + (1 if rng.random() < 0.5 else -1)  # chromatic approach
                line.append(approach)
                for beat, pitch in enumerate(line):
                    w.note("bass", pitch, b0 + beat, 0.9, bass_vel - 6 * (beat % 2))

    # ---- melody / lead
    if melodic:
        lead_vel = float(rng.uniform(70, 95))
        register = [n for n in scale if 64 <= n <= 86]
        rhythms = (
            (0.0, 1.0, 1.5, 2.0, 3.0),
            (0.0, 0.5, 1.0, 2.0, 2.5, 3.0),
            (0.0, 2.0, 3.0, 3.5),
            (0.0, 1.5, 2.0, 3.5),
            (0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
            (0.0, 3.0),
        )
        if spec.bpm > 140:
            rhythms = rhythms[2:]
        motif = [rhythms[int(rng.integers(len(rhythms)))] for _ in range(2)]
        current = int(rng.choice([n for n in register if n % 12 == tonic % 12]))
        for bar, (_root, pcs, _voicing) in enumerate(chord_per_bar):
            b0 = bar * beats_per_bar
            positions = motif[bar % 2]
            if bar % 8 == 7:  # breathe at phrase ends
                positions = (0.0, 2.0)
            for i, pos in enumerate(positions):
                end = positions[i + 1] if i + 1 < len(positions) else beats_per_bar
                strong = pos in (0.0, 2.0)
                if strong:
                    tones = [n for n in register if n % 12 in pcs]
                    current = min(tones, key=lambda n: (abs(n - current), rng.random()))
                else:
                    idx = register.index(current) if current in register else 0
                    step = int(rng.choice((-2, -1, -1, 1, 1, 2)))
                    current = register[int(np.clip(idx + step, 0, len(register) - 1))]
                    if mode == "minor" and leading in pcs and current % 12 == (leading - 1) % 12:
                        current += 1  # raised 7th over the harmonic-minor V
                w.note("lead", current, b0 + swung(pos), (end - pos) * 0.9,
                       lead_vel + (8 if strong else 0))  # fmt: skip

    # ---- drums
    if programs["drums"]:
        _drums(w, style, bars, rng, swung, shuffle)

    return _midi_bytes(w.midi)


def _drums(
    w: _Writer,
    style: str,
    bars: int,
    rng: np.random.Generator,
    swung: Callable[[float], float],
    shuffle: bool,
) -> None:
    d = "drums"
    # Half-time hats always run 16ths at the notated tempo (see the module docstring).
    hats16 = rng.random() < 0.5 or style == "half_time"
    use_clap = rng.random() < 0.5
    back = CLAP if use_clap else SNARE
    kick_patterns = (
        (0.0, 2.0), (0.0, 2.5), (0.0, 1.5, 2.0), (0.0, 2.0, 2.5), (0.0, 0.5, 2.0), (0.0, 2.75),
    )  # fmt: skip
    chosen = [kick_patterns[int(rng.integers(len(kick_patterns)))] for _ in range(2)]
    for bar in range(bars):
        b0 = bar * 4
        fill = bar % 4 == 3
        if bar % 8 == 0:
            w.note(d, CRASH, b0, 1.0, 95)
        if style == "four_on_floor":
            for beat in range(4):
                w.note(d, KICK, b0 + beat, 0.2, 110)
                w.note(d, OPEN_HAT, b0 + beat + 0.5, 0.25, 80)
                if beat in (1, 3):
                    w.note(d, back, b0 + beat, 0.2, 100)
                if hats16:
                    for s in (0.25, 0.75):
                        w.note(d, CLOSED_HAT, b0 + beat + s, 0.1, 55)
            if use_clap and rng.random() < 0.3:
                w.note(d, TAMBOURINE, b0 + 1.5, 0.1, 60)
        elif style == "backbeat":
            for pos in chosen[bar % 2]:
                w.note(d, KICK, b0 + pos, 0.2, 105)
            for beat in (1, 3):
                w.note(d, SNARE, b0 + beat, 0.2, 105)
            step = 0.25 if hats16 else 0.5
            for i in range(int(4 / step)):
                pos = i * step
                accent = 75 if abs(pos % 1.0) < 1e-9 else 55
                if fill and pos >= 3.0:
                    w.note(d, SNARE if i % 2 else LOW_TOM, b0 + pos, 0.1, 80)
                else:
                    w.note(d, CLOSED_HAT, b0 + pos, 0.1, accent)
            if hats16 and rng.random() < 0.5:  # funk ghost notes
                w.note(d, SNARE, b0 + 1.75, 0.1, 35)
                w.note(d, SNARE, b0 + 2.25, 0.1, 30)
        elif style == "half_time":
            kicks = (0.0, 0.75, 2.5) if bar % 2 == 0 else (0.0, 1.5, 3.25)
            for pos in kicks:
                w.note(d, KICK, b0 + pos, 0.3, 110)
            w.note(d, back, b0 + 2.0, 0.2, 110)
            if use_clap:
                w.note(d, SNARE, b0 + 2.0, 0.2, 70)
            step = 0.25 if hats16 else 0.5
            for i in range(int(4 / step)):
                pos = i * step
                if fill and 3.0 <= pos < 4.0 and rng.random() < 0.7:  # triplet roll
                    continue
                w.note(d, CLOSED_HAT, b0 + pos, 0.1, 72 if i % 2 == 0 else 64)
            if fill:
                for t in range(6):  # triplet 16ths on beat 4
                    w.note(d, CLOSED_HAT, b0 + 3.0 + t / 6, 0.08, 50 + 6 * t)
        elif style == "swung":
            if shuffle:
                for beat in range(4):
                    w.note(d, CLOSED_HAT, b0 + beat, 0.1, 80)
                    w.note(d, CLOSED_HAT, b0 + swung(beat + 0.5), 0.1, 55)
                for pos in (0.0, 2.0, 2.5) if bar % 2 else (0.0, 2.0):
                    w.note(d, KICK, b0 + swung(pos), 0.2, 100)
                for beat in (1, 3):
                    w.note(d, SNARE, b0 + beat, 0.2, 95)
            else:
                for beat in range(4):
                    w.note(d, RIDE, b0 + beat, 0.3, 85 if beat % 2 else 75)
                    if beat in (1, 3):
                        w.note(d, RIDE, b0 + swung(beat + 0.5), 0.2, 60)
                        w.note(d, PEDAL_HAT, b0 + beat, 0.1, 70)
                    w.note(d, KICK, b0 + beat, 0.2, 30)  # feathered
                if rng.random() < 0.5:  # snare comping
                    w.note(d, SNARE, b0 + swung(float(rng.choice((1.5, 2.5, 3.5)))), 0.1, 55)


def _specs(count_per_style: int, duration: float, seed: int, styles: Sequence[str]) -> list[_Spec]:
    specs = []
    for s_index, style in enumerate(STYLES):
        if style not in styles:
            continue
        rng = np.random.default_rng([seed, s_index])
        low, high = STYLE_TEMPO[style]
        strata = rng.permutation(count_per_style)
        key_order = rng.permutation(len(KEYS))
        for i in range(count_per_style):
            # stratified: piece i gets its own slice of the tempo range, jittered inside it
            u = (strata[i] + rng.uniform(0.05, 0.95)) / count_per_style
            bpm = round(low + u * (high - low), 2)
            key = KEYS[int(key_order[i % len(KEYS)])]
            piece_seed = int(rng.integers(2**31))
            specs.append(_Spec(f"{style}-{i:02d}", style, bpm, key, piece_seed, duration))
    return specs


def _read_tempo(data: bytes) -> float:
    midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    _, tempi = midi.get_tempo_changes()
    return float(tempi[0])


def _render(midi_path: Path, wav_path: Path, duration: float, peak_db: float) -> None:
    """fluidsynth fast render (float, 44.1 kHz stereo), cut at ``duration``, peak-scaled, 24-bit.
    One synthesis thread and a fixed period size keep the render byte-identical between runs."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "render.wav"
        cmd = [
            "fluidsynth", "-ni", "-q", "-g", str(GAIN), "-r", str(SAMPLE_RATE),
            "-T", "wav", "-O", "float", "-o", "synth.cpu-cores=1",
            "-F", str(raw), str(SOUNDFONT), str(midi_path),
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not raw.exists():
            raise RuntimeError(f"fluidsynth failed ({done.returncode}): {done.stderr[-2000:]}")
        audio, rate = sf.read(raw, dtype="float32", always_2d=True)
    frames = round(duration * rate)
    audio = audio[:frames]
    if audio.shape[0] < frames:
        audio = np.pad(audio, ((0, frames - audio.shape[0]), (0, 0)))
    fade = int(0.02 * rate)
    audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    peak = float(np.max(np.abs(audio)))
    if peak > 0:
        audio *= np.float32(10 ** (peak_db / 20) / peak)
    tmp_wav = wav_path.with_suffix(".tmp.wav")
    sf.write(tmp_wav, audio, rate, subtype="PCM_24")
    tmp_wav.replace(wav_path)


def check_tools() -> None:
    """Raise RuntimeError naming what is missing (fluidsynth CLI, FluidR3_GM.sf2)."""
    missing = []
    if shutil.which("fluidsynth") is None:
        missing.append("the fluidsynth CLI (apt-get install fluidsynth)")
    if not SOUNDFONT.exists():
        missing.append(f"{SOUNDFONT} (apt-get install fluid-soundfont-gm)")
    if missing:
        raise RuntimeError("cannot build the evaluation set, missing: " + "; ".join(missing))


_SUMMARY_I = re.compile(r"^\s*I:\s+(-?inf|-?[\d.]+) LUFS", re.MULTILINE)
_SUMMARY_PEAK = re.compile(r"^\s*Peak:\s+(-?inf|-?[\d.]+) dBFS", re.MULTILINE)


def ffmpeg_loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of an audio file by ffmpeg's ebur128 filter.

    Parses the filter's end-of-stream summary (``I: -21.1 LUFS``, ``Peak: -18.1 dBFS``; one
    decimal). Raises RuntimeError when ffmpeg is missing or its output has no summary."""
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is not installed (apt-get install ffmpeg)")
    cmd = [
        "ffmpeg", "-nostats", "-hide_banner", "-nostdin", "-i", str(path),
        "-filter_complex", "ebur128=peak=true", "-f", "null", "-",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    summary = done.stderr.rpartition("Summary:")[2]
    lufs, peak = _SUMMARY_I.search(summary), _SUMMARY_PEAK.search(summary)
    if done.returncode != 0 or lufs is None or peak is None:
        raise RuntimeError(f"ffmpeg ebur128 failed on {path}: {done.stderr[-1500:]}")
    return float(lufs.group(1)), float(peak.group(1))


def _build_one(spec: _Spec, directory: Path) -> Piece:
    data = _compose(spec)
    bpm = _read_tempo(data)
    peak_db = -1.0 - 5.0 * (spec.seed % 1000) / 1000.0
    digest = hashlib.sha256(
        data + f"|{spec.duration}|{peak_db}|{GAIN}|{RENDER_VERSION}".encode()
    ).hexdigest()[:12]
    midi_path = directory / f"{spec.id}.mid"
    wav_path = directory / f"{spec.id}-{digest}.wav"
    if not midi_path.exists() or midi_path.read_bytes() != data:
        midi_path.write_bytes(data)
    if not wav_path.exists():
        for stale in directory.glob(f"{spec.id}-*.wav"):
            stale.unlink()
        _render(midi_path, wav_path, spec.duration, peak_db)
    manifest = {
        "id": spec.id, "style": spec.style, "bpm": bpm, "key": spec.key,
        "programs": spec.programs, "seed": spec.seed, "duration": spec.duration,
        "wav": wav_path.name, "mid": midi_path.name,
    }  # fmt: skip
    (directory / f"{spec.id}.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return Piece(spec.id, spec.style, bpm, spec.key, wav_path, midi_path)


def build_evalset(
    directory: Path,
    *,
    count_per_style: int = 24,
    duration: float = 30.0,
    seed: int = 0,
    styles: Sequence[str] | None = None,
    workers: int = 2,
) -> list[Piece]:
    """Write (or reuse) the labelled pieces under ``directory`` and return them in order.

    Only pieces whose MIDI or render settings changed are re-rendered. Raises RuntimeError when
    fluidsynth or the SoundFont is missing, ValueError for an unknown style."""
    chosen = tuple(STYLES if styles is None else styles)
    unknown = set(chosen) - set(STYLES)
    if unknown:
        raise ValueError(f"unknown styles {sorted(unknown)}; known: {', '.join(STYLES)}")
    check_tools()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    specs = _specs(count_per_style, duration, seed, chosen)
    # The work is in the fluidsynth subprocesses, so threads are enough to run `workers` renders.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pieces = list(pool.map(lambda spec: _build_one(spec, directory), specs))
    index = [
        {"id": p.id, "style": p.style, "bpm": p.bpm, "key": p.key, "wav": p.wav.name}
        for p in pieces
    ]
    (directory / "manifest.json").write_text(json.dumps(index, indent=1) + "\n")
    return pieces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the set into")
    parser.add_argument("--count-per-style", type=int, default=24)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per piece")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--styles", default=None, help="comma-separated subset of " + ",".join(STYLES)
    )
    parser.add_argument("--workers", type=int, default=2, help="concurrent fluidsynth renders")
    args = parser.parse_args()
    styles = None if args.styles is None else [s.strip() for s in args.styles.split(",")]
    pieces = build_evalset(
        args.out, count_per_style=args.count_per_style, duration=args.duration, seed=args.seed,
        styles=styles, workers=args.workers,
    )  # fmt: skip
    for p in pieces:
        print(f"{p.id:18s} {p.bpm:7.2f} BPM  {p.key:9s}  {p.wav}")
    print(f"{len(pieces)} pieces in {args.out}")


if __name__ == "__main__":
    main()
