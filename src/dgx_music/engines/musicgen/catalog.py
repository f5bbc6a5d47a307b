"""Which MusicGen checkpoints exist, and which of them are on this machine's disk.

Nothing here touches the network except :func:`pull`: finding weights asks the Hugging Face
cache with ``local_files_only=True``, which answers in milliseconds, whereas a plain
``from_pretrained`` with no route to the Hub retries for minutes or hangs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = "facebook/musicgen-small"
REQUIRED_FILES = ("config.json",)
PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
TOKENIZER_FILES = ("tokenizer.json", "spiece.model")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    parameters: str
    """Decoder size as published by Meta (the T5 text encoder and EnCodec come on top)."""
    stereo: bool = False
    melody: bool = False


KNOWN_MODELS: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        ModelInfo("facebook/musicgen-small", "300M"),
        ModelInfo("facebook/musicgen-medium", "1.5B"),
        ModelInfo("facebook/musicgen-large", "3.3B"),
        ModelInfo("facebook/musicgen-melody", "1.5B", melody=True),
        ModelInfo("facebook/musicgen-melody-large", "3.3B", melody=True),
        ModelInfo("facebook/musicgen-stereo-small", "300M", stereo=True),
        ModelInfo("facebook/musicgen-stereo-medium", "1.5B", stereo=True),
        ModelInfo("facebook/musicgen-stereo-large", "3.3B", stereo=True),
        ModelInfo("facebook/musicgen-stereo-melody", "1.5B", stereo=True, melody=True),
    )
}


class ModelNotFound(LookupError):
    """The weights are not on disk; the message says how to get them."""


def _is_directory(name: str) -> bool:
    """Whether ``name`` is a directory on this machine. A name no file can have (longer than
    the file system allows, a NUL byte, ``~nobody``) is not one: the name comes from users and
    API clients, and ``Path.is_dir`` raises for those rather than answering False."""
    try:
        return Path(name).expanduser().is_dir()
    except (OSError, ValueError, RuntimeError):
        return False


def canonical_name(name: str) -> str:
    """``musicgen-small`` and ``small`` are accepted for ``facebook/musicgen-small``."""
    if "/" in name or _is_directory(name):
        return name
    short = name.removeprefix("musicgen-")
    candidate = f"facebook/musicgen-{short}"
    return candidate if candidate in KNOWN_MODELS else name


def is_local_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or _is_directory(name)


def locate(name: str, cache_dir: Path | None = None) -> Path | None:
    """The directory holding a complete checkpoint for ``name``, or None when it is not on disk."""
    if is_local_path(name):
        path = Path(name).expanduser().resolve()
        return path if _is_complete(path) else None
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = snapshot_download(name, cache_dir=cache_dir, local_files_only=True)
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    path = Path(str(folder))
    return path if _is_complete(path) else None


def require(name: str, cache_dir: Path | None = None) -> Path:
    """Like :func:`locate`, but a missing checkpoint is an error that says what to do."""
    path = locate(name, cache_dir)
    if path is not None:
        return path
    if is_local_path(name):
        raise ModelNotFound(
            f"{name} is not a MusicGen checkpoint directory (it needs config.json, "
            "a processor config, weights and a tokenizer)"
        )
    raise ModelNotFound(
        f"the weights of {name} are not on this machine; download them with "
        f"`dgx-music models pull {name}`, or set DGX_MUSIC_MUSICGEN_MODEL to a local checkpoint "
        "directory (or use --engine symbolic, which needs no weights)"
    )


def _is_complete(path: Path) -> bool:
    if not path.is_dir() or not all((path / name).is_file() for name in REQUIRED_FILES):
        return False
    has_weights = any(next(path.glob(pattern), None) for pattern in WEIGHT_PATTERNS)
    has_tokenizer = any((path / name).is_file() for name in TOKENIZER_FILES)
    has_processor = any((path / name).is_file() for name in PROCESSOR_FILES)
    return has_weights and has_tokenizer and has_processor


def size_on_disk(path: Path) -> int:
    """Bytes of the files a checkpoint needs (the cache links snapshot files to blobs)."""
    return sum(file.resolve().stat().st_size for file in _files(path))


def _files(path: Path) -> Iterator[Path]:
    for file in path.rglob("*"):
        if file.is_file():
            yield file


@dataclass(frozen=True)
class ModelStatus:
    name: str
    info: ModelInfo | None
    path: Path | None
    size_bytes: int | None


def statuses(extra: tuple[str, ...] = (), cache_dir: Path | None = None) -> list[ModelStatus]:
    """Every known model plus ``extra`` (the configured model, a local path…), with disk state."""
    names = list(KNOWN_MODELS)
    names += [name for name in extra if name not in KNOWN_MODELS]
    found = []
    for name in names:
        path = locate(name, cache_dir)
        size = size_on_disk(path) if path is not None else None
        found.append(ModelStatus(name, KNOWN_MODELS.get(name), path, size))
    return found


def pull(name: str, cache_dir: Path | None = None) -> Path:
    """Download a checkpoint into the Hugging Face cache, with huggingface_hub's progress bars.

    Safetensors weights are preferred; the PyTorch ``.bin`` files are fetched only for
    repositories that have no safetensors, so a pull never downloads the same weights twice.
    """
    from huggingface_hub import snapshot_download

    wanted = ["*.json", "*.safetensors", "*.model", "*.txt"]
    folder = Path(str(snapshot_download(name, cache_dir=cache_dir, allow_patterns=wanted)))
    if not any(folder.glob("*.safetensors")):
        snapshot_download(name, cache_dir=cache_dir, allow_patterns=["pytorch_model*.bin"])
    path = locate(name, cache_dir)
    if path is None:
        raise ModelNotFound(f"{name} downloaded, but it is not a complete MusicGen checkpoint")
    return path
