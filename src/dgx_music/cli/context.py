"""Shared plumbing for commands: opening the service and turning known errors into exit 2.

Imports here are cheap on purpose; everything heavy is imported inside the function that needs
it so that ``dgx-music --help`` stays instant.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from dgx_music.service import GenerationService

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_BAD_INPUT = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _user_errors() -> tuple[type[Exception], ...]:
    from dgx_music.api_keys import KeysFileError
    from dgx_music.audio.export import AudioFileError
    from dgx_music.config import SettingsError
    from dgx_music.engines.base import EngineError
    from dgx_music.engines.registry import UnknownEngine
    from dgx_music.service import InvalidRequest
    from dgx_music.storage.jobs import InvalidTransition, JobNotFound
    from dgx_music.storage.tracks import TrackNotFound

    return (
        KeysFileError,
        AudioFileError,
        SettingsError,
        EngineError,
        UnknownEngine,
        InvalidRequest,
        InvalidTransition,
        JobNotFound,
        TrackNotFound,
    )


@contextmanager
def user_errors() -> Iterator[None]:
    """Known bad input → one line on stderr and exit 2, never a traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        if isinstance(exc, _user_errors()):
            fail(str(exc))
        raise


@contextmanager
def open_service() -> Iterator[GenerationService]:
    from dgx_music.config import load_settings
    from dgx_music.service import GenerationService

    with user_errors():
        settings = load_settings()
        service = GenerationService(settings)
    try:
        with user_errors():
            yield service
    finally:
        service.close()


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
