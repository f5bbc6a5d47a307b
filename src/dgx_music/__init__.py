"""DGX Music: self-hosted text-to-music generation with a job queue and a searchable library."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
