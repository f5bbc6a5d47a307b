"""Running a batch so that running out of GPU memory degrades instead of failing outright.

On CUDA out-of-memory the cached blocks are freed and the batch is retried once, split in two
halves (or, for a single prompt, as is: fragmentation often clears after ``empty_cache``).
A second failure ends the job with a message that says what to change.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch

from dgx_music.engines.base import EngineError
from dgx_music.engines.musicgen import synthesis
from dgx_music.engines.musicgen.decoding import Sampling, StepHook
from dgx_music.engines.musicgen.loader import LoadedModel

log = logging.getLogger(__name__)


def run_with_oom_retry(
    loaded: LoadedModel,
    texts: Sequence[str],
    *,
    seconds: float,
    sampling: Sampling,
    seeds: Sequence[int],
    context_seconds: float,
    hook: StepHook,
    prompt_audio: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.float32]:
    def run(part_texts: Sequence[str], part_seeds: Sequence[int]) -> npt.NDArray[np.float32]:
        return synthesis.generate_audio(
            loaded,
            part_texts,
            seconds=seconds,
            sampling=sampling,
            seeds=part_seeds,
            context_seconds=context_seconds,
            hook=hook,
            prompt_audio=prompt_audio,
        )

    try:
        return run(texts, seeds)
    except torch.OutOfMemoryError:
        _free_memory(loaded)
    log.warning("out of memory with a batch of %d; retrying with smaller batches", len(texts))
    try:
        if len(texts) == 1:
            return run(texts, seeds)
        half = (len(texts) + 1) // 2
        parts = [run(texts[:half], seeds[:half]), run(texts[half:], seeds[half:])]
        return np.concatenate(parts, axis=0)
    except torch.OutOfMemoryError:
        _free_memory(loaded)
        raise EngineError(
            f"out of memory on {loaded.device} generating {seconds:g} s with {loaded.name} "
            f"(batch of {len(texts)}, retried smaller); shorten the clip, lower "
            "DGX_MUSIC_MUSICGEN_MAX_BATCH, or use a smaller model"
        ) from None


def _free_memory(loaded: LoadedModel) -> None:
    gc.collect()
    if loaded.device.type == "cuda":
        torch.cuda.empty_cache()
