"""Write a four-part General MIDI arrangement from a :class:`MusicalIntent`.

Everything sits on a 16th-note grid at exactly ``intent.bpm`` (swing only delays off-beats), the
progression opens on the tonic and closes dominant→tonic, and the bass states chord roots: the
analysis stage measures tempo and key from the rendered audio, so the music must make both
unambiguous. Patterns are 16-step strings so a genre's groove reads at a glance and stays data.
All randomness comes from one ``numpy.random.default_rng(seed)`` so a seed replays exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pretty_midi

from dgx_music.engines.symbolic.prompt import INSTRUMENT_HINTS, SHARP_NAMES, MusicalIntent

PARTS = ("drums", "bass", "chords", "lead")
STEPS = 16
MIN_NOTE_S = 0.02
BASS_LOW = 33  # A1: bass roots sit in A1..G#2, low enough to anchor the key, high enough to hear
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 0, 4), (0, 5, 1, 4), (0, 3, 4, 3)),
    "minor": ((0, 5, 2, 6), (0, 3, 5, 4), (0, 6, 5, 6), (0, 3, 0, 4), (0, 5, 3, 4)),
}
KICK, SNARE, CLAP, CHH, PHH, OHH, CRASH, RIDE, LTOM, SHAKER = 36, 38, 39, 42, 44, 46, 49, 51, 45, 70
_VELOCITY = {"o": 50, "x": 84, "X": 108}
_FOUR_ON_FLOOR = ((KICK, "X...X...X...X..."), (CLAP, "....X.......X..."), (OHH, "..x...x...x...x."))
_BACKBEAT = ((KICK, "X.......X.x....."), (SNARE, "....X.......X..."), (CHH, "x.x.x.x.x.x.x.x."))


@dataclass(frozen=True)
class Style:
    """How one genre plays: GM programs, kit, and per-part 16-step patterns.

    Pattern letters: ``.`` rest, ``-`` hold; drums ``o``/``x``/``X`` soft/normal/accent; bass
    ``r`` root, ``f`` fifth, ``o`` octave, ``a`` step into the next chord, ``w`` walking; chords
    and lead ``x`` onset.
    """

    programs: tuple[int, int, int]  # bass, chords, lead
    kit: int
    drums: tuple[tuple[int, str], ...]
    bass: str
    chords: str
    lead: tuple[str, ...]
    sevenths: bool = False
    open_chords: bool = False  # root-octave-tenth: distortion supplies the fifth
    swing16: float = 0.0  # fraction of a step the odd 16ths are late
    swing8: float = 0.0  # fraction of a step the off-beat 8ths are late
    chord_bars: int = 1
    hat_rolls: bool = False
    fills: bool = True


STYLES: dict[str, Style] = {
    "lofi hip hop": Style(
        (33, 4, 11), 8,
        ((KICK, "X......x..X....."), (SNARE, "....X.......X..."), (CHH, "x.o.x.o.x.o.x.oo")),
        "r-----.r--f---a.", "x---------------",
        ("x-----x-x-------", "x---x---x-x-----", "..x-x---x-----.."), sevenths=True, swing16=0.3,
    ),
    "boom bap": Style(
        (33, 0, 73), 0,
        ((KICK, "X......X..X....."), (SNARE, "....X.......X..."), (CHH, "x.x.x.x.x.x.x.x.")),
        "r-----r-..f-r-a.", "x-----x-..x-----",
        ("x-x-..x-x-------", "x---..x-x-x-....", "..x-x-..x---x---"), sevenths=True, swing16=0.2,
    ),
    "trap": Style(
        (38, 89, 10), 25,
        ((KICK, "X.........X....."), (CLAP, "........X......."), (CHH, "XoxoXoxoXoxoXoxo")),
        "r-------..r-----", "x---------------",
        ("x.x.x...x.x.x...", "x-x-x-x-x---x-..", "..x-x-x-x-x-...."), hat_rolls=True,
    ),
    "house": Style(
        (38, 0, 80), 24, (*_FOUR_ON_FLOOR, (SHAKER, "oxoooxoooxoooxoo")),
        "..r-..r-..r-..o-", "x-.x-.x-..x-.x-.",
        ("x-x-x-..x-x-....", "..x-x-..x-x-x-..", "x---x-x-x-------"),
    ),
    "techno": Style(
        (39, 90, 81), 24, (*_FOUR_ON_FLOOR, (CHH, ".o.o.o.o.o.o.o.o")),
        ".rrr.rrr.rrr.rrr", "..x-......x-....",
        ("x.xx.x.xx.x.xx.x", "x..x..x..x..x.x.", "x.x.x.x.xx.x.x.."), chord_bars=2,
    ),
    "trance": Style(
        (38, 90, 81), 24, (*_FOUR_ON_FLOOR, (CHH, ".o.o.o.o.o.o.o.o")),
        "..rr..rr..rr..rr", "..x-..x-..x-..x-",
        ("x-x-x-x-x-x.x-x-", "x-x-x---x-x-x---", "x---x-x-x---x-x-"), chord_bars=2,
    ),
    "drum and bass": Style(
        (38, 89, 81), 24,
        ((KICK, "X.........X....."), (SNARE, "....X..o....X..."), (CHH, "X.x.X.x.X.x.X.x.")),
        "r-----------f---", "x---------------",
        ("x---x---x-x-----", "x-----x-x---x---", "x-x-x---x-------"), chord_bars=2,
    ),
    "synthwave": Style(
        (38, 90, 81), 24, ((KICK, "X.......X......."), *_BACKBEAT[1:]),
        "r-o-r-o-r-o-r-o-", "x---------------",
        ("x-----x-x---x---", "x---x---x-x-x---", "x-x-x---x-------"),
    ),
    "pop": Style(
        (33, 0, 80), 0, _BACKBEAT,
        "r---r-r-r---r-a-", "x---x---x---x---",
        ("x-x-x---x-x-x---", "x---x-x-x-------", "..x-x-x-x---x---"),
    ),
    "rock": Style(
        (34, 29, 30), 16, _BACKBEAT,
        "r-r-r-r-r-r-r-r-", "x-x-x-x-x-x-x-x-",
        ("x---x-x-x---x---", "x-x-x-x-x-------", "x---x---x-x-x---"), open_chords=True,
    ),
    "jazz": Style(
        (32, 0, 65), 32,
        ((RIDE, "X...X.x.X...X.x."), (PHH, "....X.......X..."), (KICK, "o...o...o...o...")),
        "w---w---w---w---", "x--...x-....x-..",
        ("x-x-..x-x-x-....", "..x-x-x-x---x-..", "x-----x-x-x-x---"),
        sevenths=True, swing8=0.66, fills=False,
    ),
    "ambient": Style(
        (89, 88, 11), 0, ((KICK, "x.......x......."), (SHAKER, "x...x...x...x...")),
        "r-------r-------", "x---------------",
        ("x-------x-------", "x-----------x---", "x-------x---x---"), chord_bars=2, fills=False,
    ),
    "cinematic": Style(
        (43, 48, 60), 48, ((KICK, "X.....x.x.....x."), (LTOM, "....x.......x.xx")),
        "r-------r-------", "x---------------",
        ("x-------x---x---", "x-----x-x-------", "x---x---x-------"), chord_bars=2,
    ),
}  # fmt: skip


def programs_for(intent: MusicalIntent) -> dict[str, int]:
    """The genre's GM programs, recoloured by any instrument the prompt asked for."""
    style = STYLES[intent.genre]
    chosen = {"drums": style.kit, **dict(zip(PARTS[1:], style.programs, strict=True))}
    claimed: set[str] = set()
    for hint in intent.instruments:
        part, program = INSTRUMENT_HINTS[hint]
        if part not in claimed:
            chosen[part] = program
            claimed.add(part)
    return chosen


def intro_bars(n_bars: int) -> int:
    """Bars of tonic vamp before the lead enters: long clips get an intro, short ones cannot."""
    return 2 if n_bars >= 8 else 0


def chord_plan(
    intent: MusicalIntent, n_bars: int, last_bar_fraction: float, rng: np.random.Generator
) -> list[int]:
    """Scale degree of each bar's chord: a looping progression framed by tonic and cadence."""
    style = STYLES[intent.genre]
    options = PROGRESSIONS[intent.mode]
    progression = options[int(rng.integers(len(options)))]
    intro = intro_bars(n_bars)
    plan = [0] * intro + [
        progression[(bar // style.chord_bars) % len(progression)] for bar in range(n_bars - intro)
    ]
    # A final bar shorter than half a bar is barely heard, so the tonic then takes two bars.
    tonic_bars = 2 if last_bar_fraction < 0.5 and n_bars >= 3 else 1
    for bar in range(n_bars - tonic_bars, n_bars):
        plan[bar] = 0
    if n_bars - tonic_bars >= 2:
        plan[n_bars - tonic_bars - 1] = 4
    return plan


def _onsets(pattern: str) -> list[tuple[int, int, str]]:
    """(step, length in steps, letter) for each onset in a 16-step pattern."""
    out: list[tuple[int, int, str]] = []
    for step, char in enumerate(pattern):
        if char not in ".-":
            length = 1
            while step + length < len(pattern) and pattern[step + length] == "-":
                length += 1
            out.append((step, length, char))
    return out


def _motif(rhythm: str, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """(step, length, degree offset from the chord root): chord tones on beats, steps between."""
    notes: list[tuple[int, int, int]] = []
    offset = int(rng.choice([0, 2, 4]))
    for step, length, _ in _onsets(rhythm):
        if notes:
            offset += int(rng.choice([-2, -1, 1, 2], p=[0.15, 0.35, 0.35, 0.15]))
            if step % 4 == 0:
                offset = min((0, 2, 4, 7, -3), key=lambda tone: abs(tone - offset))
            offset = min(max(offset, -3), 9)
        notes.append((step, length, offset))
    return notes


class _Score:
    """One composition in progress: the shared grid, harmony and random stream of all parts."""

    def __init__(
        self, intent: MusicalIntent, duration: float, plan: list[int], rng: np.random.Generator
    ) -> None:
        self.style = STYLES[intent.genre]
        self.step_s = 60.0 / intent.bpm / 4
        self.duration = duration
        self.plan = plan
        self.rng = rng
        self.scale = SCALES[intent.mode]
        self.tonic = SHARP_NAMES.index(intent.key_root)
        self.intro = intro_bars(len(plan))

    def pitch(self, degree: int, low: int) -> int:
        """The scale degree's pitch class, placed in the octave starting at ``low``."""
        pc = self.tonic + 12 * (degree // 7) + self.scale[degree % 7]
        return low + (pc - low) % 12

    def time(self, step: float) -> float:
        shift = 0.0
        if step == int(step):
            if int(step) % 2 == 1:
                shift = self.style.swing16
            elif int(step) % 4 == 2:
                shift = self.style.swing8
        return (step + shift) * self.step_s

    def add(
        self, inst: pretty_midi.Instrument, pitch: int, step: float, dur: float, vel: float
    ) -> None:
        """Place a note on the swung grid, clipped to the clip's end; drop it if nothing is left."""
        start, end = self.time(step), min(self.time(step + dur), self.duration)
        if end - start >= MIN_NOTE_S and 0 <= pitch <= 127:
            velocity = int(min(127, max(1, round(vel + self.rng.normal(0, 5)))))
            inst.notes.append(pretty_midi.Note(velocity, int(pitch), start, end))

    def drums(self, inst: pretty_midi.Instrument, bar: int) -> None:
        style, base, last = self.style, bar * STEPS, len(self.plan) - 1
        fill = style.fills and bar % 4 == 3 and bar < last
        for note, pattern in style.drums:
            if bar < self.intro and note in (KICK, SNARE, CLAP):
                continue
            for step, _, char in _onsets(pattern):
                if not (fill and step >= 12 and note in (SNARE, CHH)):
                    self.add(inst, note, base + step, 1, _VELOCITY[char] + 6 * (step == 0))
            if style.hat_rolls and note == CHH and self.rng.random() < 0.5:
                beat, hits = int(self.rng.integers(4)) * 4 + 2, int(self.rng.choice([3, 4]))
                for k in range(hits):
                    self.add(inst, CHH, base + beat + 2 * k / hits, 2 / hits, 62 + 8 * k)
        if fill:
            for k, step in enumerate(range(12, 16)):
                self.add(inst, SNARE, base + step, 1, 70 + 10 * k)
        if style.fills and (bar in (self.intro, last) or (bar > self.intro and bar % 8 == 0)):
            self.add(inst, CRASH, base, 8, 100)

    def bass(self, inst: pretty_midi.Instrument, bar: int) -> None:
        chord = self.plan[bar]
        following = self.plan[bar + 1] if bar + 1 < len(self.plan) else 0
        root, landing = self.pitch(chord, BASS_LOW), self.pitch(following, BASS_LOW)
        # One scale step below the next root, so the line leans into the change.
        approach = landing - (landing - self.pitch(following + 6, 0)) % 12
        pattern = self.style.bass if bar < len(self.plan) - 1 else "r---------------"
        for step, length, char in _onsets(pattern):
            if char == "w" and step < 12:
                walk = (0, int(self.rng.choice([2, 4])), int(self.rng.choice([4, 5, 2])))
                pitch = self.pitch(chord + walk[step // 4], root)
            else:
                pitch = {"r": root, "f": root + 7, "o": root + 12}.get(char, approach)
            self.add(inst, pitch, bar * STEPS + step, length, 92 + 8 * (step % 4 == 0))

    def chords(self, inst: pretty_midi.Instrument, bar: int) -> None:
        chord = self.plan[bar]
        if self.style.open_chords:
            root = self.pitch(chord, 40)
            pitches = [root, root + 12, self.pitch(chord + 2, root + 12)]
        else:
            degrees = [chord, chord + 2, chord + 4] + [chord + 6] * self.style.sevenths
            pitches = sorted(self.pitch(d, 53) for d in degrees)
        pattern = self.style.chords if bar < len(self.plan) - 1 else "x---------------"
        for step, length, _ in _onsets(pattern):
            accent = 62 + 10 * (step % 4 == 0) + 6 * (step == 0)  # gates pump on the beat
            for pitch in pitches:
                self.add(inst, pitch, bar * STEPS + step, length, accent)

    def lead(self, inst: pretty_midi.Instrument) -> None:
        """A one-bar motif stated three times over the changes, then a cadential answer."""
        rhythms, rng = self.style.lead, self.rng
        first = _motif(rhythms[int(rng.integers(len(rhythms)))], rng)
        answer = _motif(rhythms[int(rng.integers(len(rhythms)))], rng)
        answer[-1] = (answer[-1][0], STEPS - answer[-1][0], 0)  # the answer lands on the root
        for bar in range(self.intro, len(self.plan)):
            chord, phrase_bar = self.plan[bar], (bar - self.intro) % 4
            if bar == len(self.plan) - 1:
                motif = [(0, STEPS, 0)]
            elif phrase_bar == 3:
                motif = answer
            else:
                motif = list(first)
                if (bar - self.intro) // 4 % 2 == 1 and phrase_bar == 2:
                    k = int(rng.integers(len(motif)))
                    step, length, offset = motif[k]
                    motif[k] = (step, length, offset + int(rng.choice([-1, 1])))
            # Keep the motif's first note near a sixth above middle-C's octave of the tonic.
            octave = 7 * round((5 - chord - motif[0][2]) / 7)
            for step, length, offset in motif:
                degree = chord + offset + octave
                pitch = 60 + self.tonic + 12 * (degree // 7) + self.scale[degree % 7]
                self.add(inst, pitch, bar * STEPS + step, length, 84 + 10 * (step % 4 == 0))


def _tidy(inst: pretty_midi.Instrument) -> None:
    """Cut a note where the same pitch restarts: a synth cannot sound one key twice at once."""
    inst.notes.sort(key=lambda n: (n.start, n.pitch))
    last: dict[int, pretty_midi.Note] = {}
    for note in inst.notes:
        previous = last.get(note.pitch)
        if previous is not None and previous.end > note.start:
            previous.end = note.start
        last[note.pitch] = note
    inst.notes = [n for n in inst.notes if n.end - n.start >= MIN_NOTE_S]


def compose(intent: MusicalIntent, duration_s: float, seed: int) -> pretty_midi.PrettyMIDI:
    """The whole arrangement, ``duration_s`` long, identical for identical arguments."""
    if duration_s <= 0:
        raise ValueError("duration_s must be positive")
    rng = np.random.default_rng(seed)
    bar_s = 4 * 60.0 / intent.bpm
    n_bars = max(1, math.ceil(duration_s / bar_s - 1e-9))
    plan = chord_plan(intent, n_bars, duration_s / bar_s - (n_bars - 1), rng)
    score = _Score(intent, duration_s, plan, rng)

    midi = pretty_midi.PrettyMIDI(initial_tempo=intent.bpm, resolution=480)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    midi.key_signature_changes.append(
        pretty_midi.KeySignature(score.tonic + 12 * (intent.mode == "minor"), 0.0)
    )
    programs = programs_for(intent)
    parts = {
        name: pretty_midi.Instrument(programs[name], is_drum=name == "drums", name=name)
        for name in PARTS
    }
    for bar in range(n_bars):
        score.drums(parts["drums"], bar)
        score.bass(parts["bass"], bar)
        score.chords(parts["chords"], bar)
    score.lead(parts["lead"])
    for name in PARTS:
        _tidy(parts[name])
        midi.instruments.append(parts[name])
    return midi
