"""Melody conditioning, for the musicgen-melody checkpoints.

These are a different architecture (the text and a chromagram of the melody are prepended to
the decoder's input instead of attended to), so they run through transformers' own
``generate``. A logits processor is called exactly once per decoding step: it carries the
progress and cancel hook; cancelling raises out of ``generate`` (stock generate cannot return
a partial clip). One window only: melody clips are at most the model's 30 s.

The chromagram is computed here, with the numerics of transformers'
``MusicgenMelodyFeatureExtractor`` (power spectrogram, chroma filter bank, one-hot of the
strongest pitch class per frame): that class needs torchaudio, which has no build for every
torch release, and only the tokenizer half of the processor is used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from transformers import LogitsProcessor, LogitsProcessorList

from dgx_music.engines.base import EngineError
from dgx_music.engines.musicgen.decoding import DecodingCancelled, Sampling, StepHook
from dgx_music.engines.musicgen.loader import LoadedModel


class _HookProcessor(LogitsProcessor):
    """Reports each decoding step to the hook; raises :class:`DecodingCancelled` when asked."""

    def __init__(self, hook: StepHook, total: int) -> None:
        self._hook = hook
        self._total = total
        self._done = 0

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        self._done += 1
        if self._hook(min(self._done, self._total), self._total):
            raise DecodingCancelled(torch.empty(0, dtype=torch.long))
        return scores


@dataclass(frozen=True)
class ChromaSettings:
    """``MusicgenMelodyFeatureExtractor``'s settings (defaults: facebook/musicgen-melody's)."""

    sampling_rate: int = 32_000
    n_fft: int = 16_384
    hop_length: int = 4_096
    chunk_length: int = 30
    num_chroma: int = 12


def chroma_settings(loaded: LoadedModel) -> ChromaSettings:
    """From the loaded feature extractor if there is one, else the checkpoint's
    ``preprocessor_config.json``, else the Hub model's values."""
    extractor = getattr(loaded.processor, "feature_extractor", None)
    values: dict[str, Any]
    if extractor is not None:
        values = vars(extractor)
    else:
        try:
            values = json.loads((loaded.path / "preprocessor_config.json").read_text())
        except (OSError, ValueError):
            values = {}
    defaults = ChromaSettings()
    return ChromaSettings(
        sampling_rate=int(values.get("sampling_rate", defaults.sampling_rate)),
        n_fft=int(values.get("n_fft", defaults.n_fft)),
        hop_length=int(values.get("hop_length", defaults.hop_length)),
        chunk_length=int(values.get("chunk_length", defaults.chunk_length)),
        num_chroma=int(loaded.model.config.num_chroma),
    )


def melody_chroma(mono: npt.NDArray[np.float32], settings: ChromaSettings) -> torch.Tensor:
    """``[frames, num_chroma]``: one-hot of the strongest pitch class in each STFT frame, as
    ``MusicgenMelodyFeatureExtractor`` computes it from audio at ``settings.sampling_rate``."""
    from transformers.audio_utils import chroma_filter_bank

    waveform = torch.as_tensor(np.asarray(mono, dtype=np.float32))
    waveform = waveform[: settings.chunk_length * settings.sampling_rate]
    if waveform.shape[-1] < settings.n_fft:
        pad = settings.n_fft - waveform.shape[-1]
        waveform = torch.nn.functional.pad(waveform, (pad // 2, pad - pad // 2))
    window = torch.hann_window(settings.n_fft)
    stft = torch.stft(
        waveform,
        settings.n_fft,
        hop_length=settings.hop_length,
        win_length=settings.n_fft,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    spectrum = (stft / window.pow(2.0).sum().sqrt()).abs().pow(2.0)  # [bins, frames]
    filters = torch.from_numpy(
        chroma_filter_bank(
            sampling_rate=settings.sampling_rate,
            num_frequency_bins=settings.n_fft,
            tuning=0,
            num_chroma=settings.num_chroma,
        )
    ).float()
    chroma = (filters @ spectrum).T  # [frames, num_chroma]
    strongest = chroma.argmax(dim=-1, keepdim=True)
    return torch.zeros_like(chroma).scatter_(-1, strongest, 1.0)


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
    draws from one generator). ``melody`` is ``[samples, channels]`` at the model's rate."""
    frames = math.ceil(seconds * loaded.frame_rate)
    if frames > loaded.window_frames:
        raise EngineError(
            f"melody models make at most {loaded.window_frames / loaded.frame_rate:g} s per clip"
        )
    # The output keeps a frame once every codebook has it: ``delay`` steps after the first.
    delay = loaded.num_codebooks // loaded.audio_channels - 1
    steps = frames + delay
    tokenizer = getattr(loaded.processor, "tokenizer", loaded.processor)
    inputs: dict[str, torch.Tensor] = {
        name: value.to(loaded.device)
        for name, value in tokenizer(list(texts), padding=True, return_tensors="pt").items()
    }
    if melody is not None:
        settings = chroma_settings(loaded)
        mono = melody.mean(axis=1) if melody.ndim == 2 else melody
        if loaded.sample_rate != settings.sampling_rate:
            from scipy.signal import resample_poly

            divisor = math.gcd(loaded.sample_rate, settings.sampling_rate)
            mono = resample_poly(
                mono, settings.sampling_rate // divisor, loaded.sample_rate // divisor
            )
        chroma = melody_chroma(mono.astype(np.float32), settings)
        inputs["input_features"] = (
            chroma.to(device=loaded.device, dtype=loaded.dtype)
            .unsqueeze(0)
            .expand(len(texts), -1, -1)
            .contiguous()
        )
    guidance = sampling.guidance_scale if sampling.guided else 1.0
    options: dict[str, Any] = {"do_sample": sampling.top_k != 1, "guidance_scale": guidance}
    if options["do_sample"]:
        options["temperature"] = sampling.temperature
        options["top_k"] = sampling.top_k
        if 0.0 < sampling.top_p < 1.0:
            options["top_p"] = sampling.top_p
    torch.manual_seed(seeds[0])
    processor = _HookProcessor(hook, steps)
    with torch.inference_mode():
        audio = loaded.model.generate(
            **inputs,
            max_new_tokens=steps,
            logits_processor=LogitsProcessorList([processor]),
            **options,
        )
    values = audio.float().cpu().numpy().transpose(0, 2, 1)  # [batch, samples, channels]
    wanted = round(seconds * loaded.sample_rate)
    if values.shape[1] < wanted:
        raise EngineError(
            f"the melody model made {values.shape[1]} samples, fewer than the {wanted} asked for"
        )
    return np.ascontiguousarray(values[:, :wanted], dtype=np.float32)
