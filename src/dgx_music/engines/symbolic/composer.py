"""Write a General MIDI arrangement (drums, bass, chords, lead) from a :class:`MusicalIntent`.

Everything sits on a 16th-note grid at exactly ``intent.bpm`` (swing and a few milliseconds of
human feel only in genres played that way); the song opens on the tonic and, unless it is a
loop, closes dominant→tonic, and the bass states chord roots: the analysis stage measures tempo
and key from the rendered audio, so the music must make both unambiguous. Longer clips get a
song form (intro, verse/chorus sections on two progressions, breakdowns, fills at section ends,
an outro) so a minute of music develops instead of repeating one bar. All randomness comes from
one ``numpy.random.default_rng(seed)`` so a seed replays exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pretty_midi

from dgx_music.engines.symbolic.prompt import GENRES, INSTRUMENT_HINTS, SHARP_NAMES, MusicalIntent
from dgx_music.engines.symbolic.styles import (
    CHH,
    CLAP,
    CRASH,
    JAZZ_PROGRESSIONS,
    KICK,
    OHH,
    PROGRESSIONS,
    SCALES,
    SNARE,
    STYLES,
    Style,
)

__all__ = [
    "PARTS",
    "STYLES",
    "Style",
    "chord_plan",
    "compose",
    "programs_for",
    "section_starts",
    "song_form",
]

PARTS = ("drums", "bass", "chords", "lead")
STEPS = 16
MIN_NOTE_S = 0.02
BASS_LOW = 33  # A1: bass roots sit in A1..G#2, low enough to anchor the key, high enough to hear
CHORD_CENTRE = 62  # voicings gravitate around D4 so they never drift out of the pad's range
_VELOCITY = {"o": 50, "x": 84, "X": 108}
_SECTION_CYCLE = "ABABCB"
"""Verse, chorus, verse, chorus, breakdown, chorus… one letter per section of the body."""


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
    if not intent.drums:
        del chosen["drums"]
    return chosen


def song_form(n_bars: int, loop: bool) -> list[str]:
    """One section letter per bar: I intro, A verse, B chorus, C breakdown, O outro.

    A loop has neither intro nor outro (it must sound the same wherever it repeats from).
    """
    if loop:
        half = n_bars // 2 if n_bars >= 8 else n_bars
        return ["A"] * half + ["B"] * (n_bars - half)
    intro = 0 if n_bars < 8 else 2 if n_bars < 24 else 4
    outro = 0 if n_bars < 6 else 1 if n_bars < 16 else 2
    body = n_bars - intro - outro
    section = 8 if body >= 16 else 4
    labels = [_SECTION_CYCLE[(bar // section) % len(_SECTION_CYCLE)] for bar in range(body)]
    if labels and labels[-1] == "C":  # a song ends on a last chorus, not in a breakdown
        labels = [
            label if label != "C" or bar < body - section else "B"
            for bar, label in enumerate(labels)
        ]
    return ["I"] * intro + labels + ["O"] * outro


SECTION_NAMES = {"I": "intro", "A": "verse", "B": "chorus", "C": "breakdown", "O": "outro"}


def section_starts(form: list[str]) -> list[tuple[int, str]]:
    """(first bar, name) of each section of a song form: where a DAW puts its markers."""
    return [
        (bar, SECTION_NAMES[label])
        for bar, label in enumerate(form)
        if bar == 0 or form[bar - 1] != label
    ]


def chord_plan(
    intent: MusicalIntent,
    form: list[str],
    last_bar_fraction: float,
    rng: np.random.Generator,
    loop: bool = False,
) -> list[int]:
    """Scale degree of each bar's chord: verse/chorus progressions framed by tonic and cadence."""
    style = STYLES[intent.genre]
    options = (JAZZ_PROGRESSIONS if style.jazz_changes else PROGRESSIONS)[intent.mode]
    first = int(rng.integers(len(options)))
    second = (first + 1 + int(rng.integers(len(options) - 1))) % len(options)
    plan: list[int] = []
    for bar, label in enumerate(form):
        start = bar
        while start > 0 and form[start - 1] == label:
            start -= 1
        progression = options[second if label == "B" else first]
        position = (bar - start) // (style.chord_bars * (2 if label == "C" else 1))
        plan.append(0 if label == "I" else progression[position % len(progression)])
    n_bars = len(plan)
    if loop:
        return plan
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


def _voicing(pcs: list[int], previous: list[int] | None) -> list[int]:
    """The inversion of ``pcs`` nearest the previous chord: voice leading, not parallel blocks."""
    candidates: list[list[int]] = []
    for bottom in range(CHORD_CENTRE - 10, CHORD_CENTRE + 2):
        if bottom % 12 in pcs:
            stack = [bottom]
            for pc in pcs[pcs.index(bottom % 12) + 1 :] + pcs[: pcs.index(bottom % 12)]:
                stack.append(stack[-1] + (pc - stack[-1]) % 12)
            candidates.append(stack)

    def cost(stack: list[int]) -> float:
        centre = abs(sum(stack) / len(stack) - CHORD_CENTRE)
        if previous is None or len(previous) != len(stack):
            return centre
        return sum(abs(a - b) for a, b in zip(stack, previous, strict=True)) + 0.3 * centre

    return min(candidates, key=cost)


class _Score:
    """One composition in progress: the shared grid, form, harmony and random stream."""

    def __init__(
        self,
        intent: MusicalIntent,
        duration: float,
        form: list[str],
        plan: list[int],
        rng: np.random.Generator,
    ) -> None:
        profile = GENRES[intent.genre]
        self.style = STYLES[intent.genre].at_tempo(intent.bpm, profile.bpm_low, profile.bpm_high)
        self.step_s = 60.0 / intent.bpm / 4
        self.duration = duration
        self.form = form
        self.plan = plan
        self.rng = rng
        self.scale = SCALES[intent.mode]
        self.tonic = SHARP_NAMES.index(intent.key_root)
        self.voicing: list[int] | None = None

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

    def nudge(self) -> float:
        """A player's few milliseconds early or late, in genres played by hand."""
        if not self.style.feel:
            return 0.0
        return float(np.clip(self.rng.normal(0, self.style.feel), -0.02, 0.02))

    def add(
        self,
        inst: pretty_midi.Instrument,
        pitch: int,
        step: float,
        dur: float,
        vel: float,
        nudge: float | None = None,
    ) -> None:
        """Place a note on the swung grid, clipped to the clip's end; drop it if nothing is left."""
        nudge = self.nudge() if nudge is None else nudge
        start = max(0.0, self.time(step) + nudge)
        end = min(self.time(step + dur) + nudge, self.duration)
        velocity = int(min(127, max(1, round(vel + self.rng.normal(0, 5)))))
        if end - start >= MIN_NOTE_S and 0 <= pitch <= 127:
            inst.notes.append(pretty_midi.Note(velocity, int(pitch), start, end))

    def section_end(self, bar: int) -> bool:
        return bar + 1 < len(self.form) and self.form[bar + 1] != self.form[bar]

    def drums(self, inst: pretty_midi.Instrument, bar: int) -> None:
        style, base, label = self.style, bar * STEPS, self.form[bar]
        if label == "O" and bar == len(self.form) - 1:  # the final hit, left to ring (not loops)
            self.add(inst, KICK, base, 2, 110)
            self.add(inst, CRASH, base, 16, 104)
            return
        fill = style.fills and (self.section_end(bar) or (label in "AB" and bar % 4 == 3))
        fill = fill and bar < len(self.form) - 1
        layers = style.drums + (style.lift if label == "B" else ())
        for note, pattern in layers:
            if label in "IC" and note in (KICK, SNARE, CLAP):
                continue
            soft = 0.7 if label == "C" else 1.0
            for step, _, char in _onsets(pattern):
                if not (fill and step >= 12 and note in (SNARE, CHH, OHH)):
                    self.add(inst, note, base + step, 1, soft * _VELOCITY[char] + 6 * (step == 0))
            if style.hat_rolls and note == CHH and self.rng.random() < 0.5:
                beat, hits = int(self.rng.integers(4)) * 4 + 2, int(self.rng.choice([3, 4]))
                for k in range(hits):
                    self.add(inst, CHH, base + beat + 2 * k / hits, 2 / hits, 62 + 8 * k)
        if fill:
            big = self.section_end(bar)
            for k, step in enumerate(range(12, 16)):
                if style.eighths and step % 2:
                    continue
                note = style.fill[k] if big else SNARE
                self.add(inst, note, base + step, 1, 70 + 10 * k)
        starts = bar == 0 or self.form[bar - 1] != label
        if style.fills and starts and label in "ABO" and bar > 0:
            self.add(inst, CRASH, base, 8, 100)

    def bass(self, inst: pretty_midi.Instrument, bar: int, final: bool) -> None:
        chord, label = self.plan[bar], self.form[bar]
        following = self.plan[(bar + 1) % len(self.plan)]
        root, landing = self.pitch(chord, BASS_LOW), self.pitch(following, BASS_LOW)
        # One scale step below the next root, so the line leans into the change.
        approach = landing - (landing - self.pitch(following + 6, 0)) % 12
        pattern = self.style.bass
        if label in "IC" and "w" not in pattern:
            pattern = "r-------r-------"
        if final:
            pattern = "r---------------"
        for step, length, char in _onsets(pattern):
            if char == "w" and step < 12:
                walk = (0, int(self.rng.choice([2, 4])), int(self.rng.choice([4, 5, 2])))
                pitch = self.pitch(chord + walk[step // 4], root)
            elif char == "r" and label == "B" and step == 8 and bar % 2 == 1:
                pitch = root + 12  # choruses lift: an octave jump answers the root
            else:
                pitch = {"r": root, "f": root + 7, "o": root + 12}.get(char, approach)
            self.add(inst, pitch, bar * STEPS + step, length, 92 + 8 * (step % 4 == 0))

    def chords(self, inst: pretty_midi.Instrument, bar: int, final: bool) -> None:
        chord = self.plan[bar]
        if self.style.open_chords:
            root = self.pitch(chord, 40)
            pitches = [root, root + 12, self.pitch(chord + 2, root + 12)]
        else:
            # No seventh on the tonic: I maj7 holds the relative minor's triad (F-A-C-E ⊃ A-C-E)
            # and would pull the key an analyser hears there; the other chords keep their colour.
            seventh = self.style.sevenths and chord % 7 != 0
            degrees = [chord, chord + 2, chord + 4] + [chord + 6] * seventh
            pcs = sorted({self.pitch(d, 0) for d in degrees})
            pitches = self.voicing = _voicing(pcs, self.voicing)
        pattern = "x---------------" if final or self.form[bar] in "IC" else self.style.chords
        for step, length, _ in _onsets(pattern):
            accent = 62 + 10 * (step % 4 == 0) + 6 * (step == 0)  # gates pump on the beat
            together = self.nudge()  # a chord is struck as one
            for pitch in pitches:
                self.add(inst, pitch, bar * STEPS + step, length, accent, together)

    def lead(self, inst: pretty_midi.Instrument, loop: bool) -> None:
        """Motifs stated and varied over the changes: one per verse, one for choruses."""
        rhythms, rng = self.style.lead, self.rng
        motifs = {label: _motif(rhythms[int(rng.integers(len(rhythms)))], rng) for label in "AB"}
        answers = {label: _motif(rhythms[int(rng.integers(len(rhythms)))], rng) for label in "AB"}
        for answer in answers.values():  # answers land on the root
            answer[-1] = (answer[-1][0], STEPS - answer[-1][0], 0)
        last, lift = len(self.plan) - 1, {"A": 0, "B": 2, "O": 0}
        for bar, label in enumerate(self.form):
            if label == "I":
                continue
            chord, phrase_bar = self.plan[bar], bar % 4
            if bar == last and not loop:
                motif = [(0, STEPS, 0)]
            elif label == "C":
                motif = [(0, 8, 2), (8, 8, 4)]  # the breakdown breathes: two long chord tones
            elif phrase_bar == 3 or label == "O":
                motif = answers["B" if label == "B" else "A"]
            else:
                motif = list(motifs["B" if label == "B" else "A"])
                if bar // 4 % 2 == 1 and phrase_bar == 2:
                    k = int(rng.integers(len(motif)))
                    step, length, offset = motif[k]
                    motif[k] = (step, length, offset + int(rng.choice([-1, 1])))
            # Keep the motif's first note near a sixth above middle-C's octave of the tonic.
            octave = 7 * round((5 + lift.get(label, 0) - chord - motif[0][2]) / 7)
            for step, length, offset in motif:
                degree = chord + offset + octave
                pitch = 60 + self.tonic + 12 * (degree // 7) + self.scale[degree % 7]
                self.add(inst, pitch, bar * STEPS + step, length, 84 + 10 * (step % 4 == 0))


def _tidy(inst: pretty_midi.Instrument) -> None:
    """Cut a note where the same pitch restarts: a synth cannot sound one key twice at once."""
    inst.notes.sort(key=lambda n: (n.start, n.pitch, n.end))
    last: dict[int, pretty_midi.Note] = {}
    for note in inst.notes:
        previous = last.get(note.pitch)
        if previous is not None and previous.end > note.start:
            previous.end = note.start
        last[note.pitch] = note
    inst.notes = [n for n in inst.notes if n.end - n.start >= MIN_NOTE_S]


def compose(
    intent: MusicalIntent, duration_s: float, seed: int, *, loop: bool = False
) -> pretty_midi.PrettyMIDI:
    """The whole arrangement, ``duration_s`` long, identical for identical arguments.

    A ``loop`` has no intro, ending or final cadence: its last bar leads back into its first.
    """
    if duration_s <= 0:
        raise ValueError("duration_s must be positive")
    rng = np.random.default_rng(seed)
    bar_s = 4 * 60.0 / intent.bpm
    n_bars = max(1, math.ceil(duration_s / bar_s - 1e-9))
    form = song_form(n_bars, loop)
    plan = chord_plan(intent, form, duration_s / bar_s - (n_bars - 1), rng, loop)
    score = _Score(intent, duration_s, form, plan, rng)

    midi = pretty_midi.PrettyMIDI(initial_tempo=intent.bpm, resolution=480)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    midi.key_signature_changes.append(
        pretty_midi.KeySignature(score.tonic + 12 * (intent.mode == "minor"), 0.0)
    )
    programs = programs_for(intent)
    parts = {
        name: pretty_midi.Instrument(programs[name], is_drum=name == "drums", name=name)
        for name in PARTS
        if name in programs
    }
    for bar in range(n_bars):
        if "drums" in parts:
            score.drums(parts["drums"], bar)
        final = bar == n_bars - 1 and not loop
        score.bass(parts["bass"], bar, final)
        score.chords(parts["chords"], bar, final)
    score.lead(parts["lead"], loop)
    for inst in parts.values():
        _tidy(inst)
        midi.instruments.append(inst)
    return midi
