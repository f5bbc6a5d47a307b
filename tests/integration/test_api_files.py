"""A track's files through the real app: byte ranges, conversions, waveform, deletion, and
requests that try to reach files outside the library."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import soundfile
from fastapi.testclient import TestClient

from dgx_music.service import GenerationService
from tests.support.api import api_client, assert_problem, make_track

Api = tuple[TestClient, GenerationService]


@pytest.fixture
def api() -> Iterator[Api]:
    with api_client() as pair:
        yield pair


@pytest.fixture
def track(api: Api) -> dict[str, Any]:
    client, service = api
    return make_track(client, service)


def test_byte_ranges_answer_206_with_exactly_the_bytes_asked_for(
    api: Api, track: dict[str, Any]
) -> None:
    client, _service = api
    url = track["links"]["audio"]
    whole = client.get(url)
    size = len(whole.content)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"

    first = client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.content == whole.content[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{size}"
    assert first.headers["content-length"] == "100"
    suffix = client.get(url, headers={"Range": "bytes=-100"})
    assert suffix.status_code == 206 and suffix.content == whole.content[-100:]
    assert suffix.headers["content-range"] == f"bytes {size - 100}-{size - 1}/{size}"
    rest = client.get(url, headers={"Range": f"bytes={size - 10}-"})
    assert rest.status_code == 206 and rest.content == whole.content[-10:]
    past = client.get(url, headers={"Range": "bytes=100-999999999"})
    assert past.status_code == 206 and past.content == whole.content[100:]

    unsatisfiable = client.get(url, headers={"Range": f"bytes={size}-"})
    assert_problem(unsatisfiable, 416)
    assert unsatisfiable.headers["content-range"] == f"bytes */{size}"
    assert_problem(client.get(url, headers={"Range": "bytes=-0"}), 416)

    for ignored in ("bytes=abc", "bytes=0-1,5-9", "lines=0-1", "bytes=9-2"):
        answer = client.get(url, headers={"Range": ignored})
        assert answer.status_code == 200 and answer.content == whole.content, ignored
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"an-old-etag"'})
    assert stale.status_code == 200 and len(stale.content) == size
    fresh = client.get(url, headers={"Range": "bytes=0-9", "If-Range": whole.headers["etag"]})
    assert fresh.status_code == 206 and len(fresh.content) == 10


def test_conversions_decode_at_the_asked_format_and_rate_and_are_cached(
    api: Api, track: dict[str, Any]
) -> None:
    client, service = api
    url = track["links"]["audio"]
    flac = client.get(url, params={"format": "flac"})
    assert flac.status_code == 200 and flac.headers["content-type"] == "audio/flac"
    info = soundfile.info(io.BytesIO(flac.content))
    assert info.format == "FLAC" and info.frames == round(track["duration"] * info.samplerate)

    mp3 = client.get(url, params={"format": "mp3", "sample_rate": 44100})
    assert mp3.status_code == 200 and mp3.headers["content-type"] == "audio/mpeg"
    samples, rate = soundfile.read(io.BytesIO(mp3.content))
    assert rate == 44100 and len(samples) / rate == pytest.approx(track["duration"], abs=0.1)
    assert mp3.headers["content-disposition"].endswith('.mp3"')
    ranged = client.get(
        url, params={"format": "mp3", "sample_rate": 44100}, headers={"Range": "bytes=0-9"}
    )
    assert ranged.status_code == 206 and ranged.content == mp3.content[:10]

    cached = sorted(p.name for p in (service.settings.cache_root / "exports").iterdir())
    assert len(cached) == 2 and all(name.startswith(track["id"]) for name in cached)
    assert_problem(client.get(url, params={"format": "opus", "sample_rate": 44100}), 400)
    assert_problem(client.get(url, params={"format": "aiff"}), 422)
    assert_problem(client.get(url, params={"sample_rate": 22050}), 422)


def test_the_conversion_cache_keeps_to_its_size_least_recently_used_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over ``api_conversion_cache_bytes``, a new conversion deletes the conversions served
    longest ago; one served within the last minutes is kept whatever the size."""
    monkeypatch.setenv("DGX_MUSIC_API_CONVERSION_CACHE_BYTES", "1")
    with api_client() as (client, service):
        urls = [make_track(client, service, seed=seed)["links"]["audio"] for seed in (1, 2, 3)]
        folder = service.settings.cache_root / "exports"

        def convert(url: str) -> None:
            assert client.get(url, params={"format": "flac"}).status_code == 200

        def age(minutes: float) -> None:
            for path in folder.iterdir():
                moment = time.time() - 60 * minutes
                os.utime(path, (moment, moment))

        convert(urls[0])
        convert(urls[1])
        assert len(list(folder.iterdir())) == 2  # both used just now: nothing may go
        age(10)
        convert(urls[0])  # a hit: marks it used again
        convert(urls[2])  # new: the cache is over its size, the least recently used goes
        left = sorted(path.name.split("-")[0] for path in folder.iterdir())
        first, second, third = (url.split("/")[-2].split("-")[0] for url in urls)
        assert left == sorted([first, third]) and second not in left
        assert client.get(urls[1], params={"format": "flac"}).status_code == 200  # made again


def test_waveform_gives_bounded_peaks_across_the_clip(api: Api, track: dict[str, Any]) -> None:
    client, _service = api
    wave = client.get(track["links"]["waveform"], params={"points": 100}).json()
    assert wave["points"] == len(wave["min"]) == len(wave["max"]) == 100
    assert wave["duration"] == pytest.approx(track["duration"])
    assert all(
        -1.0 <= low <= high <= 1.0 for low, high in zip(wave["min"], wave["max"], strict=True)
    )
    assert max(wave["max"]) > 0.1  # the tone is audible
    assert_problem(client.get(track["links"]["waveform"], params={"points": 10**6}), 422)


def test_delete_removes_row_files_and_cached_copies(api: Api, track: dict[str, Any]) -> None:
    client, service = api
    client.get(track["links"]["audio"], params={"format": "flac"})
    root = service.library.root
    assert any(root.rglob("*.wav"))
    answer = client.delete(f"/api/v1/tracks/{track['id']}")
    assert answer.status_code == 204 and answer.content == b""
    assert [p for p in root.rglob("*") if p.is_file()] == []
    assert list((service.settings.cache_root / "exports").iterdir()) == []
    assert_problem(client.get(f"/api/v1/tracks/{track['id']}"), 404)
    assert_problem(client.get(track["links"]["audio"]), 404)
    assert_problem(client.delete(f"/api/v1/tracks/{track['id']}"), 404)


def test_seed_paths_serve_files_by_id_or_name_and_list_history(
    api: Api, track: dict[str, Any]
) -> None:
    client, _service = api
    audio = client.get(track["links"]["audio"]).content
    by_name = client.get(f"/api/v1/files/{track['file_name']}")
    by_id = client.get(f"/api/v1/files/{track['id']}")
    assert by_name.status_code == by_id.status_code == 200
    assert by_name.content == by_id.content == audio
    history = client.get("/api/v1/history").json()
    assert [t["id"] for t in history] == [track["id"]]


TRAVERSALS = [
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "..%252F..%252Fetc%252Fpasswd",
    "%2Fetc%2Fpasswd",
    "..%5C..%5Cwindows%5Cwin.ini",
    "....%2F%2F....%2F%2Fetc%2Fpasswd",
    "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "..%2F",
    "%00",
    "dgx-music.db",
]


@pytest.mark.parametrize("payload", TRAVERSALS)
def test_path_traversal_payloads_find_nothing(
    api: Api, track: dict[str, Any], payload: str
) -> None:
    client, _service = api
    tid = track["id"]
    for url in (
        f"/api/v1/files/{payload}",
        f"/api/v1/tracks/{tid}/stems/{payload}",
        f"/api/v1/tracks/{payload}/audio",
        f"/api/v1/tracks/{payload}/midi",
        f"/api/v1/tracks/{payload}/waveform",
        f"/api/v1/tracks/{tid}/stems/{payload}%2F..%2F..%2F..%2Fdgx-music.db",
    ):
        assert_problem(client.get(url), 404)
