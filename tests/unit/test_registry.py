from __future__ import annotations

import sys

import pytest

from dgx_music.config import load_settings
from dgx_music.engines.registry import EngineRegistry, UnknownEngine


def test_listing_engines_imports_none_of_them() -> None:
    sys.modules.pop("tests.support.tone_engine", None)
    registry = EngineRegistry(load_settings())
    assert registry.names() == ["auto", "musicgen", "symbolic", "tone"]
    assert "tests.support.tone_engine" not in sys.modules
    engine = registry.get("tone")
    assert engine.name == "tone" and registry.get("tone") is engine
    assert "tests.support.tone_engine" in sys.modules


def test_unknown_and_broken_engines_say_what_is_wrong() -> None:
    registry = EngineRegistry(load_settings(engine_plugins={"broken": "no.such.module:make"}))
    with pytest.raises(UnknownEngine, match="available: auto, broken, musicgen, symbolic"):
        registry.get("nope")
    with pytest.raises(UnknownEngine, match="cannot be loaded"):
        registry.get("broken")


def test_listing_and_choosing_never_import_torch() -> None:
    """`auto` decides from the disk alone; torch loads only when MusicGen really generates."""
    import subprocess

    code = (
        "import sys\n"
        "from dgx_music.config import load_settings\n"
        "from dgx_music.engines.registry import EngineRegistry\n"
        "registry = EngineRegistry(load_settings())\n"
        "chosen, reason = registry.get('auto').choose()\n"
        "print(chosen.name, 'torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["symbolic", "False", "False"]
