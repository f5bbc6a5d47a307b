"""The music of the evaluation set in ``benchmarks/evalset.py``: MIDI pieces from a ``Spec``.

``compose(spec)`` writes one piece (pretty_midi, 960 ticks per beat, one tempo) in the spec's
style and key: a chord progression voiced with voice leading, a bass line, a melody over the
chord tones and, for every style but ``drumless``, a General MIDI drum part. Everything is drawn
from ``spec.seed``, so the same spec gives the same MIDI bytes (the render cache keys on them).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pretty_midi

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

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


@dataclass
class Spec:
    """One piece to write: its label (style, exact tempo, key), seed and length in seconds;
    ``compose`` records the GM programs it picked in ``programs``."""

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


def compose(spec: Spec) -> bytes:
    """The MIDI file bytes of the piece ``spec`` describes (fills ``spec.programs``)."""
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
