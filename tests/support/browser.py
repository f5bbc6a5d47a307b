"""The web page's tests: a real ``dgx-music serve`` process and Debian's headless Chromium,
driven by Selenium through chromium-driver (``scripts/test.sh`` installs both).

A missing browser or driver is an error, not a skip: the page's tests are part of the suite.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

from tests.conftest import REPO_ROOT, TONE_PLUGIN
from tests.support.server import free_port, wait_until_live

ARTIFACTS = REPO_ROOT / "test-artifacts" / "web"
"""Screenshots of the page's main states, for people to look at (ignored by git)."""

T = TypeVar("T")


def server_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any DGX_MUSIC_*/DGX_TEST_* of the developer's,
    plus a private data directory and quick polling."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DGX_MUSIC_", "DGX_TEST_"))
    }
    env.update(
        {
            "DGX_MUSIC_DATA_DIR": str(data_dir),
            "DGX_MUSIC_MODELS_DIR": str(data_dir / "hf-cache"),
            "XDG_CONFIG_HOME": str(data_dir / "config"),
            "DGX_MUSIC_ENGINE_PLUGINS": TONE_PLUGIN,
            "DGX_MUSIC_API_EVENT_INTERVAL": "0.1",
            "DGX_MUSIC_POLL_INTERVAL": "0.1",
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "src")]),
            **extra,
        }
    )
    return env


@contextmanager
def running_server(data_dir: Path, **env: str) -> Iterator[str]:
    """``dgx-music serve --workers 1`` on a free loopback port; yields its base URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = data_dir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dgx_music", "serve", "--port", str(port), "--workers", "1"],
            env=server_environment(data_dir, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_live(base, process, log_path)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def chromium(download_dir: Path) -> WebDriver:
    """Headless Chromium at 1280×1000 that saves downloads in ``download_dir`` and records
    its console and network log."""
    browser = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if browser is None or driver_path is None:
        raise RuntimeError(
            "the web page's tests need Debian's chromium and chromium-driver: "
            "apt-get install chromium chromium-driver (scripts/test.sh does it)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--lang=en-GB",
        "--mute-audio",
        # Nothing of Chromium's own may go to the network while the page is under test.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-first-run",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # The driver is named explicitly, so Selenium Manager never looks for one on the network.
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior",
        {"behavior": "allow", "downloadPath": str(download_dir)},
    )
    return driver


def wait_for(
    condition: Callable[[], T | None], what: str, timeout: float = 20, interval: float = 0.05
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except StaleElementReferenceException:
            value = None  # the page redrew that part: look again
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def screenshot(driver: WebDriver, name: str) -> Path:
    """The whole page (not only the window) as ``test-artifacts/web/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.execute_script("window.scrollTo(0, 0)")  # sticky parts drawn where they belong
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def requested_urls(driver: WebDriver) -> list[str]:
    """Every URL the page asked for since the last call (Chromium's network log), plus the
    page's own resource timings."""
    urls = []
    for entry in driver.get_log("performance"):
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(str(message["params"]["request"]["url"]))
    timings = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return urls + [str(url) for url in timings]


def foreign_urls(urls: list[str], base: str) -> list[str]:
    """The URLs that are not of the server's origin. blob: URLs of that origin are, and data:
    URLs never leave the browser (Chromium draws the date inputs' calendar icon from one)."""
    allowed = (base + "/", f"blob:{base}/", "data:")
    return [url for url in urls if not url.startswith(allowed) and url != base]


def console_errors(driver: WebDriver) -> list[str]:
    return [str(e["message"]) for e in driver.get_log("browser") if e["level"] == "SEVERE"]
