"""Loading a checkpoint onto a device, and keeping it resident between jobs.

Loading musicgen-small costs seconds and gigabytes, so a worker keeps the model while jobs keep
coming and drops it after ``musicgen_idle_unload`` seconds without one, giving the memory back
to the machine (the DGX Spark shares it between CPU and GPU).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dgx_music.engines.base import EngineError

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
TRAINED_WINDOW_SECONDS = 30.0
"""MusicGen was trained on 30 s excerpts; longer clips are made window by window."""


def resolve_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EngineError(
            f"DGX_MUSIC_MUSICGEN_DEVICE={setting} but CUDA is not available "
            "(see `dgx-music doctor`)"
        )
    return device


def resolve_dtype(setting: str, device: torch.device) -> torch.dtype:
    """CUDA: bf16 where the GPU does it natively, else fp16. CPU: fp32.

    bf16 on the CPU is opt-in: without AMX or AVX512-BF16 it is emulated and slower than fp32
    (measured in benchmarks/musicgen_speed.py), and fp32 keeps the model's own numerics.
    """
    if setting != "auto":
        return DTYPES[setting]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


@dataclass
class LoadedModel:
    name: str
    path: Path
    model: Any
    processor: Any
    device: torch.device
    dtype: torch.dtype
    quantized: bool
    load_seconds: float
    sample_rate: int = field(init=False)
    frame_rate: int = field(init=False)
    num_codebooks: int = field(init=False)
    audio_channels: int = field(init=False)
    window_frames: int = field(init=False)
    """Most frames one window may hold (prompt included)."""

    def __post_init__(self) -> None:
        config = self.model.config
        self.sample_rate = int(config.audio_encoder.sampling_rate)
        self.frame_rate = int(config.audio_encoder.frame_rate)
        decoder = config.decoder
        self.num_codebooks = int(decoder.num_codebooks)
        self.audio_channels = int(decoder.audio_channels)
        delay = self.num_codebooks // self.audio_channels - 1
        by_position = int(decoder.max_position_embeddings) - delay - 1
        self.window_frames = min(by_position, round(TRAINED_WINDOW_SECONDS * self.frame_rate))

    @property
    def is_melody(self) -> bool:
        return "melody" in type(self.model).__name__.lower()


def load_model(
    name: str, path: Path, device: torch.device, dtype: torch.dtype, quantize: str = "none"
) -> LoadedModel:
    """Load from a local directory only: the network is never consulted here."""
    from transformers import AutoConfig, AutoProcessor
    from transformers.utils import logging as transformers_logging

    # Config advisories and per-tensor loading bars would bury the CLI's own progress.
    transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    started = time.perf_counter()
    config = AutoConfig.from_pretrained(path, local_files_only=True)
    model_class = _model_class(config.model_type)
    try:
        model = model_class.from_pretrained(path, local_files_only=True, dtype=dtype)
        if config.model_type == "musicgen_melody":
            # Its processor needs torchaudio (no build matches current torch); melody.py makes
            # the chromagram itself and needs only the tokenizer.
            from transformers import AutoTokenizer

            processor = AutoTokenizer.from_pretrained(path, local_files_only=True)
        else:
            processor = AutoProcessor.from_pretrained(path, local_files_only=True)  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as exc:
        raise EngineError(f"cannot load the MusicGen checkpoint at {path}: {exc}") from exc
    model.eval()
    quantized = False
    if quantize == "int8":
        if device.type != "cpu":
            raise EngineError("musicgen_quantize=int8 is for the CPU; on a GPU use fp16/bf16")
        model.decoder = _quantize_int8(model.decoder)
        quantized = True
    model.to(device)
    prepare_for_decoding(model, device, dtype, quantized)
    seconds = time.perf_counter() - started
    log.info("loaded %s on %s (%s) in %.1f s", name, device, dtype, seconds)
    return LoadedModel(name, path, model, processor, device, dtype, quantized, seconds)


def prepare_for_decoding(
    model: Any, device: torch.device, dtype: torch.dtype, quantized: bool = False
) -> None:
    """CPU fp32 decoders get oneDNN-packed weights for the step loop (see decoding.py)."""
    from dgx_music.engines.musicgen.decoding import pack_decoder_weights

    is_melody = "melody" in type(model).__name__.lower()  # stock generate: packing unused
    if device.type == "cpu" and dtype == torch.float32 and not quantized and not is_melody:
        try:
            count = pack_decoder_weights(model)
        except RuntimeError as exc:  # a torch build whose oneDNN refuses: the W @ xᵀ path
            log.info("oneDNN weight packing unavailable (%s); using plain matmuls", exc)
            return
        log.debug("packed %d decoder weights for oneDNN", count)


def _model_class(model_type: str) -> Any:
    if model_type == "musicgen":
        from transformers import MusicgenForConditionalGeneration

        return MusicgenForConditionalGeneration
    if model_type == "musicgen_melody":
        from transformers import MusicgenMelodyForConditionalGeneration

        return MusicgenMelodyForConditionalGeneration
    raise EngineError(f"not a MusicGen checkpoint (model_type {model_type!r})")


def _quantize_int8(decoder: Any) -> Any:
    """EXPERIMENTAL and lossy: int8 weights for every Linear layer of the decoder."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its own deprecation
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(decoder, {torch.nn.Linear}, dtype=torch.qint8)  # type: ignore[no-untyped-call]


class ModelPool:
    """At most one resident model per worker process, dropped after an idle timeout."""

    def __init__(
        self, device_setting: str, dtype_setting: str, quantize: str, idle_unload: float
    ) -> None:
        self._device_setting = device_setting
        self._dtype_setting = dtype_setting
        self._quantize = quantize
        self._idle_unload = idle_unload
        self._lock = threading.RLock()
        self._loaded: LoadedModel | None = None
        self._last_used = 0.0
        self._users = 0
        self._timer: threading.Timer | None = None

    def acquire(self, name: str, path: Path) -> LoadedModel:
        """The model for ``name``, loading it (and dropping another) when needed; pair with
        :meth:`release` so an idle timer never unloads a model that is in use."""
        with self._lock:
            current = self._loaded
            if current is None or current.path != path:
                self._drop()
                device = resolve_device(self._device_setting)
                dtype = resolve_dtype(self._dtype_setting, device)
                self._loaded = load_model(name, path, device, dtype, self._quantize)
            self._users += 1
            assert self._loaded is not None
            return self._loaded

    def release(self) -> None:
        with self._lock:
            self._users = max(self._users - 1, 0)
            self._last_used = time.monotonic()
            if self._users == 0 and self._idle_unload > 0:
                self._arm_timer(self._idle_unload)

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def _arm_timer(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(delay, self._unload_if_idle)
        self._timer.daemon = True
        self._timer.start()

    def _unload_if_idle(self) -> None:
        with self._lock:
            if self._users or self._loaded is None:
                return
            idle = time.monotonic() - self._last_used
            if idle < self._idle_unload:
                self._arm_timer(self._idle_unload - idle)
                return
            log.info("unloading %s after %.0f s idle", self._loaded.name, idle)
            self._drop()

    def _drop(self) -> None:
        if self._loaded is None:
            return
        device = self._loaded.device
        self._loaded = None
        import gc

        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._drop()
