"""Apps with access control switched on, a clock tests move by hand, and key helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from dgx_music.api import create_app
from dgx_music.config import load_settings
from dgx_music.service import GenerationService

GENERATE = {"prompt": "tone", "engine": "tone", "duration": 1.0}


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def app_client(
    monkeypatch: pytest.MonkeyPatch,
    *,
    clock: FakeClock | None = None,
    peer: tuple[str, int] = ("testclient", 50000),
    **settings: str,
) -> Iterator[tuple[TestClient, GenerationService]]:
    """The whole app with ``settings`` given as environment (``api_keys="..."``), as a user
    would set them, talking from ``peer``."""
    for name, value in settings.items():
        monkeypatch.setenv(f"DGX_MUSIC_{name.upper()}", value)
    service = GenerationService(load_settings())
    try:
        app = create_app(service=service, clock=clock)
        with TestClient(app, client=peer) as client:
            yield client, service
    finally:
        service.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
