"""Names in a session: what the producer reads (kept) and what lands on disk (made safe).

Display names — the session title, track and region names, markers — keep spaces, unicode,
quotes and ampersands: ElementTree escapes them in the XML and Ardour shows them as typed.
File and folder names are another matter: the session folder travels between Linux, macOS and
Windows (zipped by the API, copied to a studio machine), so they lose the characters any of
those file systems refuse. Audio and MIDI files are named from ASCII slugs, which no DAW,
archiver or file system misreads.
"""

from __future__ import annotations

import re
import unicodedata

from dgx_music.library import slugify

__all__ = ["UniqueNames", "clean_text", "display_name", "file_safe", "port_safe", "slugify"]

MAX_FILE_NAME = 100
MAX_FILE_NAME_BYTES = 200
"""Under the usual 255-byte limit with room for what is added: ``.ardour.bak``, ``.partial-…``."""
MAX_DISPLAY_NAME = 48
_UNSAFE_IN_FILE_NAMES = re.compile(r'[<>:"/\\|?*]')
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(10)), *(f"LPT{n}" for n in range(10))}
)
_RESERVED_ROUTE_NAMES = frozenset(
    {"master", "monitor", "click", "auditioner", "control", "ltc", "mtc", "mmc", "live"}
)
"""Names Ardour keeps for its own busses and ports; a track called so would clash with them."""


def clean_text(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` without what XML 1.0 cannot hold or a file system cannot encode.

    Control characters, lone surrogates (JSON can carry them), private-use and unassigned code
    points go; line breaks and tabs become newlines (``keep_newlines``) or spaces. The result
    is NFC, so "é" is one code point whichever way it was typed.
    """
    encodable = text.encode("utf-8", "ignore").decode("utf-8")
    kept = []
    for char in unicodedata.normalize("NFC", encodable):
        if char in "\n\r\t\u2028\u2029":
            kept.append("\n" if keep_newlines and char != "\t" else " ")
        elif unicodedata.category(char) not in ("Cc", "Cs", "Co", "Cn"):
            kept.append(char)
    return "".join(kept)


def display_name(text: str, limit: int = MAX_DISPLAY_NAME) -> str:
    """One line of at most ``limit`` characters, cut at a word where possible, with "…"."""
    line = " ".join(clean_text(text).split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def file_safe(text: str, fallback: str = "session") -> str:
    """A folder or file name for ``text``: no ``<>:"/\\|?*``, no leading dot, ≤ 100 characters
    and 200 bytes.

    Spaces, unicode, apostrophes and ampersands stay, so "Café & Co" is still "Café & Co" in
    the file manager; an empty or all-dots name becomes ``fallback``.
    """
    name = _UNSAFE_IN_FILE_NAMES.sub("_", " ".join(clean_text(text).split()))
    name = name.strip(" .")[:MAX_FILE_NAME]
    while len(name.encode("utf-8")) > MAX_FILE_NAME_BYTES:
        name = name[:-1]
    name = name.rstrip(" .")
    if name.split(".")[0].upper() in _WINDOWS_DEVICES:
        name += "_"
    return name or fallback


def port_safe(route_name: str) -> str:
    """The route name as Ardour 7 writes it in port names: a colon separates a port's client
    from its name, so Ardour turns colons in route names into hyphens there."""
    return route_name.replace(":", "-")


class UniqueNames:
    """Hands out names no other route, group or playlist in the session has: the second
    "drums" becomes "drums 2", as Ardour itself numbers duplicates."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, wanted: str) -> str:
        base = display_name(wanted) or "track"
        if base.casefold() in _RESERVED_ROUTE_NAMES:
            base = f"{base} track"
        name, number = base, 1
        while name.casefold() in self._taken:
            number += 1
            name = f"{base} {number}"
        self._taken.add(name.casefold())
        return name
