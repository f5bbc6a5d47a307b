"""The ``symbolic`` engine: prompt → score → SoundFont render, with no weights and no network.

It exists so a fresh install makes real, editable music at once: it hands back the MIDI and
per-part stems as well as the mix, and says in ``notes`` what it understood from the prompt.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dgx_music.domain import GenerationRequest
from dgx_music.engines.base import (
    CancelCheck,
    EngineCapabilities,
    EngineError,
    GenerationCancelled,
    GenerationResult,
    ProgressCallback,
)
from dgx_music.engines.symbolic.composer import compose, programs_for, section_starts, song_form
from dgx_music.engines.symbolic.prompt import MusicalIntent, parse_prompt
from dgx_music.engines.symbolic.renderer import default_soundfont, mix_stems, render_stems
from dgx_music.engines.symbolic.request import apply_request

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 96000
MAX_DURATION = 600.0
COMPOSE_SHARE = 0.05
"""Share of the progress bar for composing: it takes milliseconds, rendering takes the rest."""
CONTROLS = frozenset({"bpm", "key", "bars", "loop", "instruments"})


@dataclass(frozen=True)
class Length:
    """How long the clip is: whole bars for ``bars`` or ``loop``, else the requested seconds."""

    seconds: float
    frames: int
    bars: int | None
    loop: bool


def plan_length(
    request: GenerationRequest, bpm: float, sample_rate: int, prompt_bars: int | None = None
) -> Length:
    """Bars are exact at the tempo, so a producer's 8-bar loop drops onto their grid unchanged.

    The request's ``bars`` beats bars named in the prompt ("16 bars"), which beat ``duration``.
    """
    bar_s = 4 * 60.0 / bpm
    bars = request.bars if request.bars is not None else prompt_bars
    if bars is None and request.loop:
        bars = max(1, round(request.duration / bar_s))
    if bars is None:
        return Length(request.duration, round(request.duration * sample_rate), None, False)
    seconds = bars * bar_s
    if seconds > MAX_DURATION:
        raise EngineError(
            f"{bars} bars at {bpm:g} bpm last {seconds:.1f} s; the symbolic engine makes at most "
            f"{MAX_DURATION:g} s (ask for at most {int(MAX_DURATION // bar_s)} bars at this tempo)"
        )
    return Length(seconds, round(bars * 4 * 60.0 / bpm * sample_rate), bars, request.loop)


def _length_info(
    request: GenerationRequest, length: Length, prompt_bars: int | None
) -> dict[str, Any]:
    if request.bars is not None:
        source = "request"
    elif prompt_bars is not None:
        source = "prompt"
    elif length.bars is not None:
        source = "loop: duration rounded to whole bars"
    else:
        source = "request duration"
    return {"bars": length.bars, "seconds": length.seconds, "source": source}


def sections(length: Length, bpm: float) -> list[dict[str, Any]]:
    """Where each section of the song form starts (bar, seconds), for DAW markers."""
    bar_s = 4 * 60.0 / bpm
    n_bars = max(1, math.ceil(length.seconds / bar_s - 1e-9))  # as compose() counts them
    return [
        {"name": name, "bar": bar, "seconds": round(bar * bar_s, 6)}
        for bar, name in section_starts(song_form(n_bars, length.loop))
    ]


def _reading(request: GenerationRequest, intent: MusicalIntent, length: Length) -> dict[str, Any]:
    """The notes that describe the request's reading, shared by ``describe`` and the result."""
    return {
        "bpm": float(intent.bpm),
        "key": intent.key,
        "genre": intent.genre,
        "bars": length.bars,
        "loop": length.loop,
        "meter": "4/4",
        "interpretation": {
            **intent.interpretation,
            "length": _length_info(request, length, intent.bars),
            "loop": {"value": length.loop, "source": "request" if request.loop else "default"},
        },
    }


def resolve_intent(request: GenerationRequest) -> MusicalIntent:
    """The prompt's reading, with every request field that was set taking precedence."""
    return apply_request(
        parse_prompt(request.prompt),
        bpm=request.bpm,
        key=request.key,
        instruments=request.instruments,
    )


class SymbolicEngine:
    name = "symbolic"

    def __init__(self, soundfont: Path | None = None, sample_rate: int = 44100) -> None:
        if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
            # FluidSynth silently clamps other rates, which would detune and stretch the audio.
            raise ValueError(
                f"sample_rate must be {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz, got {sample_rate}"
            )
        # Checked at generation, not here, so a bad path fails one job with a clear message
        # instead of stopping the service from starting.
        self.soundfont = soundfont
        self.sample_rate = sample_rate

    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(
            sample_rate=self.sample_rate,
            min_duration=1.0,
            max_duration=MAX_DURATION,
            has_stems=True,
            has_midi=True,
            models=("symbolic",),
            controls=CONTROLS,
        )

    def generate(
        self,
        request: GenerationRequest,
        on_progress: ProgressCallback,
        should_cancel: CancelCheck,
    ) -> GenerationResult:
        def check() -> None:
            if should_cancel():
                raise GenerationCancelled("cancelled")

        check()
        on_progress("composing", 0.0)
        intent = resolve_intent(request)
        length = plan_length(request, intent.bpm, self.sample_rate, intent.bars)
        midi = compose(intent, length.seconds, request.seed or 0, loop=length.loop)
        midi_file = io.BytesIO()
        midi.write(midi_file)
        on_progress("composing", COMPOSE_SHARE)
        check()

        def rendering(fraction: float) -> None:
            on_progress("rendering", COMPOSE_SHARE + (1.0 - COMPOSE_SHARE) * fraction)

        stems = render_stems(
            midi,
            length.frames,
            self.sample_rate,
            loop=length.loop,
            soundfont=self.soundfont,
            on_progress=rendering,
            should_cancel=should_cancel,
        )
        mix, stems = mix_stems(stems)
        on_progress("rendering", 1.0)
        notes = {
            **_reading(request, intent, length),
            "parts": [inst.name for inst in midi.instruments],
            "sections": sections(length, intent.bpm),
            "programs": programs_for(intent),
            "soundfont": (self.soundfont or default_soundfont()).name,
        }
        return GenerationResult(mix=mix, stems=stems, midi=midi_file.getvalue(), notes=notes)

    def describe(self, request: GenerationRequest) -> dict[str, Any]:
        """How the prompt and settings were read (tempo, key, genre, length, each with where it
        came from), known before anything is composed."""
        intent = resolve_intent(request)
        return _reading(
            request, intent, plan_length(request, intent.bpm, self.sample_rate, intent.bars)
        )
