"""Turn a free-text prompt into the few musical decisions the composer needs.

The symbolic engine cannot "understand" a prompt the way a neural model does, so it reads only
what it can act on faithfully (tempo, key, mood, genre, instrument hints) and records in
``interpretation`` exactly which words drove each decision and what was left to defaults. That
record is stored on the job so a user can see why a prompt sounded the way it did and reword it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["major", "minor"]

SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_NATURAL_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

MIN_BPM = 40.0
MAX_BPM = 240.0


@dataclass(frozen=True)
class GenreProfile:
    """Defaults for one genre: the tempo range its listeners expect and its usual key."""

    bpm_low: float
    bpm_default: float
    bpm_high: float
    root: str
    mode: Mode


GENRES: dict[str, GenreProfile] = {
    "lofi hip hop": GenreProfile(70, 82, 92, "D", "minor"),
    "boom bap": GenreProfile(84, 90, 98, "C", "minor"),
    "trap": GenreProfile(130, 140, 160, "F", "minor"),
    "house": GenreProfile(118, 124, 128, "F", "minor"),
    "techno": GenreProfile(124, 130, 140, "A", "minor"),
    "trance": GenreProfile(132, 138, 142, "F#", "minor"),
    "drum and bass": GenreProfile(165, 174, 178, "E", "minor"),
    "synthwave": GenreProfile(80, 100, 118, "A", "minor"),
    "pop": GenreProfile(90, 110, 128, "C", "major"),
    "rock": GenreProfile(100, 120, 150, "E", "major"),
    "jazz": GenreProfile(90, 120, 180, "F", "major"),
    "ambient": GenreProfile(60, 70, 90, "D", "major"),
    "cinematic": GenreProfile(70, 90, 110, "D", "minor"),
}
DEFAULT_GENRE = "pop"

# Most specific first: "lofi hip hop" must win over the plain "hip hop" of boom bap.
_GENRE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("lofi hip hop", r"lo-?\s?fi(?:[\s-]+hip[\s-]?hop)?|chill\s?hop|study beats?"),
    ("drum and bass", r"drum\s?(?:and|&|n|'n'|n')\s?bass|\bdnb\b|\bd&b\b|\bjungle\b|liquid funk"),
    ("synthwave", r"synth\s?wave|retro\s?wave|outrun|vaporwave|\b80s\b|eighties"),
    ("trance", r"\btrance\b"),
    ("techno", r"\btechno\b"),
    ("house", r"\bhouse\b|\bedm\b|\bdisco\b"),
    ("trap", r"\btrap\b|\bdrill\b"),
    ("boom bap", r"boom[\s-]?bap|hip[\s-]?hop|\brap\b"),
    ("jazz", r"\bjazz\w*|\bswing\b|bebop|\bbossa"),
    ("ambient", r"\bambient\b|\bdrone\b|meditat\w*|\batmospheric\b"),
    ("cinematic", r"cinematic|orchestra\w*|film score|soundtrack|\btrailer\b|\bepic\b"),
    ("rock", r"\brock\b|\bpunk\b|\bgrunge\b|\bmetal\b|guitar band"),
    ("pop", r"\bpop\b|synth[\s-]?pop\b"),
)

_MAJOR_MOODS = (
    "happy", "uplifting", "joyful", "joyous", "bright", "cheerful", "euphoric", "sunny",
    "triumphant", "hopeful", "feel-good", "feel good", "playful", "optimistic", "summer",
)  # fmt: skip
_MINOR_MOODS = (
    "dark", "sad", "melancholic", "melancholy", "moody", "gloomy", "somber", "sombre",
    "haunting", "ominous", "eerie", "mysterious", "brooding", "tense", "sorrowful", "tragic",
    "lonely", "nostalgic", "menacing",
)  # fmt: skip
_SLOW_WORDS = ("slow", "slower", "downtempo", "laid back", "laid-back", "relaxed", "lazy")
_FAST_WORDS = ("uptempo", "up-tempo", "fast", "faster", "energetic", "high energy", "driving")
_MID_WORDS = ("midtempo", "mid-tempo", "medium tempo", "moderate")

# Hint word as written in prompts → (part it recolours, General MIDI program).
INSTRUMENT_HINTS: dict[str, tuple[str, int]] = {
    "electric piano": ("chords", 4),
    "rhodes": ("chords", 4),
    "wurlitzer": ("chords", 5),
    "piano": ("chords", 0),
    "organ": ("chords", 16),
    "acoustic guitar": ("chords", 25),
    "distorted guitar": ("lead", 30),
    "guitar": ("chords", 27),
    "strings": ("chords", 48),
    "choir": ("chords", 52),
    "pad": ("chords", 89),
    "808": ("bass", 38),
    "808s": ("bass", 38),
    "synth bass": ("bass", 38),
    "upright bass": ("bass", 32),
    "double bass": ("bass", 32),
    "cello": ("bass", 42),
    "saxophone": ("lead", 65),
    "sax": ("lead", 65),
    "trumpet": ("lead", 56),
    "brass": ("lead", 61),
    "flute": ("lead", 73),
    "violin": ("lead", 40),
    "harp": ("lead", 46),
    "bells": ("lead", 14),
    "music box": ("lead", 10),
    "vibraphone": ("lead", 11),
    "marimba": ("lead", 12),
    "kalimba": ("lead", 108),
    "synth": ("lead", 81),
    "lead synth": ("lead", 81),
    "synth pad": ("chords", 89),
    "bass guitar": ("bass", 33),
    "electric bass": ("bass", 33),
    "electric guitar": ("chords", 27),
    "nylon guitar": ("chords", 24),
}
NO_DRUMS = re.compile(r"\b(?:no|without|minus|zero)\s+(?:drums?|percussion)\b|\bdrum-?less\b")

_TEMPO_RES = (
    re.compile(r"(\d{2,3}(?:\.\d+)?)\s*-?\s*bpm\b", re.IGNORECASE),
    re.compile(r"\b(?:bpm|tempo)\s*(?:of|at|:|=)?\s*(\d{2,3}(?:\.\d+)?)\b", re.IGNORECASE),
)
_ACCIDENTAL = r"(#|♯|b|♭|-?\s?sharp|-?\s?flat)?"
# "A minor", "in f# major", "Bb maj": the mode word makes a lowercase letter unambiguous.
_KEY_FULL = re.compile(
    r"(?<![\w#])([A-Ga-g])" + _ACCIDENTAL + r"\s*-?\s*(major|minor|maj|min)\b", re.IGNORECASE
)
# "Am", "C#m", "Bbm7", "Fmaj7": shorthand needs a capital letter, or "am"/"em" would be words.
_KEY_SHORT = re.compile(r"(?<![\w#])([A-G])(#|♯|b|♭)?(m|min|maj)(?:7|9|11)?(?![\w#])")
# "key of D", "in F#" (mode then comes from mood or genre).
_KEY_ROOT = re.compile(r"\b(?i:key of|in)\s+([A-G])(#|♯|b|♭)?(?![\w#])")


@dataclass(frozen=True)
class MusicalIntent:
    """What the composer will honour; ``interpretation`` is for people, not for the composer."""

    bpm: float
    key_root: str
    mode: Mode
    genre: str
    instruments: tuple[str, ...] = ()
    drums: bool = True
    bars: int | None = None
    """Length the prompt asked for in 4/4 bars ("16 bars"), if any."""
    interpretation: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"{self.key_root} {self.mode}"


def normalise_root(letter: str, accidental: str | None) -> str:
    """Spell any root with sharps so keys compare equal however the prompt spelled them."""
    pc = _NATURAL_PC[letter.upper()]
    acc = (accidental or "").lower().replace("-", "").strip()
    if acc in ("#", "♯", "sharp"):
        pc += 1
    elif acc in ("b", "♭", "flat"):
        pc -= 1
    return SHARP_NAMES[pc % 12]


def relative_key(root: str, mode: Mode) -> tuple[str, Mode]:
    """Same key signature, other mode: so a mood flip keeps the genre's usual register."""
    pc = SHARP_NAMES.index(root)
    if mode == "major":
        return SHARP_NAMES[(pc + 9) % 12], "minor"
    return SHARP_NAMES[(pc + 3) % 12], "major"


def _find_words(text: str, words: tuple[str, ...]) -> list[str]:
    return [w for w in words if re.search(r"(?<![\w-])" + re.escape(w) + r"(?![\w-])", text)]


def _parse_genre(lower: str) -> tuple[str, dict[str, Any]]:
    found: list[tuple[str, str]] = []
    taken: list[tuple[int, int]] = []  # "hip hop" inside "lofi hip hop" is not a second genre
    for genre, pattern in _GENRE_PATTERNS:
        for match in re.finditer(pattern, lower):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append((genre, match.group(0)))
            break
    if not found:
        return DEFAULT_GENRE, {"value": DEFAULT_GENRE, "source": "default", "matched": None}
    genre, matched = found[0]
    info: dict[str, Any] = {"value": genre, "source": "prompt", "matched": matched}
    if len(found) > 1:
        info["also_mentioned"] = [g for g, _ in found[1:]]
    return genre, info


def _parse_tempo(text: str, lower: str, profile: GenreProfile) -> tuple[float, dict[str, Any]]:
    for pattern in _TEMPO_RES:
        match = pattern.search(text)
        if match:
            asked = float(match.group(1))
            bpm = min(max(asked, MIN_BPM), MAX_BPM)
            info: dict[str, Any] = {"value": bpm, "source": "prompt", "matched": match.group(0)}
            if bpm != asked:
                info["clamped_from"] = asked
            return bpm, info
    for words, bpm, label in (
        (_SLOW_WORDS, profile.bpm_low, "slow end of genre range"),
        (_FAST_WORDS, profile.bpm_high, "fast end of genre range"),
        (_MID_WORDS, profile.bpm_default, "middle of genre range"),
    ):
        hits = _find_words(lower, words)
        if hits:
            value = float(bpm)
            return value, {
                "value": value,
                "source": "tempo word",
                "matched": hits[0],
                "rule": label,
            }
    bpm = float(profile.bpm_default)
    return bpm, {"value": bpm, "source": "default", "matched": None, "rule": "genre default"}


def _is_article(text: str, match: re.Match[str]) -> bool:
    """Lowercase "a major"/"a minor" is usually English ("a major hit"), unless "in" precedes it."""
    if match.group(1) != "a" or match.group(2):
        return False
    return not re.search(r"\b(?:in|key of)\s+$", text[: match.start()], re.IGNORECASE)


def _parse_key(text: str) -> tuple[str | None, Mode | None, str | None]:
    for pattern in (_KEY_FULL, _KEY_SHORT):
        for match in pattern.finditer(text):
            if _is_article(text, match):
                continue
            mode_word = match.group(3).lower()
            mode: Mode = "major" if mode_word.startswith("maj") else "minor"
            return normalise_root(match.group(1), match.group(2)), mode, match.group(0).strip()
    root_only = _KEY_ROOT.search(text)
    if root_only:
        return normalise_root(root_only.group(1), root_only.group(2)), None, root_only.group(0)
    return None, None, None


def _parse_mood(lower: str) -> tuple[Mode | None, list[str]]:
    major = _find_words(lower, _MAJOR_MOODS)
    minor = _find_words(lower, _MINOR_MOODS)
    if len(major) > len(minor):
        return "major", major + minor
    if len(minor) > len(major):
        return "minor", minor + major
    return None, major + minor


_FILLER = frozenset((
    "a", "an", "the", "and", "or", "with", "in", "of", "for", "on", "at", "to", "some", "please",
    "track", "song", "music", "beat", "beats", "vibe", "vibes", "bpm", "key", "like", "style",
    "feel", "feeling", "sound", "sounding", "type", "kind",
))  # fmt: skip


def unused_words(lower: str, used: list[str]) -> list[str]:
    """Prompt words that drove no decision, so a user sees what the engine could not act on."""
    spent = {word for phrase in used for word in re.findall(r"[\w#&'-]+", phrase.lower())}
    words = re.findall(r"[\w#&'-]+", lower)
    return list(dict.fromkeys(w for w in words if w not in spent and w not in _FILLER))


_BARS = re.compile(r"\b(\d{1,3})[\s-]*bars?\b")
MAX_BARS = 512


def _parse_bars(lower: str) -> tuple[int | None, str | None]:
    match = _BARS.search(lower)
    if match is None or not 1 <= int(match.group(1)) <= MAX_BARS:
        return None, None
    return int(match.group(1)), match.group(0)


def parse_prompt(text: str) -> MusicalIntent:
    """Read tempo, key, mood, genre and instrument hints; default the rest and say so."""
    text = " ".join(text.split())
    lower = text.lower()
    genre, genre_info = _parse_genre(lower)
    also_mentioned: list[str] = genre_info.get("also_mentioned", [])
    profile = GENRES[genre]
    bpm, tempo_info = _parse_tempo(text, lower, profile)

    root, mode, key_match = _parse_key(text)
    mood_mode, mood_words = _parse_mood(lower)
    key_info: dict[str, Any] = {"matched": key_match}
    if root is not None and mode is not None:
        key_info["source"] = "prompt"
    elif root is not None:
        mode = mood_mode or profile.mode
        key_info["source"] = "prompt root, mode from " + ("mood" if mood_mode else "genre default")
    elif mood_mode is not None:
        root, mode = profile.root, profile.mode
        if mood_mode != mode:
            root, mode = relative_key(root, mode)
        key_info["source"] = "mood, root from genre default"
    else:
        root, mode = profile.root, profile.mode
        key_info["source"] = "default"
    key_info["value"] = f"{root} {mode}"

    instruments = tuple(_find_words(lower, tuple(INSTRUMENT_HINTS)))
    # "electric piano" also contains "piano": keep only the most specific hint per phrase.
    instruments = tuple(
        hint for hint in instruments if not any(hint != o and hint in o for o in instruments)
    )
    no_drums = NO_DRUMS.search(lower)
    bars, bars_match = _parse_bars(lower)
    used = [m.group(0) for _, pattern in _GENRE_PATTERNS if (m := re.search(pattern, lower))]
    used += [str(info.get("matched") or "") for info in (tempo_info, key_info)]
    used += [*mood_words, *instruments, no_drums.group(0) if no_drums else "", bars_match or ""]
    defaulted = [
        name
        for name, info in (("genre", genre_info), ("tempo", tempo_info), ("key", key_info))
        if info["source"] == "default"
    ]
    interpretation: dict[str, Any] = {
        "genre": genre_info,
        "tempo": tempo_info,
        "key": key_info,
        "mood": {"value": mood_mode, "matched": mood_words},
        "instruments": {
            "value": list(instruments),
            "source": "prompt" if instruments else "default",
            "matched": list(instruments),
        },
        "drums": {
            "value": not no_drums,
            "source": "prompt" if no_drums else "default",
            "matched": no_drums.group(0) if no_drums else None,
        },
        "defaulted": defaulted,
        "ignored": [f"genre {g!r} (also mentioned; first match wins)" for g in also_mentioned],
        "unused_words": unused_words(lower, used),
        "understood_nothing": (
            len(defaulted) == 3 and not mood_words and not instruments and not no_drums
        ),
    }
    if bars is not None:
        interpretation["bars"] = {"value": bars, "source": "prompt", "matched": bars_match}
    return MusicalIntent(
        bpm=bpm,
        key_root=root,
        mode=mode,
        genre=genre,
        instruments=instruments,
        drums=not no_drums,
        bars=bars,
        interpretation=interpretation,
    )
