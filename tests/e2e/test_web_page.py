"""The web page in headless Chromium against a real ``dgx-music serve`` and its worker.

One server and one browser serve the first tests (each starts from the page loaded afresh);
the API-key test has a server of its own. Screenshots of the main states go to
``test-artifacts/web/``.
"""

from __future__ import annotations

import io
import math
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from tests.support.browser import (
    chromium,
    console_errors,
    foreign_urls,
    requested_urls,
    running_server,
    screenshot,
    wait_for,
)

pytestmark = pytest.mark.slow

API_KEY = "web-page-test-key-0123456789abcdef"
PAINTED_PIXELS = (
    "const c = arguments[0];"
    "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
    "let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n;"
)
"""How many pixels of a canvas are not transparent."""


@dataclass
class Site:
    base: str
    driver: WebDriver
    downloads: Path
    api: httpx.Client

    def open(self) -> None:
        """Load the page afresh and wait until it has loaded everything."""
        self.driver.get(self.base + "/")
        self.open_loaded()

    def open_loaded(self) -> None:
        """Wait until the event stream is live, the library and the engines loaded."""
        wait_for(lambda: self.by_id("connection").text == "Live", "the event stream")
        wait_for(lambda: self.by_id("library-summary").text, "the library to load")
        engines = "#generate-form [name='engine'] option[value='symbolic']"
        wait_for(lambda: self.driver.find_elements(By.CSS_SELECTOR, engines), "the engines")

    def by_id(self, name: str) -> WebElement:
        return self.driver.find_element(By.ID, name)

    def field(self, form: str, name: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, f"#{form} [name='{name}']")

    def cards(self) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, "#tracks li.track")

    def card(self, track_id: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, f"li.track[data-track-id='{track_id}']")

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def check_nothing_left_the_origin(self) -> None:
        assert foreign_urls(requested_urls(self.driver), self.base) == []


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("web")
    downloads = root / "downloads"
    downloads.mkdir()
    # The tone engine's steps are slowed so that a job of it runs long enough to cancel.
    with (
        running_server(root / "data", DGX_TEST_STEP_SECONDS="0.6") as base,
        httpx.Client(base_url=base, timeout=20) as api,
    ):
        driver = chromium(downloads)
        try:
            yield Site(base, driver, downloads, api)
        finally:
            driver.quit()


def generate(site: Site, prompt: str, engine: str, **fields: str) -> None:
    """Fill the Generate form and press Generate."""
    site.field("generate-form", "prompt").clear()
    site.field("generate-form", "prompt").send_keys(prompt)
    Select(site.field("generate-form", "engine")).select_by_value(engine)
    for name, value in fields.items():
        site.field("generate-form", name).clear()
        site.field("generate-form", name).send_keys(value)
    site.by_id("generate-button").click()


def queue_item(site: Site) -> WebElement | None:
    items = site.driver.find_elements(By.CSS_SELECTOR, "#queue-list li.job")
    return items[-1] if items else None


def wait_for_download(folder: Path, suffix: str) -> bytes:
    def finished() -> Path | None:
        done = [p for p in folder.iterdir() if p.suffix == suffix]
        return done[0] if done else None

    path = wait_for(finished, f"a {suffix} download")
    data = path.read_bytes()
    path.unlink()
    return data


def test_page_is_served_by_the_package_with_a_strict_policy(site: Site) -> None:
    page = site.api.get("/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    for name, media_type in (("app.js", "text/javascript"), ("style.css", "text/css")):
        asset = site.api.get(f"/web/{name}")
        assert asset.headers["content-type"].startswith(media_type)
        again = site.api.get(f"/web/{name}", headers={"If-None-Match": asset.headers["etag"]})
        assert again.status_code == 304
    assert site.api.get("/web/..%2Fapi%2Fv1%2Fhealth").status_code == 404
    paths = site.api.get("/openapi.json").json()["paths"]
    assert all(path.startswith("/api/v1/") for path in paths)


def test_generate_watch_play_filter_download_again_and_delete(site: Site) -> None:
    site.open()
    assert site.by_id("library-summary").text == "The library is empty: generate something."
    screenshot(site.driver, "1-empty")

    # Generate with the symbolic engine: two bars at 124 BPM (3.9 s).
    generate(site, "house, 124 bpm, web page", "symbolic", bars="2", seed="7")
    item = wait_for(lambda: queue_item(site), "the job in the queue")
    seen: list[tuple[str, float]] = []
    shot = False
    while (state := item.get_attribute("data-status")) != "completed":
        value = float(item.find_element(By.TAG_NAME, "progress").get_attribute("value") or 0)
        seen.append((state or "", value))
        if state == "running" and not shot:
            screenshot(site.driver, "2-generating")
            shot = True
        assert len(seen) < 2000, seen[-5:]
        time.sleep(0.02)
    assert any(state == "running" and 0 < value < 1 for state, value in seen), seen
    fractions = [value for _, value in seen]
    assert fractions == sorted(fractions)
    assert item.find_element(By.TAG_NAME, "progress").get_attribute("value") == "1"
    assert "done" in item.text

    # What the engine understood, shown under the form once the job carries it.
    interpretation = wait_for(
        lambda: "Tempo" in site.by_id("interpretation").text and site.by_id("interpretation"),
        "the engine's interpretation",
    )
    assert "124 (from “124 bpm”)" in interpretation.text
    assert "house (from “house”)" in interpretation.text
    # The reading arrives as the job starts; the full notes (the parts played) once it is done.
    wait_for(lambda: "Parts" in site.by_id("interpretation").text, "the job's full notes")

    # The track appears in the library without a reload.
    wait_for(lambda: len(site.cards()) == 1, "the track in the library")
    track = site.api.get("/api/v1/tracks").json()["items"][0]
    card = site.card(track["id"])
    facts = {
        fact.get_attribute("data-fact"): fact.find_element(By.TAG_NAME, "dd").text
        for fact in card.find_elements(By.CSS_SELECTOR, ".facts [data-fact]")
    }
    assert facts["bpm"] == f"{track['bpm']:.1f}" and facts["key"] == track["key"]
    assert facts["loudness"] == f"{track['lufs']:.1f} LUFS".replace("-", "−")
    assert facts["length"] == "0:03.9" and facts["engine"] == "symbolic"
    assert facts["model"] == "–" and facts["seed"] == "7"
    # The waveform is drawn: some pixels of the canvas are not transparent.
    canvas = card.find_element(By.TAG_NAME, "canvas")
    wait_for(lambda: site.js(PAINTED_PIXELS, canvas) > 1000, "the waveform")
    screenshot(site.driver, "3-library")

    # Play it: the audio element reports the track's duration, and time moves.
    card.find_element(By.CSS_SELECTOR, "button.play").click()
    audio = card.find_element(By.TAG_NAME, "audio")
    wait_for(lambda: site.js("return arguments[0].currentTime", audio) > 0.2, "playback")
    duration = site.js("return arguments[0].duration", audio)
    assert math.isclose(duration, track["duration"], abs_tol=0.05), (duration, track)
    card.find_element(By.CSS_SELECTOR, "button.play").click()  # pause
    wait_for(lambda: site.js("return arguments[0].paused", audio), "pause")
    # Seek with the keyboard (the waveform is a slider) and with a click.
    canvas.send_keys(Keys.HOME)
    assert site.js("return arguments[0].currentTime", audio) == 0
    canvas.send_keys(Keys.ARROW_RIGHT)
    assert math.isclose(site.js("return arguments[0].currentTime", audio), 1.0, abs_tol=0.01)
    assert canvas.get_attribute("aria-valuetext") == "0:01.0 of 0:03.9"
    ActionChains(site.driver).move_to_element_with_offset(
        canvas, canvas.size["width"] // 4, 0
    ).click().perform()  # three quarters across (offsets are from the middle)
    assert math.isclose(
        site.js("return arguments[0].currentTime", audio), duration * 0.75, abs_tol=0.05
    )
    # Each stem plays by itself.
    assert sorted(track["stems"]) == ["bass", "chords", "drums", "lead"]
    Select(card.find_element(By.CSS_SELECTOR, ".listen select")).select_by_visible_text(
        "Stem: drums"
    )
    wait_for(lambda: site.js("return arguments[0].src", audio).endswith("/stems/drums"), "the stem")
    card.find_element(By.CSS_SELECTOR, "button.play").click()
    wait_for(lambda: not site.js("return arguments[0].paused", audio), "the stem playing")
    card.find_element(By.CSS_SELECTOR, "button.play").click()

    # Filters: one that leaves it out, then ones that let it in.
    search = site.field("filters", "search")
    search.send_keys("no such words")
    wait_for(lambda: not site.cards(), "the filter to exclude the track")
    assert site.by_id("library-summary").text == "No track matches these filters."
    search.clear()
    search.send_keys("house")
    Select(site.field("filters", "key")).select_by_value(track["key"])
    site.field("filters", "bpm_min").send_keys("120")
    site.field("filters", "bpm_max").send_keys("130" + Keys.ENTER)
    wait_for(lambda: len(site.cards()) == 1, "the filters to include the track")
    site.field("filters", "bpm_min").clear()
    site.field("filters", "bpm_min").send_keys(f"{track['bpm'] + 1:.0f}" + Keys.ENTER)
    wait_for(lambda: not site.cards(), "the BPM filter to exclude the track")
    site.driver.find_element(By.CSS_SELECTOR, "#filters button[type='reset']").click()
    wait_for(lambda: len(site.cards()) == 1, "cleared filters")

    # Downloads: the mix as WAV and FLAC, a stem and the MIDI file.
    card = site.card(track["id"])
    card.find_element(By.CSS_SELECTOR, ".downloads summary").click()
    for label, suffix, magic in (
        ("WAV", ".wav", b"RIFF"),
        ("FLAC", ".flac", b"fLaC"),
        ("drums", ".wav", b"RIFF"),
        ("MIDI", ".mid", b"MThd"),
    ):
        card.find_element(By.XPATH, f".//div[@class='download-list']/button[.='{label}']").click()
        assert wait_for_download(site.downloads, suffix).startswith(magic), label
    # The Ardour button: a zip holding the session file and the audio beside it.
    card.find_element(By.XPATH, ".//div[@class='download-list']/button[.='Ardour session']").click()
    with zipfile.ZipFile(io.BytesIO(wait_for_download(site.downloads, ".zip"))) as session:
        names = session.namelist()
    assert any(name.endswith(".ardour") for name in names), names
    assert any("/interchange/" in name and name.endswith(".wav") for name in names), names

    # A narrow phone screen: nothing wider than 360 px.
    site.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 360, "height": 780, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        assert site.js("return document.documentElement.scrollWidth") <= 360
        screenshot(site.driver, "4-narrow-360px")
    finally:
        site.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    # "Again with this seed" and "Vary" queue the same request, with the seed or a new one.
    card.find_element(By.XPATH, ".//button[.='Again with this seed']").click()
    wait_for(lambda: len(site.cards()) == 2, "the same clip again")
    card.find_element(By.XPATH, ".//button[.='Vary']").click()
    wait_for(lambda: len(site.cards()) == 3, "a variation")
    tracks = site.api.get("/api/v1/tracks").json()["items"]
    jobs = [site.api.get(f"/api/v1/jobs/{t['job_id']}").json()["request"] for t in tracks]
    assert [t["seed"] for t in tracks][1:] == [7, 7] and tracks[0]["seed"] != 7
    assert all(j["prompt"] == "house, 124 bpm, web page" and j["bars"] == 2 for j in jobs)
    assert site.field("generate-form", "bars").get_attribute("value") == "2"

    # Delete, after a confirmation; keeping it first.
    card.find_element(By.XPATH, ".//button[.='Delete']").click()
    dialog = site.by_id("confirm-dialog")
    wait_for(lambda: dialog.get_attribute("open") is not None, "the confirmation")
    assert "cannot be undone" in dialog.text
    dialog.find_element(By.XPATH, ".//button[.='Keep it']").click()
    assert dialog.get_attribute("open") is None and len(site.cards()) == 3
    card.find_element(By.XPATH, ".//button[.='Delete']").click()
    dialog.find_element(By.XPATH, ".//button[.='Delete']").click()
    wait_for(lambda: len(site.cards()) == 2, "the track to go")
    assert site.api.get(f"/api/v1/tracks/{track['id']}").status_code == 404

    site.check_nothing_left_the_origin()
    assert console_errors(site.driver) == []


def test_cancel_a_running_job(site: Site) -> None:
    site.open()
    generate(site, "a long tone to cancel", "tone", duration="4")  # 10 steps of 0.6 s
    item = wait_for(
        lambda: (
            (found := queue_item(site))
            and found.get_attribute("data-status") == "running"
            and found
        ),
        "the job to run",
    )
    job_id = item.get_attribute("data-job-id")
    item.find_element(By.XPATH, ".//button[.='Cancel']").click()
    wait_for(lambda: item.get_attribute("data-status") == "cancelled", "the job to stop")
    assert site.api.get(f"/api/v1/jobs/{job_id}").json()["status"] == "cancelled"
    assert item.find_element(By.XPATH, ".//button[.='Retry']").is_displayed()
    assert not item.find_element(By.XPATH, ".//button[.='Cancel']").is_displayed()
    item.find_element(By.XPATH, ".//button[.='Dismiss']").click()
    wait_for(lambda: site.by_id("queue-empty").is_displayed(), "the queue to empty")
    site.check_nothing_left_the_origin()
    assert console_errors(site.driver) == []


def test_asks_for_an_api_key_sends_it_and_shows_rate_limits(tmp_path: Path) -> None:
    limits = {"DGX_MUSIC_API_KEYS": API_KEY, "DGX_MUSIC_API_GENERATE_RATE_PER_MINUTE": "1"}
    with (
        running_server(tmp_path / "data", **limits) as base,
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"}) as api,
    ):
        assert httpx.get(f"{base}/api/v1/engines").status_code == 401
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        driver = chromium(downloads)
        site = Site(base, driver, downloads, api)
        try:
            driver.get(base + "/")
            dialog = site.by_id("key-dialog")
            wait_for(lambda: dialog.get_attribute("open") is not None, "the key dialog")
            assert "needs an API key" in site.by_id("key-reason").text
            screenshot(driver, "5-api-key")
            dialog.find_element(By.NAME, "key").send_keys("not-the-key-at-all" + Keys.ENTER)
            wait_for(lambda: "did not accept" in site.by_id("key-reason").text, "a second question")
            dialog.find_element(By.NAME, "key").send_keys(API_KEY + Keys.ENTER)
            # With the key, everything loads, the event stream (fetch, not EventSource) too.
            site.open_loaded()
            assert site.js("return sessionStorage.getItem('dgx-music.api-key')") == API_KEY

            # Audio and downloads come as blobs fetched with the key.
            generate(site, "a short tone", "tone", duration="1")
            wait_for(lambda: len(site.cards()) == 1, "the track")
            track = api.get("/api/v1/tracks").json()["items"][0]
            card = site.card(track["id"])
            card.find_element(By.CSS_SELECTOR, "button.play").click()
            audio = card.find_element(By.TAG_NAME, "audio")
            wait_for(lambda: site.js("return arguments[0].currentTime", audio) > 0.1, "playback")
            assert site.js("return arguments[0].src", audio).startswith(f"blob:{base}/")
            duration = site.js("return arguments[0].duration", audio)
            assert math.isclose(duration, track["duration"], abs_tol=0.05)
            card.find_element(By.CSS_SELECTOR, ".downloads summary").click()
            card.find_element(By.XPATH, ".//div[@class='download-list']/button[.='WAV']").click()
            assert wait_for_download(downloads, ".wav").startswith(b"RIFF")

            # Over the rate limit: the message says when to try again, the button waits.
            generate(site, "one too many", "tone", duration="1")
            error = wait_for(
                lambda: site.driver.find_elements(By.CSS_SELECTOR, "#messages .message.error"),
                "the rate limit's message",
            )[0]
            assert error.text.startswith("Not queued: ") and "try again in" in error.text.lower()
            button = site.by_id("generate-button")
            assert not button.is_enabled() and button.text.startswith("Generate (wait ")
            screenshot(driver, "6-rate-limited")

            urls = requested_urls(driver)
            assert not any(API_KEY in url for url in urls)
            assert foreign_urls(urls, base) == []
        finally:
            driver.quit()
