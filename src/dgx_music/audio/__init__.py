"""Audio post-processing: fades, loudness normalisation, file I/O and analysis.

Names are re-exported lazily: importing ``dgx_music.audio.export`` (to write a JSON sidecar or
hash a file) must not pay for scipy.signal and pyloudnorm, which the loudness and analysis
modules pull in at about a second of start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dgx_music.audio.analysis import Analysis, analyse
    from dgx_music.audio.dynamics import apply_fades
    from dgx_music.audio.export import (
        AudioFileError,
        read_audio,
        sha256_file,
        write_audio,
        write_bytes_atomic,
    )
    from dgx_music.audio.loudness import (
        LoudnessResult,
        integrated_loudness,
        normalise_loudness,
        true_peak,
    )

_HOMES = {
    "Analysis": "analysis",
    "analyse": "analysis",
    "apply_fades": "dynamics",
    "AudioFileError": "export",
    "read_audio": "export",
    "sha256_file": "export",
    "write_audio": "export",
    "write_bytes_atomic": "export",
    "LoudnessResult": "loudness",
    "integrated_loudness": "loudness",
    "normalise_loudness": "loudness",
    "true_peak": "loudness",
}

__all__ = [
    "Analysis",
    "AudioFileError",
    "LoudnessResult",
    "analyse",
    "apply_fades",
    "integrated_loudness",
    "normalise_loudness",
    "read_audio",
    "sha256_file",
    "true_peak",
    "write_audio",
    "write_bytes_atomic",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
