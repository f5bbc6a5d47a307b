"""Onset envelopes of a mono signal: where notes and drum hits start, per frequency band.

Split out of ``tempo`` (which reads the beat from them) because the envelopes are a job of their
own: a log-magnitude spectral flux per band, drum evidence taken from the percussive part of the
spectrogram only, smoothing, and autocorrelation. ``key`` uses the same STFT helper.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import scipy.ndimage

__all__ = [
    "autocorrelation",
    "band_envelopes",
    "between_ratio",
    "fold",
    "half_way_ratio",
    "magnitudes",
    "onset_hop",
    "smooth",
]

FloatArray = npt.NDArray[np.float64]

_ONSET_HOP_SECONDS = 256 / 22050
"""About 86 frames/s (a 256-sample hop at 22.05 kHz): 16ths at 180 BPM are 7 frames apart, so
soft fast hats stay a pulse; sub-frame precision comes from interpolating autocorrelation peaks."""
_LOG_COMPRESSION = 1000.0
"""log1p(1000 * |X| / max|X|) compresses about 60 dB so soft onsets count, independent of gain."""
_LOW_BAND_HZ = 200.0
_HIGH_BAND_HZ = 2500.0
_CYMBAL_BAND_HZ = 5000.0
"""Kick and bass live under ~200 Hz, snare bodies and toms between (the drum bands end at
2.5 kHz); hi-hats, shakers and ride cymbals are told apart above 5 kHz, where no snare body or
chord partial masks them. Soft 16th hats of a standard kit only show as a steady pulse there:
with a 2.5 kHz edge, half-time grooves lost their 16ths and read at half the tempo."""
_HPSS_FRAMES = 17
_HPSS_BINS = 17
"""Median filter lengths for the harmonic/percussive split: 17 frames is ~0.2 s (a held note
outlasts it, a drum hit does not), 17 bins ~370 Hz (a drum hit spans it, a partial does not)."""
_ONSET_SMOOTHING_FRAMES = 1.0


def magnitudes(signal: FloatArray, n_fft: int, hop: int) -> FloatArray:
    """Hann-windowed STFT magnitudes, shape ``[frames, n_fft // 2 + 1]``."""
    if signal.size < n_fft:
        signal = np.pad(signal, (0, n_fft - signal.size))
    frames = np.lib.stride_tricks.sliding_window_view(signal, n_fft)[::hop]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)
    return np.abs(np.fft.rfft(frames * window, axis=1))


def onset_hop(rate: float) -> int:
    """Hop (samples) nearest ``_ONSET_HOP_SECONDS`` that is a power of two; the FFT is 4 hops."""
    return int(2 ** round(math.log2(_ONSET_HOP_SECONDS * rate)))


def band_envelopes(
    signal: FloatArray, rate: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Log-magnitude spectral flux (nats per bin, per frame) over all bins, the kick band (the
    percussive part under ``_LOW_BAND_HZ``), the snare band (the percussive part from there to
    ``_HIGH_BAND_HZ``) and the cymbal band; each shape ``[frames - 1]``.

    Half-wave rectified frame-to-frame increase: note starts count, decays do not. The kick and
    snare bands are means over their own bins, kept apart: ``tempo`` averages them (so the few
    kick bins are not outvoted by the many snare bins) and compares where each one's pulse falls.
    """
    hop = onset_hop(rate)
    mags = magnitudes(signal, 4 * hop, hop)
    peak = float(mags.max())
    if peak <= 0.0:
        empty = np.zeros(max(0, mags.shape[0] - 1))
        return empty, empty, empty, empty
    flux = np.maximum(np.diff(np.log1p(_LOG_COMPRESSION / peak * mags), axis=0), 0.0)
    freqs = np.fft.rfftfreq(4 * hop, 1.0 / rate)
    low, high = freqs < _LOW_BAND_HZ, freqs >= _HIGH_BAND_HZ
    mid = ~(low | high)
    cymbal_edge = min(_CYMBAL_BAND_HZ, 0.75 * rate / 2.0)  # a low-rate input keeps a band
    high = freqs >= cymbal_edge
    full: FloatArray = flux.mean(axis=1)
    band = freqs < _HIGH_BAND_HZ
    percussive = _percussive(mags[:, band])
    drum_flux = np.maximum(np.diff(np.log1p(_LOG_COMPRESSION / peak * percussive), axis=0), 0.0)
    kick: FloatArray = drum_flux[:, low[band]].mean(axis=1)
    snare: FloatArray = drum_flux[:, mid[band]].mean(axis=1)
    cymbals: FloatArray = flux[:, high].mean(axis=1) if high.any() else np.zeros_like(full)
    return full, kick, snare, cymbals


def _percussive(mags: FloatArray) -> FloatArray:
    """The percussive part of a magnitude spectrogram ``[frames, bins]`` (median-filter
    harmonic/percussive separation, Fitzgerald 2010): sustained notes are smooth along time,
    drum hits along frequency; a soft mask keeps what is more the latter."""
    along_time = scipy.ndimage.median_filter(mags, size=(_HPSS_FRAMES, 1), mode="nearest")
    along_freq = scipy.ndimage.median_filter(mags, size=(1, _HPSS_BINS), mode="nearest")
    weight = np.square(along_freq)
    total = weight + np.square(along_time)
    mask = np.divide(weight, total, out=np.zeros_like(weight), where=total > 0.0)
    return np.asarray(mags * mask, dtype=np.float64)


def smooth(envelope: FloatArray, frame_rate: float, floor: bool = False) -> FloatArray:
    """Gaussian-smoothed (onsets fall between frames) with the ~1 s running mean removed, so
    periodicity is measured rather than loudness. With ``floor`` the running 20th percentile is
    removed instead: a soft onset then still counts as present instead of below average."""
    envelope = scipy.ndimage.gaussian_filter1d(envelope, _ONSET_SMOOTHING_FRAMES)
    size = round(frame_rate) | 1
    if floor:
        level = scipy.ndimage.percentile_filter(envelope, 20, size=size)
    else:
        level = scipy.ndimage.uniform_filter1d(envelope, size=size)
    return np.asarray(envelope - level, dtype=np.float64)


def fold(envelope: FloatArray, period: float) -> tuple[FloatArray, FloatArray] | None:
    """(phases, mean envelope at each phase): the envelope folded at ``period`` frames on a
    half-frame phase grid, or None for fewer than two whole periods."""
    count = int((envelope.size - 1) // period)
    if count < 2:
        return None
    phases = np.arange(0.0, period, 0.5)
    positions = phases[:, np.newaxis] + period * np.arange(count)[np.newaxis, :]
    folded: FloatArray = np.interp(positions, np.arange(envelope.size), envelope).mean(axis=1)
    return phases, folded


def half_way_ratio(envelope: FloatArray, period: float, above_floor: bool = False) -> float:
    """How strong the points half-way between a pulse train's pulses are, relative to the
    pulses: 1 means the half period is as much a pulse as the period, 0 nothing there.

    The envelope is folded at ``period`` frames; the strongest phase is the pulse, the phase
    half a period on is the half-way point. Negative means (the envelope has its running mean
    or floor removed) count as 0. With ``above_floor`` both are measured from the fold's
    quietest phase: a flat fold (flux at every phase, as a vibrato or tremolo keeps up) would
    otherwise read as pulses everywhere, where it has a pulse nowhere.
    """
    found = fold(envelope, period)
    if found is None:
        return 0.0
    phases, folded = found
    best = int(np.argmax(folded))
    on = float(folded[best])
    if on <= 0.0:
        return 0.0
    off = float(np.interp((phases[best] + period / 2.0) % period, phases, folded, period=period))
    floor = max(float(folded.min()), 0.0) if above_floor else 0.0
    return max(off - floor, 0.0) / (on - floor) if on > floor else 0.0


def between_ratio(envelope: FloatArray, period: float) -> float:
    """How strong the strongest point between a pulse train's pulses is, relative to the
    pulses: 0 means nothing happens between them, 1 something as strong as the pulse itself.

    Unlike :func:`half_way_ratio` it looks anywhere in the middle of the gap (0.3-0.7 of the
    period after the pulse), not only half-way: a swung 8th falls two thirds of the way through
    its beat and still subdivides it. Measured from the fold's quietest phase, so the decay of
    the pulse's own hits does not count as something between.
    """
    found = fold(envelope, period)
    if found is None:
        return 0.0
    phases, folded = found
    best = int(np.argmax(folded))
    floor = max(float(folded.min()), 0.0)
    on = float(folded[best]) - floor
    if on <= 0.0:
        return 0.0
    after = ((phases - phases[best]) / period) % 1.0
    middle = folded[(after > 0.3) & (after < 0.7)]
    return max(float(middle.max()) - floor, 0.0) / on if middle.size else 0.0


def autocorrelation(envelope: FloatArray) -> FloatArray | None:
    """Normalised autocorrelation (lag 0 = 1), or None for a constant envelope."""
    size = envelope.size
    autocorr = np.fft.irfft(np.abs(np.fft.rfft(envelope, 2 * size)) ** 2)[:size]
    if autocorr[0] <= 0.0:
        return None
    normalised: FloatArray = autocorr / autocorr[0]
    return normalised
