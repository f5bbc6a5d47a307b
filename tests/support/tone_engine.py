"""Engines for queue tests: fast and controllable, loaded through the ``engine_plugins`` setting.

``DGX_TEST_STEP_SECONDS`` slows each of the engine's steps (for cancel and crash tests);
``DGX_TEST_ENGINE_LOG`` names a file that gets one line per finished generation, so a test can
count how many times each prompt really ran. A prompt starting with ``fail:`` raises.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from dgx_music.domain import AudioClip, GenerationRequest
from dgx_music.engines.base import (
    CancelCheck,
    EngineCapabilities,
    GenerationCancelled,
    GenerationResult,
    ProgressCallback,
)

SAMPLE_RATE = 16_000
STEPS = 10


class ToneEngine:
    """A chord of sines whose pitch depends on the seed: cheap, deterministic, audible."""

    name = "tone"

    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(sample_rate=SAMPLE_RATE, min_duration=0.5, max_duration=60.0)

    def generate(
        self, request: GenerationRequest, on_progress: ProgressCallback, should_cancel: CancelCheck
    ) -> GenerationResult:
        step_seconds = float(os.environ.get("DGX_TEST_STEP_SECONDS", "0"))
        frames = round(request.duration * SAMPLE_RATE)
        t = np.arange(frames) / SAMPLE_RATE
        base = 220.0 * 2 ** (((request.seed or 0) % 12) / 12)
        mono = sum(0.2 * np.sin(2 * np.pi * base * ratio * t) for ratio in (1.0, 1.25, 1.5))
        if request.prompt.startswith("fail:"):
            raise RuntimeError(request.prompt.removeprefix("fail:").strip())
        for step in range(STEPS):
            if should_cancel():
                raise GenerationCancelled
            time.sleep(step_seconds)
            on_progress("tone", (step + 1) / STEPS)
        log = os.environ.get("DGX_TEST_ENGINE_LOG")
        if log:
            with Path(log).open("a") as handle:
                handle.write(f"{request.prompt}\t{os.getpid()}\n")
        samples = np.stack([mono, mono], axis=1).astype(np.float32)
        return GenerationResult(mix=AudioClip(samples, SAMPLE_RATE), notes={"tone_hz": base})


def make_tone_engine(_settings: Any) -> ToneEngine:
    return ToneEngine()
