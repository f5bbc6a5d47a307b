"""What ``GET /engines`` reports: each engine's limits and controls, MusicGen's checkpoints on
disk and in memory, and the device.

It looks, never loads: engines are constructed (cheap, their modules import no torch), weights
are looked for on disk only, and the device is described from the settings unless torch is
already imported because a model is in use.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel, Field

from dgx_music.service import GenerationService


class ModelOut(BaseModel):
    name: str
    parameters: str | None = Field(description="decoder size as published, e.g. 300M")
    stereo: bool | None
    melody: bool | None
    default: bool = Field(description="the configured musicgen_model")
    on_disk: bool
    size_bytes: int | None
    loaded: bool = Field(description="resident in this server's memory now")


class EngineOut(BaseModel):
    name: str
    available: bool
    error: str | None = Field(description="why the engine cannot be used, when it cannot")
    sample_rate: int | None
    min_duration: float | None
    max_duration: float | None
    has_stems: bool | None
    has_midi: bool | None
    controls: list[str]
    chooses: str | None = Field(default=None, description="auto: the engine it would use now")
    reason: str | None = Field(default=None, description="auto: why")
    models: list[ModelOut] = Field(default_factory=list)


class DeviceOut(BaseModel):
    setting: str = Field(description="musicgen_device")
    dtype_setting: str = Field(description="musicgen_dtype")
    torch_loaded: bool = Field(description="torch imported in this process (a model was used)")
    cuda_available: bool | None = Field(description="null until torch is imported")
    loaded_model: str | None
    loaded_device: str | None
    loaded_dtype: str | None


class EnginesOut(BaseModel):
    default: str
    engines: list[EngineOut]
    device: DeviceOut


def _musicgen_models(service: GenerationService, engine: Any) -> list[ModelOut]:
    from dgx_music.engines.musicgen import catalog

    settings = service.settings
    configured = catalog.canonical_name(settings.musicgen_model)
    resident = engine.resident()
    loaded_path = None if resident is None else resident.path
    try:
        found = catalog.statuses(extra=(configured,), cache_dir=settings.models_dir)
    except ImportError:  # huggingface_hub missing: the musicgen extra is not installed
        return []
    return [
        ModelOut(
            name=status.name,
            parameters=status.info.parameters if status.info else None,
            stereo=status.info.stereo if status.info else None,
            melody=status.info.melody if status.info else None,
            default=status.name == configured,
            on_disk=status.path is not None,
            size_bytes=status.size_bytes,
            loaded=loaded_path is not None and status.path == loaded_path,
        )
        for status in found
    ]


def describe_engine(service: GenerationService, name: str) -> EngineOut:
    try:
        engine = service.engines.get(name)
        capabilities = engine.capabilities()
        chooses = reason = None
        choose = getattr(engine, "choose", None)
        if choose is not None:
            chosen, reason = choose(None)
            chooses = chosen.name
        models = _musicgen_models(service, engine) if hasattr(engine, "resident") else []
    except Exception as exc:  # a broken plugin must not hide the others
        return EngineOut(
            name=name,
            available=False,
            error=" ".join(str(exc).split()) or type(exc).__name__,
            sample_rate=None,
            min_duration=None,
            max_duration=None,
            has_stems=None,
            has_midi=None,
            controls=[],
        )
    return EngineOut(
        name=name,
        available=True,
        error=None,
        sample_rate=capabilities.sample_rate,
        min_duration=capabilities.min_duration,
        max_duration=capabilities.max_duration,
        has_stems=capabilities.has_stems,
        has_midi=capabilities.has_midi,
        controls=sorted(capabilities.controls),
        chooses=chooses,
        reason=reason,
        models=models,
    )


def describe_device(service: GenerationService) -> DeviceOut:
    settings = service.settings
    torch = sys.modules.get("torch")
    cuda = None
    if torch is not None:
        try:
            cuda = bool(torch.cuda.is_available())
        except Exception:
            cuda = False
    resident = None
    if "musicgen" in service.engines.names():
        try:
            engine = service.engines.get("musicgen")
            resident = engine.resident() if hasattr(engine, "resident") else None
        except Exception:
            resident = None
    return DeviceOut(
        setting=settings.musicgen_device,
        dtype_setting=settings.musicgen_dtype,
        torch_loaded=torch is not None,
        cuda_available=cuda,
        loaded_model=None if resident is None else resident.name,
        loaded_device=None if resident is None else str(resident.device),
        loaded_dtype=None if resident is None else str(resident.dtype).removeprefix("torch."),
    )


def inventory(service: GenerationService) -> EnginesOut:
    return EnginesOut(
        default=service.settings.default_engine,
        engines=[describe_engine(service, name) for name in service.engines.names()],
        device=describe_device(service),
    )
