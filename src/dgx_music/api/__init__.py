"""The REST API (FastAPI): ``create_app`` builds it, ``dgx-music serve`` runs it.

It depends on the service layer only, and importing it loads no model libraries: list routes
and health checks never wait for torch.
"""

from __future__ import annotations

from dgx_music.api.app import create_app

__all__ = ["create_app"]
