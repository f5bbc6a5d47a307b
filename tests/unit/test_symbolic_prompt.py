from __future__ import annotations

import pytest

from dgx_music.engines.symbolic.composer import programs_for
from dgx_music.engines.symbolic.prompt import GENRES, parse_prompt
from dgx_music.engines.symbolic.request import apply_request


@pytest.mark.parametrize(
    ("prompt", "bpm", "key", "genre"),
    [
        ("lofi hip hop 92 bpm in A minor", 92.0, "A minor", "lofi hip hop"),
        ("dark techno at 128BPM", 128.0, "A minor", "techno"),
        ("Bb major jazz ballad", 120.0, "A# major", "jazz"),
        ("trap beat in C#m", 140.0, "C# minor", "trap"),
        ("Am boom bap", 90.0, "A minor", "boom bap"),
        ("epic cinematic score in F# minor", 90.0, "F# minor", "cinematic"),
        ("tempo: 100, deep house in Eb major", 100.0, "D# major", "house"),
        ("house bpm 121.5", 121.5, "F minor", "house"),
        ("uptempo drum & bass", 178.0, "E minor", "drum and bass"),
        ("slow ambient soundscape", 60.0, "D major", "ambient"),
        ("C sharp minor lo-fi", 82.0, "C# minor", "lofi hip hop"),
        ("rock anthem in the key of D", 120.0, "D major", "rock"),
        ("In Gb, a sad retrowave drive", 100.0, "F# minor", "synthwave"),
        ("f minor trance", 138.0, "F minor", "trance"),
    ],
)
def test_reads_tempo_key_and_genre(prompt: str, bpm: float, key: str, genre: str) -> None:
    intent = parse_prompt(prompt)
    assert (intent.bpm, intent.key, intent.genre) == (bpm, key, genre)
    assert intent.key == f"{intent.key_root} {intent.mode}"
    assert isinstance(intent.bpm, float)


@pytest.mark.parametrize(
    ("prompt", "key"),
    [
        ("happy pop song", "C major"),
        ("sad pop song", "A minor"),  # relative minor keeps the genre's key signature
        ("melancholic synthwave", "A minor"),
        ("uplifting trance", "A major"),
        ("dark and moody house", "F minor"),
        ("happy music, I am joyful", "C major"),  # lowercase "am" is a word, not A minor
    ],
)
def test_mood_words_choose_the_mode(prompt: str, key: str) -> None:
    intent = parse_prompt(prompt)
    assert intent.key == key
    assert intent.interpretation["mood"]["matched"]


@pytest.mark.parametrize(
    ("prompt", "key"),
    [
        ("epic trailer with a major build-up", "D minor"),  # "a major" is English here
        ("a sad song in a minor", "A minor"),
        ("in the key of a major", "A major"),
        ("Am7 lofi", "A minor"),
        ("Fmaj7 jazz", "F major"),
        ("E-flat minor techno", "D# minor"),
    ],
)
def test_key_spellings_and_the_article_a(prompt: str, key: str) -> None:
    assert parse_prompt(prompt).key == key


def test_explicit_key_beats_mood_and_is_reported() -> None:
    intent = parse_prompt("sad song in D major")
    assert intent.key == "D major"
    assert intent.interpretation["key"] == {
        "matched": "D major",
        "source": "prompt",
        "value": "D major",
    }
    assert intent.interpretation["mood"]["value"] == "minor"


def test_nonsense_gets_defaults_and_says_so() -> None:
    intent = parse_prompt("qwerty zxcv 42")
    assert (intent.genre, intent.bpm, intent.key) == ("pop", 110.0, "C major")
    info = intent.interpretation
    assert sorted(info["defaulted"]) == ["genre", "key", "tempo"]
    assert info["understood_nothing"] is True
    assert info["tempo"]["source"] == "default"


def test_interpretation_names_the_words_used() -> None:
    info = parse_prompt("Chill lofi beats, 85 bpm, nostalgic, with rhodes").interpretation
    assert info["tempo"]["matched"] == "85 bpm"
    assert info["genre"]["matched"] == "lofi"
    assert info["mood"] == {"value": "minor", "matched": ["nostalgic"]}
    assert info["instruments"] == {"value": ["rhodes"], "source": "prompt", "matched": ["rhodes"]}
    assert info["understood_nothing"] is False
    assert "tempo" not in info["defaulted"]


def test_out_of_range_tempo_is_clamped_and_reported() -> None:
    intent = parse_prompt("techno 500 bpm")
    assert intent.bpm == 240.0
    assert intent.interpretation["tempo"]["clamped_from"] == 500.0


def test_tempo_words_pick_the_ends_of_the_genre_range() -> None:
    profile = GENRES["house"]
    assert parse_prompt("slow house").bpm == profile.bpm_low
    assert parse_prompt("fast house").bpm == profile.bpm_high
    assert parse_prompt("house").bpm == profile.bpm_default
    assert parse_prompt("breakfast house").bpm == profile.bpm_default  # not "fast"


def test_most_specific_genre_wins_and_others_are_noted() -> None:
    intent = parse_prompt("lofi hip hop with jazz chords")
    assert intent.genre == "lofi hip hop"
    assert intent.interpretation["genre"]["also_mentioned"] == ["jazz"]  # not "hip hop" again


@pytest.mark.parametrize("genre", sorted(GENRES))
def test_every_genre_is_reachable_by_name(genre: str) -> None:
    intent = parse_prompt(f"some {genre} please")
    profile = GENRES[genre]
    assert intent.genre == genre
    assert profile.bpm_low <= intent.bpm <= profile.bpm_high
    assert intent.mode == profile.mode


def test_instrument_hints_recolour_the_parts() -> None:
    intent = parse_prompt("lofi with electric piano, saxophone and an upright bass")
    assert set(intent.instruments) == {"electric piano", "saxophone", "upright bass"}
    assert "piano" not in intent.instruments  # the more specific hint absorbs it
    programs = programs_for(intent)
    assert (programs["chords"], programs["lead"], programs["bass"]) == (4, 65, 32)
    assert programs_for(parse_prompt("techno"))["bass"] == 39


def test_intent_is_frozen() -> None:
    intent = parse_prompt("house")
    with pytest.raises(AttributeError):
        intent.bpm = 99.0  # type: ignore[misc]


# --- request fields beat the prompt -------------------------------------------------------


def test_request_fields_override_the_prompt_and_say_so() -> None:
    intent = apply_request(
        parse_prompt("lofi 92 bpm in A minor with rhodes"),
        bpm=75.0,
        key="C# major",
        instruments=("strings", "808"),
    )
    assert (intent.bpm, intent.key, intent.genre) == (75.0, "C# major", "lofi hip hop")
    assert intent.instruments == ("strings", "808")
    info = intent.interpretation
    assert info["tempo"] == {"value": 75.0, "source": "request", "prompt_said": "92 bpm"}
    assert info["key"] == {"value": "C# major", "source": "request", "prompt_said": "A minor"}
    assert info["instruments"]["source"] == "request"
    assert any("92 bpm" in item for item in info["ignored"])
    assert any("rhodes" in item for item in info["ignored"])
    assert (programs_for(intent)["chords"], programs_for(intent)["bass"]) == (48, 38)


def test_request_fields_on_a_nonsense_prompt_are_not_defaults() -> None:
    intent = apply_request(parse_prompt("qwerty"), bpm=100.0)
    assert intent.interpretation["defaulted"] == ["genre", "key"]
    assert intent.interpretation["understood_nothing"] is False
    untouched = apply_request(parse_prompt("qwerty"))
    assert untouched.interpretation["understood_nothing"] is True


def test_unknown_request_instruments_are_reported_as_ignored() -> None:
    intent = apply_request(parse_prompt("pop"), instruments=("Acoustic  Guitar", "kazoo", "drums"))
    assert intent.instruments == ("acoustic guitar",)
    assert intent.drums
    assert intent.interpretation["ignored"] == [
        "instrument 'kazoo' (unknown; try e.g. rhodes, 808, strings)"
    ]
    assert programs_for(intent)["chords"] == 25


@pytest.mark.parametrize(
    ("prompt", "drums"),
    [
        ("ambient, no drums", False),
        ("drumless lofi", False),
        ("house without drums", False),
        ("house with drums", True),
        ("drum and bass", True),
        ("no drama, just piano", True),
    ],
)
def test_only_an_explicit_no_drums_removes_the_kit(prompt: str, drums: bool) -> None:
    intent = parse_prompt(prompt)
    assert intent.drums is drums
    assert intent.interpretation["drums"]["value"] is drums
    assert ("drums" in programs_for(intent)) is drums


def test_no_drums_from_the_instruments_field() -> None:
    intent = apply_request(parse_prompt("trap"), instruments=("no drums", "piano"))
    assert not intent.drums
    assert intent.interpretation["drums"]["source"] == "request"
    assert intent.instruments == ("piano",)


def test_words_that_drove_nothing_are_listed() -> None:
    info = parse_prompt("Chill lofi beats, 85 bpm, nostalgic, with rhodes and a cat purring")
    assert info.interpretation["unused_words"] == ["chill", "cat", "purring"]
    assert parse_prompt("qwerty zxcv").interpretation["unused_words"] == ["qwerty", "zxcv"]
    assert parse_prompt("dark techno at 128BPM in D minor").interpretation["unused_words"] == []


def test_hip_hop_inside_lofi_hip_hop_is_not_a_second_genre() -> None:
    info = parse_prompt("lofi hip hop, dusty piano").interpretation
    assert info["genre"]["matched"] == "lofi hip hop" and info["ignored"] == []
    assert "hip" not in info["unused_words"]
    mixed = parse_prompt("lofi beat with hip hop drums").interpretation
    assert mixed["genre"]["value"] == "lofi hip hop"
    assert mixed["genre"]["also_mentioned"] == ["boom bap"]
