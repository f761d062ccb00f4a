"""Browser tests: Debian's headless Chromium, driven by Selenium through the system chromedriver,
against `tipline sandbox` running as `make run` runs it (a subprocess on a free port).

Nothing is downloaded at run time: the browser and its driver are the machine's own
(.ci/run installs them). Without them these tests fail, saying what to install; they are never
skipped, so a machine without a browser cannot pass `make test` by accident.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL = "apt-get install -y chromium chromium-driver fonts-noto-cjk fonts-noto-color-emoji"
TIPLINE = Path(sys.executable).parent / "tipline"


def _need(path: str, package: str) -> None:
    if not (os.path.exists(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"The browser tests need {path} (Debian package {package}), and it is missing."
            f" Install it: {INSTALL} (.ci/run does this as root)",
            pytrace=False,
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    """A fresh sandbox (seeded) in a temporary folder, as `make run` starts it."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config-home")
    process = subprocess.Popen(
        [str(TIPLINE), "sandbox", "--port", str(port), "--folder", str(tmp_path / "sandbox")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if f"http://127.0.0.1:{port}" not in line:
            process.kill()
            raise AssertionError(f"the sandbox did not start: {line} {process.stderr.read()}")
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            _, err = process.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        assert "Traceback" not in (err or ""), err


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    _need(CHROMIUM, "chromium")
    _need(CHROMEDRIVER, "chromium-driver")
    # Selenium Manager is never asked for anything: the browser and driver are given.
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1680,1200",
        "--force-device-scale-factor=1",
        "--lang=en-US",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot_folder(tmp_path: Path) -> Path:
    """Where the tour's screenshots go: TIPLINE_SCREENSHOTS (make screenshots sets docs/), else
    the test's own folder."""
    wanted = os.environ.get("TIPLINE_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
