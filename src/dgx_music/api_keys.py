"""API keys: the keys file, and checking a presented key against the known digests.

Keys never rest anywhere in plain text. ``dgx-music keys add`` prints a new key once and writes
only its SHA-256 digest to the keys file (``name:sha256-hex`` lines, ``#`` comments), replacing
the file atomically with mode 0600; keys given in the ``api_keys`` setting are digested as the
settings load. A presented key is digested and compared with every known digest by
``hmac.compare_digest``, all of them every time, so the answer's timing says nothing about how
close a guess came or which key it matched.

This module imports neither FastAPI nor anything heavy: ``serve``'s bind check and the
``keys`` commands use it before (or without) the web app.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import logging
import os
import re
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

from dgx_music.config import Settings, digest_api_key

log = logging.getLogger(__name__)

KEY_PREFIX = "dgxm_"
"""Marks a string as one of our keys, so secret scanners and people can tell what leaked."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_NEVER = object()
SETTING_KEY_NAME = "setting-{number}"
"""Names of the keys in the ``api_keys`` setting, which has none of its own: by position."""


FILE_HEADER = "# dgx-music API keys, `name:sha256-hex of the key`; see `dgx-music keys --help`\n"


class KeysFileError(ValueError):
    """A keys file that cannot be used, or a key name that cannot go into it."""


@dataclasses.dataclass(frozen=True)
class KeyEntry:
    name: str
    digest: str


def generate_key() -> str:
    """A new key: the prefix and 256 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def parse_keys(text: str, source: str) -> list[KeyEntry]:
    """The entries of a keys file. Lines that are not ``name:digest`` are skipped with a
    warning (by line number, never content): skipping one can only deny access, never grant."""
    entries: list[KeyEntry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, digest = line.partition(":")
        name, digest = name.strip(), digest.strip().lower()
        if not NAME_PATTERN.match(name) or not _DIGEST.match(digest):
            log.warning("%s line %d is not `name:sha256-hex`; ignored", source, number)
            continue
        entries.append(KeyEntry(name, digest))
    return entries


def read_keys_file(path: Path) -> list[KeyEntry]:
    """The keys in ``path``; none when it does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise KeysFileError(f"cannot read the API keys file {path}: {exc}") from None
    return parse_keys(text, str(path))


def setting_entries(settings: Settings) -> list[KeyEntry]:
    return [
        KeyEntry(SETTING_KEY_NAME.format(number=number), digest)
        for number, digest in enumerate(settings.api_keys, start=1)
    ]


def configured_keys(settings: Settings) -> list[KeyEntry]:
    """Every key the server would accept right now: the setting's, then the file's."""
    return setting_entries(settings) + read_keys_file(settings.api_keys_path)


def match_key(presented: str, entries: list[KeyEntry]) -> str | None:
    """The name of the entry whose key ``presented`` is, or None. Every digest is compared,
    each in constant time, whether or not an earlier one matched."""
    digest = digest_api_key(presented)
    found: str | None = None
    for entry in entries:
        if hmac.compare_digest(digest, entry.digest) and found is None:
            found = entry.name
    return found


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of the keys file between concurrent ``keys`` commands."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path.with_name(path.name + ".lock"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: a 0600 temp file beside it, fsynced, renamed over it.
    A reader (the running server) sees the old file or the new one, never a part."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def add_key(path: Path, name: str) -> str:
    """Make a key named ``name``, store its digest in ``path``, and return the key itself —
    the only time it exists outside the caller's hands."""
    if not NAME_PATTERN.match(name):
        raise KeysFileError(
            f"{name!r} is not a usable key name: letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 64 characters"
        )
    key = generate_key()
    with _locked(path):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if any(entry.name == name for entry in parse_keys(text, str(path))):
            raise KeysFileError(f"a key named {name!r} exists; remove it first to replace it")
        if text and not text.endswith("\n"):
            text += "\n"
        if not text:
            text = FILE_HEADER
        _write_atomically(path, text + f"{name}:{digest_api_key(key)}\n")
    return key


def remove_key(path: Path, name: str) -> None:
    """Delete the key ``name`` from ``path``; comments and other lines stay as they were."""
    with _locked(path):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        kept = [
            line
            for line in text.splitlines()
            if line.partition(":")[0].strip() != name or line.lstrip().startswith("#")
        ]
        if len(kept) == len(text.splitlines()):
            raise KeysFileError(f"no key named {name!r} in {path}")
        _write_atomically(path, "".join(line + "\n" for line in kept))


class KeyRing:
    """The keys a running server accepts, following the keys file as it changes.

    The file is looked at (one ``stat``) on each check and read again only when it changed,
    so ``keys add`` and ``keys rm`` take effect without a restart. Once any key has been seen,
    access control stays on for the life of the process: removing the last key locks the API
    rather than opening it.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings_entries = setting_entries(settings)
        self._path = settings.api_keys_path
        self._lock = threading.Lock()
        self._stamp: object = _NEVER
        self._entries = list(self._settings_entries)
        self._refresh()
        self._ever_enabled = bool(self._entries)

    def _refresh(self) -> None:
        try:
            info = self._path.stat()
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino, info.st_mode)
        except FileNotFoundError:
            stamp = None
        except OSError as exc:
            log.error("cannot look at the API keys file %s: %s", self._path, exc)
            return
        with self._lock:
            if stamp == self._stamp:
                return
            try:
                from_file = read_keys_file(self._path)
            except KeysFileError as exc:
                log.error("%s; only the api_keys setting's keys are accepted", exc)
                from_file = []
            if stamp is not None and stamp[3] & 0o022:
                log.warning("%s can be written by other users: anyone could add a key", self._path)
            self._entries = self._settings_entries + from_file
            self._stamp = stamp

    @property
    def enabled(self) -> bool:
        """Whether requests must carry a key (see the class docstring for why it sticks)."""
        self._refresh()
        self._ever_enabled = self._ever_enabled or bool(self._entries)
        return self._ever_enabled

    def identify(self, presented: str) -> str | None:
        """The name of the key presented, or None when it is not a current key."""
        self._refresh()
        return match_key(presented, self._entries)
