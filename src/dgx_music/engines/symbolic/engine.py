"""The ``symbolic`` engine: prompt → score → SoundFont render, with no weights and no network.

It exists so a fresh install makes real, editable music at once: it hands back the MIDI and
per-part stems as well as the mix, and says in ``notes`` what it understood from the prompt.
"""

from __future__ import annotations

import io
from pathlib import Path

from dgx_music.domain import GenerationRequest
from dgx_music.engines.base import (
    CancelCheck,
    EngineCapabilities,
    GenerationCancelled,
    GenerationResult,
    ProgressCallback,
)
from dgx_music.engines.symbolic.composer import compose, programs_for
from dgx_music.engines.symbolic.prompt import parse_prompt
from dgx_music.engines.symbolic.renderer import default_soundfont, mix_stems, render_stems

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 96000
COMPOSE_SHARE = 0.05
"""Share of the progress bar for composing: it takes milliseconds, rendering takes the rest."""


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
            max_duration=600.0,
            has_stems=True,
            has_midi=True,
            models=("symbolic",),
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
        intent = parse_prompt(request.prompt)
        midi = compose(intent, request.duration, request.seed or 0)
        midi_file = io.BytesIO()
        midi.write(midi_file)
        on_progress("composing", COMPOSE_SHARE)
        check()

        def rendering(fraction: float) -> None:
            on_progress("rendering", COMPOSE_SHARE + (1.0 - COMPOSE_SHARE) * fraction)

        stems = render_stems(
            midi,
            request.duration,
            self.sample_rate,
            soundfont=self.soundfont,
            on_progress=rendering,
            should_cancel=should_cancel,
        )
        mix, stems = mix_stems(stems)
        on_progress("rendering", 1.0)
        notes = {
            "bpm": float(intent.bpm),
            "key": intent.key,
            "genre": intent.genre,
            "interpretation": intent.interpretation,
            "programs": programs_for(intent),
            "soundfont": (self.soundfont or default_soundfont()).name,
        }
        return GenerationResult(mix=mix, stems=stems, midi=midi_file.getvalue(), notes=notes)
