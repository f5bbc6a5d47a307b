"""Waveform overviews: the lowest and highest sample in each of N equal slices of a file.

What a player draws behind its playhead. The file is read in blocks of whole slices, so a ten
minute clip costs a few megabytes of memory, not the hundreds that decoding it whole would.
Both extremes are taken over all channels, so the drawing shows the true peaks of the mix
rather than of a mono fold-down that can cancel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from dgx_music.audio.export import AudioFileError

__all__ = ["Peaks", "peaks"]

_BLOCK_FRAMES = 1 << 18


@dataclass(frozen=True)
class Peaks:
    """``low[i]``/``high[i]``: extremes of slice ``i`` (float, ±1 full scale); ``frames``
    per slice except the last, which may be shorter."""

    low: list[float]
    high: list[float]
    frames_per_point: int
    total_frames: int
    sample_rate: int


def peaks(path: Path, points: int) -> Peaks:
    """Extremes of ``points`` equal slices of the audio file (fewer if it has fewer frames)."""
    if points < 1:
        raise ValueError("points must be at least 1")
    try:
        handle = soundfile.SoundFile(str(path))
    except (soundfile.SoundFileError, RuntimeError, OSError) as exc:
        raise AudioFileError(f"cannot read audio from {path.name}: {exc}") from exc
    with handle:
        total = handle.frames
        if total <= 0:
            raise AudioFileError(f"audio file has no frames: {path.name}")
        per_point = math.ceil(total / points)
        block = max(per_point, _BLOCK_FRAMES // per_point * per_point)
        low: list[float] = []
        high: list[float] = []
        while True:
            data = handle.read(block, dtype="float32", always_2d=True)
            if data.shape[0] == 0:
                break
            whole = data.shape[0] // per_point * per_point
            if whole:
                sliced = data[:whole].reshape(-1, per_point * data.shape[1])
                low += sliced.min(axis=1).tolist()
                high += sliced.max(axis=1).tolist()
            if whole < data.shape[0]:  # the short last slice
                rest = data[whole:]
                low.append(float(np.min(rest)))
                high.append(float(np.max(rest)))
        return Peaks(low, high, per_point, total, int(handle.samplerate))
