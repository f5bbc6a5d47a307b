"""Render each part of a General MIDI score to its own stereo stem with FluidSynth.

Why pyfluidsynth over the system libfluidsynth: the service must synthesise on x86_64 and on
aarch64 (DGX Spark) from a plain ``pip install``. tinysoundfont has no aarch64 wheel and declares
a pyaudio dependency whose build needs the PortAudio headers; midirenderer ships only an x86_64
wheel and its source build needs a Rust toolchain. pyfluidsynth is pure Python (ctypes) over the
system libfluidsynth, which Debian and Ubuntu package as ``libfluidsynth3`` on both
architectures, and FluidSynth is the field's standard SoundFont synthesiser.

Design choices:

* One synth per part, so each stem is clean and the parts can render in parallel threads
  (ctypes drops the GIL inside FluidSynth) while callbacks stay on the caller's thread. The
  synths themselves are created on the caller's thread (see ``render_stems``).
* Audio comes from ``fluid_synth_write_float`` rather than pyfluidsynth's ``get_samples``: the
  16-bit path clips loud parts and adds dither drawn from C ``rand()``, whose state any other
  library in the process can change, which would break bit-identical replays.
* No FluidSynth reverb or chorus: reverb alone cost about a third of the render time, and the
  real-time-factor target (50x for a 30 s clip with stems on two cores) matters more for a
  sketching tool than a room sound the producer will replace anyway. Width comes from panning.
* Loops render their last notes' release past the loop end and add that tail onto the start,
  so the clip played on repeat continues exactly as the music would, with no click or gap.
* Parts keep the General MIDI bank's own balance and the composer's velocities (soft ambient
  drums stay soft); stems are scaled together only if the mix would peak above -1 dBFS.
  Loudness normalisation proper happens later, on the mix.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import pretty_midi

from dgx_music.domain import AudioClip
from dgx_music.engines.base import CancelCheck, EngineError, GenerationCancelled

CHUNK_S = 0.5
TAIL_S = 3.0
"""Seconds rendered past the last note-off (and past a loop's end, to wrap onto its start): longer
than the halved releases of the bundled bank, so no tail is cut off audibly."""
FADE_S = 0.01
SYNTH_GAIN = 0.5
MIX_CEILING = 0.89  # -1 dBFS
DRUM_CHANNEL = 9
INTERP_LINEAR, INTERP_4TH_ORDER = 1, 4
PART_INTERP = {"drums": INTERP_LINEAR, "bass": INTERP_LINEAR, "chords": INTERP_LINEAR}
"""FluidSynth's resampling per part (others get its 4th-order default). Drums play at their
recorded pitch, where linear sounds the same; bass and chords sit low and mid, far from where
linear interpolation's imaging is audible, and chords are the costliest part of string and pad
genres. The lead, exposed and often high, keeps 4th order."""
GEN_VOLENV_RELEASE = 38
RELEASE_OFFSET_TIMECENTS = -1200.0
"""Halve every release. The General MIDI bank's releases run to 3-4 s (strings, cymbals), so a
busy part kept 20-30 voices alive mostly as inaudible overlapping tails; render time follows the
voice count, so this alone cut it by a third while a note's ring-out stays audible."""


@dataclass(frozen=True)
class StemMix:
    """Where a part sits in the mix: pan as MIDI CC10 (64 = centre) and a linear level."""

    pan: int
    level: float


STEM_MIX: dict[str, StemMix] = {
    "drums": StemMix(pan=64, level=1.0),
    "bass": StemMix(pan=64, level=1.0),
    "chords": StemMix(pan=46, level=1.4),
    "lead": StemMix(pan=82, level=0.8),
}
_DEFAULT_MIX = StemMix(pan=64, level=1.0)

Float32Array = npt.NDArray[np.float32]


def default_soundfont() -> Path:
    """The General MIDI bank that ships inside pretty_midi, so a fresh install can play."""
    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def load_fluidsynth() -> ModuleType:
    """Import pyfluidsynth, whose import is what loads the C library."""
    try:
        import fluidsynth
    except (ImportError, OSError) as exc:
        raise EngineError(
            "the symbolic engine needs the FluidSynth library: install libfluidsynth3 "
            f"(apt-get install libfluidsynth3) ({exc})"
        ) from exc
    module: ModuleType = fluidsynth
    return module


def check_soundfont(path: Path) -> Path:
    if not path.is_file():
        raise EngineError(f"SoundFont not found: {path} (give the path of an .sf2 or .sf3 file)")
    try:
        with path.open("rb") as handle:
            header = handle.read(12)
    except OSError as exc:
        raise EngineError(f"SoundFont {path} cannot be read: {exc}") from exc
    if header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise EngineError(f"{path} is not a SoundFont (.sf2/.sf3 files start with RIFF…sfbk)")
    return path


def _library_function(fluidsynth: ModuleType, name: str) -> Any:
    """A function of the libfluidsynth pyfluidsynth loaded, or None if it cannot be reached."""
    try:
        return getattr(ctypes.CDLL(fluidsynth.lib), name)
    except (AttributeError, OSError, TypeError):
        return None


def _float_writer(fluidsynth: ModuleType) -> Any:
    """``fluid_synth_write_float`` from the library pyfluidsynth loaded, or None if absent."""
    function = _library_function(fluidsynth, "fluid_synth_write_float")
    if function is None:
        return None
    pointer, integer = ctypes.c_void_p, ctypes.c_int
    function.argtypes = [pointer, integer, pointer, integer, integer, pointer, integer, integer]
    function.restype = ctypes.c_int
    return function


class _Stem:
    """One part on its own synth, rendered incrementally so the caller can report progress."""

    def __init__(
        self,
        fluidsynth: ModuleType,
        instrument: pretty_midi.Instrument,
        soundfont: Path,
        sample_rate: int,
        frames: int,
        render_frames: int,
    ) -> None:
        self.name = instrument.name
        mix = STEM_MIX.get(self.name, _DEFAULT_MIX)
        self.synth = fluidsynth.Synth(
            gain=SYNTH_GAIN,
            samplerate=float(sample_rate),
            channels=16,
            **{"synth.reverb.active": 0, "synth.chorus.active": 0},
        )
        self.write_float = _float_writer(fluidsynth)
        sfid = self.synth.sfload(str(soundfont))
        if sfid < 0:
            self.synth.delete()
            raise EngineError(f"FluidSynth could not load the SoundFont {soundfont}")
        self.channel = DRUM_CHANNEL if instrument.is_drum else 0
        bank = 128 if instrument.is_drum else 0
        if self.synth.program_select(self.channel, sfid, bank, instrument.program) != 0 and (
            self.synth.program_select(self.channel, sfid, bank, 0) != 0
        ):
            self.synth.delete()
            raise EngineError(f"SoundFont {soundfont} has no preset in bank {bank} for {self.name}")
        set_gen = _library_function(fluidsynth, "fluid_synth_set_gen")
        if set_gen is not None:
            set_gen.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_float]
            set_gen(self.synth.synth, self.channel, GEN_VOLENV_RELEASE, RELEASE_OFFSET_TIMECENTS)
        interp = PART_INTERP.get(self.name, INTERP_4TH_ORDER)
        set_interp = _library_function(fluidsynth, "fluid_synth_set_interp_method")
        if set_interp is not None and interp != INTERP_4TH_ORDER:
            set_interp.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
            set_interp(self.synth.synth, -1, interp)
        self.synth.cc(self.channel, 10, mix.pan)
        self.synth.cc(self.channel, 91, 0)
        self.synth.cc(self.channel, 93, 0)

        events: list[tuple[int, int, int, int]] = []  # (frame, 0 = off / 1 = on, pitch, vel)
        for note in instrument.notes:
            on, off = round(note.start * sample_rate), round(note.end * sample_rate)
            if on < frames and off > on:
                events += [(on, 1, note.pitch, note.velocity), (off, 0, note.pitch, 0)]
        events.sort()
        self.events = events
        last = max((e[0] for e in events), default=0)
        self.end = min(render_frames, last + round(TAIL_S * sample_rate)) if events else 0
        self.audio: Float32Array = np.zeros((render_frames, 2), dtype=np.float32)
        self.position = 0
        self.next_event = 0

    def _render(self, upto: int) -> None:
        count = upto - self.position
        if count <= 0:
            return
        if self.write_float is not None:
            view = self.audio[self.position : upto]
            pointer = view.ctypes.data
            self.write_float(self.synth.synth, count, pointer, 0, 2, pointer, 1, 2)
        else:  # pyfluidsynth without a loadable library path: 16-bit interleaved fallback
            samples = self.synth.get_samples(count).astype(np.float32) / 32768.0
            self.audio[self.position : upto] = samples.reshape(-1, 2)
        self.position = upto

    def advance(self, target: int) -> None:
        """Render up to frame ``target``, sending each MIDI event at its own frame."""
        target = min(target, self.end)
        events, synth, channel = self.events, self.synth, self.channel
        while self.next_event < len(events) and events[self.next_event][0] < target:
            frame, kind, pitch, velocity = events[self.next_event]
            self._render(frame)
            if kind:
                synth.noteon(channel, pitch, velocity)
            else:
                synth.noteoff(channel, pitch)
            self.next_event += 1
        self._render(target)

    def close(self) -> None:
        self.synth.delete()


def _finish(
    audio: Float32Array, frames: int, level: float, sample_rate: int, loop: bool
) -> Float32Array:
    """Apply the part's level; wrap a loop's tail onto its start, or de-click a clip's end."""
    if loop:
        out = audio[:frames].copy()
        for start in range(frames, audio.shape[0], frames):
            tail = audio[start : start + frames]
            out[: tail.shape[0]] += tail
    else:
        out = audio[:frames]
        fade = min(frames, max(1, round(FADE_S * sample_rate)))
        out[frames - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    out *= np.float32(level)
    return out


def render_stems(
    midi: pretty_midi.PrettyMIDI,
    frames: int,
    sample_rate: int,
    *,
    loop: bool = False,
    soundfont: Path | None,
    on_progress: Callable[[float], None],
    should_cancel: CancelCheck,
) -> dict[str, AudioClip]:
    """Each instrument of ``midi`` as a stereo stem exactly ``frames`` long.

    With ``loop`` the notes still sounding at the end ring on into the start instead of being
    faded, so the stem repeats seamlessly.

    ``on_progress`` gets the fraction rendered after every ``CHUNK_S`` of audio; a true
    ``should_cancel`` stops rendering with :class:`GenerationCancelled`.
    """
    fluidsynth = load_fluidsynth()
    soundfont = check_soundfont(soundfont or default_soundfont())
    render_frames = frames + (round(TAIL_S * sample_rate) if loop else 0)
    chunk = max(1, round(CHUNK_S * sample_rate))
    stems: list[_Stem] = []
    workers = ThreadPoolExecutor(
        max_workers=max(1, min(len(midi.instruments), os.cpu_count() or 1))
    )
    try:
        # Synths are created here, one after another: FluidSynth's one-time global set-up of its
        # default modulators is not thread-safe, and a synth created concurrently with the first
        # one can silently miss them, which would change the sound of that one render.
        for inst in midi.instruments:
            stems.append(_Stem(fluidsynth, inst, soundfont, sample_rate, frames, render_frames))
        total = sum(stem.end for stem in stems) or 1
        for position in range(chunk, render_frames + chunk, chunk):
            if should_cancel():
                raise GenerationCancelled("cancelled while rendering")
            list(workers.map(_Stem.advance, stems, [position] * len(stems)))
            on_progress(min(1.0, sum(min(position, s.end) for s in stems) / total))
    finally:
        workers.shutdown(wait=True)
        for stem in stems:
            stem.close()
    return {
        stem.name: AudioClip(
            _finish(
                stem.audio,
                frames,
                STEM_MIX.get(stem.name, _DEFAULT_MIX).level,
                sample_rate,
                loop,
            ),
            sample_rate,
        )
        for stem in stems
    }


def mix_stems(stems: dict[str, AudioClip]) -> tuple[AudioClip, dict[str, AudioClip]]:
    """Sum the stems, first scaling them together if the sum would peak above -1 dBFS.

    Returns the mix and the (possibly rescaled) stems, so the stems always add up to the mix.
    """
    clips = list(stems.values())
    if not clips:
        raise ValueError("nothing to mix")
    rate = clips[0].sample_rate

    def total(parts: list[Float32Array]) -> Float32Array:
        out = parts[0].copy()  # in place from here: a 30 s mix is 10 MB per temporary
        for part in parts[1:]:
            np.add(out, part, out=out)
        return out

    mixed = total([c.samples for c in clips])
    peak = max(float(mixed.max()), -float(mixed.min())) if mixed.size else 0.0
    if peak > MIX_CEILING:
        scale = np.float32(MIX_CEILING / peak)
        stems = {name: AudioClip(c.samples * scale, rate) for name, c in stems.items()}
        mixed = total([c.samples for c in stems.values()])
    return AudioClip(mixed, rate), stems
