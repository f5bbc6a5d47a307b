"""Prompts in, audio out: text conditioning, window after window of decoding, EnCodec.

A clip longer than one window is made by windowed continuation: each new window is prompted
with the last ``context`` frames of what exists so far and adds ``window - context`` frames,
as AudioCraft extends its clips. All frames are decoded by EnCodec in one pass at the end, so
window joins are seamless in the audio as well as in the codes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from dgx_music.engines.musicgen.decoding import (
    Conditioning,
    Sampling,
    StepHook,
    codebook_delays,
    decode_window,
)
from dgx_music.engines.musicgen.loader import LoadedModel


@dataclass(frozen=True)
class Window:
    prompt_frames: int
    new_frames: int


def plan_windows(
    total_frames: int, given_frames: int, window_frames: int, context_frames: int
) -> list[Window]:
    """How a clip of ``total_frames`` new frames is cut into windows.

    ``given_frames`` is the length of an audio prompt (continuation), of which at most
    ``context_frames`` prompt the first window.
    """
    context = max(1, min(context_frames, window_frames // 2))
    windows = []
    available, remaining = given_frames, total_frames
    while remaining > 0:
        prompt = min(available, context)
        new = min(remaining, window_frames - prompt)
        windows.append(Window(prompt, new))
        available += new
        remaining -= new
    return windows


def generate_audio(
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
    """``[batch, frames, channels]`` float32 audio at ``loaded.sample_rate``.

    ``prompt_audio`` (``[frames, channels]`` at the model's rate, shared by the whole batch) is
    continued: the result is only the new audio, which follows it seamlessly.
    """
    model, device = loaded.model, loaded.device
    batch = len(texts)
    with torch.inference_mode():
        tokens = loaded.processor.tokenizer(list(texts), padding=True, return_tensors="pt")
        conditioning = Conditioning(
            model,
            tokens["input_ids"].to(device),
            tokens["attention_mask"].to(device),
            sampling.guided,
        )
        generators = [torch.Generator(device=device).manual_seed(seed) for seed in seeds]
        given = None
        if prompt_audio is not None:
            given = encode_audio(loaded, prompt_audio).expand(batch, -1, -1)
        given_frames = 0 if given is None else int(given.shape[-1])
        total = math.ceil(seconds * loaded.frame_rate)
        context = round(context_seconds * loaded.frame_rate)
        windows = plan_windows(total, given_frames, loaded.window_frames, context)
        delay = max(codebook_delays(loaded.num_codebooks, loaded.audio_channels))
        steps_total = sum(window.new_frames + delay for window in windows)
        codes = given
        done = 0
        for window in windows:
            prompt = None
            if window.prompt_frames:
                assert codes is not None
                prompt = codes[..., -window.prompt_frames :]
            new = decode_window(
                model,
                conditioning,
                frames=window.new_frames,
                prompt=prompt,
                sampling=sampling,
                generators=generators,
                hook=hook,
                steps_before=done,
                steps_total=steps_total,
            )
            done += window.new_frames + delay
            codes = new if codes is None else torch.cat([codes, new], dim=-1)
        assert codes is not None
        audio = decode_codes(loaded, codes)
    hop = loaded.sample_rate // loaded.frame_rate
    start = given_frames * hop
    wanted = round(seconds * loaded.sample_rate)
    return audio[:, start : start + wanted]


def encode_audio(loaded: LoadedModel, audio: npt.NDArray[np.float32]) -> Tensor:
    """EnCodec frames ``[1, codebooks, frames]`` of ``audio`` (``[frames, channels]``)."""
    encoder = loaded.model.audio_encoder
    per_channel = loaded.num_codebooks // loaded.audio_channels
    channels = _match_channels(audio, loaded.audio_channels)
    rows = []
    for channel in range(loaded.audio_channels):
        values = torch.from_numpy(np.ascontiguousarray(channels[:, channel]))
        values = values.to(loaded.device, loaded.dtype)[None, None, :]
        encoded = encoder.encode(values)
        rows.append(encoded.audio_codes[0, 0, :per_channel])
    if loaded.audio_channels == 1:
        mono: Tensor = rows[0][None]
        return mono
    # Stereo checkpoints interleave codebooks: left 0, right 0, left 1, right 1, …
    interleaved: Tensor = torch.stack(rows, dim=1).reshape(loaded.num_codebooks, -1)[None]
    return interleaved


def decode_codes(loaded: LoadedModel, codes: Tensor) -> npt.NDArray[np.float32]:
    """``[batch, codebooks, frames]`` → ``[batch, samples, channels]`` float32."""
    decoder = loaded.model.audio_encoder
    batch = codes.shape[0]
    scales = [None] * batch
    channels = []
    with torch.inference_mode():
        for channel in range(loaded.audio_channels):
            part = codes[:, channel :: loaded.audio_channels]
            values = decoder.decode(part[None], audio_scales=scales).audio_values
            channels.append(values[:, 0])
    audio: npt.NDArray[np.float32] = torch.stack(channels, dim=-1).float().cpu().numpy()
    return np.ascontiguousarray(audio, dtype=np.float32)


def _match_channels(audio: npt.NDArray[np.float32], channels: int) -> npt.NDArray[np.float32]:
    if audio.shape[1] == channels:
        return audio
    if channels == 1:
        return np.asarray(audio.mean(axis=1, keepdims=True), dtype=np.float32)
    return np.repeat(audio[:, :1], channels, axis=1)
