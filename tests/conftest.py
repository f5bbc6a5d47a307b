"""Every test gets its own data directory and config home; a developer's shell cannot leak in."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent
REPO_ROOT = TESTS_DIR.parent
TONE_PLUGIN = json.dumps({"tone": "tests.support.tone_engine:make_tone_engine"})
# No test may reach the Hugging Face Hub; huggingface_hub reads this once, at import.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith("DGX_MUSIC_") or name.startswith("DGX_TEST_"):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DGX_MUSIC_DATA_DIR", str(data_dir))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("DGX_MUSIC_ENGINE_PLUGINS", TONE_PLUGIN)
    # An empty model cache: the developer's downloaded weights must not change what tests see.
    monkeypatch.setenv("DGX_MUSIC_MODELS_DIR", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "src")]))
    yield data_dir


@pytest.fixture(scope="session")
def tiny_musicgen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~1 MB random MusicGen checkpoint (mono, 32 kHz), built once per test session."""
    from tests.support.tiny_musicgen import build_tiny_musicgen

    return build_tiny_musicgen(tmp_path_factory.mktemp("tiny-musicgen") / "mono")


@pytest.fixture(scope="session")
def tiny_musicgen_stereo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_musicgen import build_tiny_musicgen

    return build_tiny_musicgen(tmp_path_factory.mktemp("tiny-musicgen") / "stereo", stereo=True)


@pytest.fixture(scope="session")
def tiny_musicgen_short_window(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Positions for 128 steps only: a window of 2.48 s, so long clips need continuation."""
    from tests.support.tiny_musicgen import build_tiny_musicgen

    path = tmp_path_factory.mktemp("tiny-musicgen") / "short"
    return build_tiny_musicgen(path, max_positions=128)
