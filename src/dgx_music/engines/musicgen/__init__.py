"""MusicGen through Hugging Face transformers: the neural engine.

Importing this package is cheap; torch and transformers load when a model is first needed.
"""

from __future__ import annotations

from dgx_music.engines.musicgen.engine import MusicGenEngine

__all__ = ["MusicGenEngine"]
