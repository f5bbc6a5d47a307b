"""Melody conditioning, for the musicgen-melody checkpoints.

These are a different architecture (the text and a chromagram of the melody are prepended to
the decoder's input instead of attended to), so they run through transformers' own
``generate``. A logits processor is called exactly once per decoding step: it carries the
progress and cancel hook; cancelling raises out of ``generate`` (stock generate cannot return
a partial clip). One window only: melody clips are at most the model's 30 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from dgx_music.engines.base import EngineError
from dgx_music.engines.musicgen.decoding import DecodingCancelled, Sampling, StepHook
from dgx_music.engines.musicgen.loader import LoadedModel


class _HookProcessor:
    """A LogitsProcessor in all but base class (transformers only calls it)."""

    def __init__(self, hook: StepHook, total: int) -> None:
        self._hook = hook
        self._total = total
        self._done = 0

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        self._done += 1
        if self._hook(min(self._done, self._total), self._total):
            raise DecodingCancelled(torch.empty(0, dtype=torch.long))
        return scores


def generate_melody_audio(
    loaded: LoadedModel,
    texts: Sequence[str],
    *,
    seconds: float,
    sampling: Sampling,
    seeds: Sequence[int],
    melody: npt.NDArray[np.float32] | None,
    hook: StepHook,
) -> npt.NDArray[np.float32]:
    """``[batch, samples, channels]``; the whole batch shares the first seed (stock sampling
    draws from one generator)."""
    from transformers import LogitsProcessorList

    frames = round(seconds * loaded.frame_rate)
    if frames > loaded.window_frames:
        raise EngineError(
            f"melody models make at most {loaded.window_frames / loaded.frame_rate:g} s per clip"
        )
    delay = loaded.num_codebooks // loaded.audio_channels - 1
    steps = frames + delay
    kwargs: dict[str, Any] = {"text": list(texts), "padding": True, "return_tensors": "pt"}
    if melody is not None:
        mono = melody.mean(axis=1)
        kwargs["audio"] = [mono] * len(texts)
        kwargs["sampling_rate"] = loaded.sample_rate
    inputs = loaded.processor(**kwargs).to(loaded.device)
    if "input_features" in inputs:
        inputs["input_features"] = inputs["input_features"].to(loaded.dtype)
    torch.manual_seed(seeds[0])
    processor = _HookProcessor(hook, steps)
    with torch.inference_mode():
        audio = loaded.model.generate(
            **inputs,
            max_new_tokens=steps,
            do_sample=sampling.top_k != 1,
            guidance_scale=sampling.guidance_scale if sampling.guided else None,
            temperature=sampling.temperature,
            top_k=sampling.top_k,
            top_p=sampling.top_p if 0.0 < sampling.top_p < 1.0 else None,
            logits_processor=LogitsProcessorList([processor]),
        )
    values = audio.float().cpu().numpy().transpose(0, 2, 1)
    wanted = round(seconds * loaded.sample_rate)
    return np.ascontiguousarray(values[:, :wanted], dtype=np.float32)
