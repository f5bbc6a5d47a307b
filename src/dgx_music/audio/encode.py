"""Exporting library clips to the formats people share: WAV, FLAC, MP3, Ogg Vorbis and Opus.

The library keeps one lossless master per clip; an export is a derived copy, so it may change
the sample rate and go lossy, but it never touches the master. Everything is encoded by
libsndfile (through soundfile), which has written MP3, Vorbis and Opus since 1.1, so no
ffmpeg binary is needed. Files are written with the same temp-file-and-rename helper as the
library, so an interrupted export never leaves a truncated file under the requested name.

Resampling uses python-soxr at its 'VHQ' setting rather than ``scipy.signal.resample_poly``:
soxr is the resampler audio tools (SoX, ffmpeg's soxr option, librosa's default) rely on, its
pass band is flat to ~95 % of Nyquist with >140 dB of image rejection, and it handles awkward
ratios such as 44100 ↔ 48000 (147/160) in bounded memory, where a polyphase FIR sized for the
same quality would be long and slow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import soundfile

from dgx_music.audio.export import _atomic_target, read_audio
from dgx_music.domain import AudioClip

__all__ = [
    "EXTENSIONS",
    "LOSSLESS",
    "EncodeError",
    "ExportFormat",
    "ExportResult",
    "check_request",
    "encode_audio",
    "export_file",
    "resample",
    "resolve_destination",
]

ExportFormat = Literal["wav", "flac", "mp3", "ogg", "opus"]
BitDepth = Literal["16", "24", "32f"]
FORMATS: tuple[str, ...] = get_args(ExportFormat)
LOSSLESS = frozenset({"wav", "flac"})
EXTENSIONS = {"wav": ".wav", "flac": ".flac", "mp3": ".mp3", "ogg": ".ogg", "opus": ".opus"}
EXPORT_RATES = (44_100, 48_000)
# Opus always codes at 48 kHz internally; any other rate in the file is only a playback hint
# that the decoder resamples to, so a 48 kHz file is the honest one.
OPUS_RATE = 48_000

_CONTAINERS = {"wav": "WAV", "flac": "FLAC", "mp3": "MP3", "ogg": "OGG", "opus": "OGG"}
_LOSSY_SUBTYPES = {"mp3": "MPEG_LAYER_III", "ogg": "VORBIS", "opus": "OPUS"}
_PCM_SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}
_DEPTH_OF_SUBTYPE = {"PCM_16": "16", "PCM_24": "24", "FLOAT": "32f"}
# libsndfile's compression level (0 = best). Chosen for "transparent for music, still small":
# MP3 0.2 is LAME VBR at ~190 kbit/s stereo, Vorbis 0.5 is about q5 (~160 kbit/s); Opus keeps
# libopus's own default (~128 kbit/s stereo), already transparent for most material.
_COMPRESSION = {"mp3": 0.2, "ogg": 0.5}


class EncodeError(ValueError):
    """An export request that cannot be honoured; the message is fit to show the user."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    sample_rate: int
    channels: int
    frames: int
    bit_depth: str | None
    size_bytes: int

    def as_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "format": self.format,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "frames": self.frames,
            "duration": self.frames / self.sample_rate,
            "bit_depth": self.bit_depth,
            "size_bytes": self.size_bytes,
        }


def resample(clip: AudioClip, rate: int) -> AudioClip:
    """``clip`` at ``rate`` (soxr VHQ, all channels at once); the same clip if already there.

    The output length is soxr's ``round(frames * rate / source_rate)``, so durations survive.
    """
    if rate == clip.sample_rate:
        return clip
    import soxr

    samples = soxr.resample(
        np.ascontiguousarray(clip.samples, dtype=np.float32), clip.sample_rate, rate, "VHQ"
    )
    return AudioClip(
        samples=np.asarray(samples, dtype=np.float32).reshape(-1, clip.channels), sample_rate=rate
    )


def check_request(fmt: str, bit_depth: str | None, sample_rate: int | None) -> None:
    """Reject an impossible combination up front, before any file is read or created."""
    if fmt not in FORMATS:
        raise EncodeError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if sample_rate is not None and sample_rate not in EXPORT_RATES:
        raise EncodeError(f"unsupported sample rate {sample_rate}; use 44100 or 48000")
    if fmt == "opus" and sample_rate not in (None, OPUS_RATE):
        raise EncodeError("Opus is always 48000 Hz; leave out --sample-rate or pass 48000")
    if bit_depth is None:
        return
    if fmt not in LOSSLESS:
        raise EncodeError(f"--bit-depth applies to wav and flac only; {fmt} is lossy")
    if bit_depth not in _PCM_SUBTYPES:
        raise EncodeError(f"unsupported bit depth {bit_depth!r}; use 16, 24 or 32f")
    if fmt == "flac" and bit_depth == "32f":
        raise EncodeError("FLAC cannot store 32-bit float samples; use bit depth 16 or 24")


def encode_audio(path: Path, clip: AudioClip, fmt: str, bit_depth: str | None = None) -> Path:
    """Atomically encode ``clip`` to ``path`` in ``fmt``; lossless formats need ``bit_depth``.

    Samples are clipped to [-1, 1] except for float WAV: integer PCM would wrap an overshoot
    (resampling can add a little ringing overshoot to a clip normalised near 0 dBFS) and the
    lossy encoders take their input as full-scale-bounded. The rate is not checked here, so a
    caller that skips ``resample`` is responsible for Opus getting 48 kHz.
    """
    check_request(fmt, bit_depth, None)
    if fmt in LOSSLESS:
        if bit_depth is None:
            raise EncodeError(f"{fmt} needs a bit depth: 16, 24 or 32f")
        subtype = _PCM_SUBTYPES[bit_depth]
    else:
        subtype = _LOSSY_SUBTYPES[fmt]
    if clip.frames == 0:
        raise EncodeError("refusing to write an empty clip (0 frames)")
    data = np.asarray(clip.samples, dtype=np.float32)
    if not np.all(np.isfinite(data)):
        raise EncodeError("audio contains NaN or infinite samples")
    if subtype != "FLOAT":
        data = np.clip(data, -1.0, 1.0)
    level = _COMPRESSION.get(fmt)
    extra = {} if level is None else {"compression_level": level}
    try:
        with _atomic_target(path) as handle:
            soundfile.write(
                handle, data, clip.sample_rate, subtype=subtype, format=_CONTAINERS[fmt], **extra
            )
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        # e.g. a rate MP3 cannot represent; the encoder's message may span lines.
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise EncodeError(f"cannot encode {fmt} at {clip.sample_rate} Hz: {reason}") from exc
    return Path(path)


def resolve_destination(out: Path, stem: str, fmt: str, *, force: bool) -> Path:
    """Where an export goes: inside ``out`` if it is a directory, else ``out`` itself.

    Checked before any work so a bad destination costs nothing and leaves nothing behind. The
    existence check and the final rename are not one atomic step; a file that appears in
    between is replaced, which is acceptable for a single-user export command.
    """
    check_request(fmt, None, None)
    out = Path(out).expanduser()
    target = out / f"{stem}{EXTENSIONS[fmt]}" if out.is_dir() else out
    if target.is_dir():
        raise EncodeError(f"{target} is a directory")
    if not target.parent.is_dir():
        raise EncodeError(f"directory does not exist: {target.parent}")
    if target.exists() and not force:
        raise EncodeError(f"{target} already exists; pass --force to overwrite it")
    return target


def _source_depth(source: Path) -> str:
    """The master's own depth, so a plain same-format export is sample-exact by default."""
    try:
        subtype = soundfile.info(str(source)).subtype
    except (soundfile.LibsndfileError, RuntimeError, OSError):
        return "24"
    return _DEPTH_OF_SUBTYPE.get(subtype, "24")


def export_file(
    source: Path,
    target: Path,
    fmt: str,
    *,
    bit_depth: str | None = None,
    sample_rate: int | None = None,
) -> ExportResult:
    """Decode ``source``, resample if asked (or if Opus needs it) and encode it to ``target``.

    ``bit_depth`` defaults to the source's depth (FLAC caps a float master at 24-bit) and
    ``sample_rate`` to the source's rate. Raises EncodeError for a request that cannot be met
    and AudioFileError for an unreadable source.
    """
    check_request(fmt, bit_depth, sample_rate)
    clip = read_audio(source)
    rate = OPUS_RATE if fmt == "opus" else (sample_rate or clip.sample_rate)
    depth: str | None = None
    if fmt in LOSSLESS:
        depth = bit_depth or _source_depth(source)
        if fmt == "flac" and depth == "32f":
            depth = "24"
    clip = resample(clip, rate)
    encode_audio(target, clip, fmt, depth)
    return ExportResult(
        path=target,
        format=fmt,
        sample_rate=rate,
        channels=clip.channels,
        frames=clip.frames,
        bit_depth=depth,
        size_bytes=target.stat().st_size,
    )
