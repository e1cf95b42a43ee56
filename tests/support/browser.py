"""A real headless Chromium (Debian's `chromium`, driven by Playwright) for checking what people
see: one browser per test session, pages rendered at a given width, the document's scroll width
measured and a full-page screenshot kept under the artifacts folder
(`INTAKE_TEST_ARTIFACTS`, default `$TMPDIR/intake-test-artifacts`).

Every test that drives Chromium goes through the `browser` fixture here: a sync Playwright keeps
its asyncio loop "running" in the main thread for as long as it lives, so a second
`sync_playwright()` in the same process fails ("using Playwright Sync API inside the asyncio
loop") — whichever of two test modules ran second."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(
    os.environ.get("INTAKE_TEST_ARTIFACTS") or Path(tempfile.gettempdir()) / "intake-test-artifacts"
)
# as root Chromium needs --no-sandbox; nothing may phone home from a test
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
]


def artifacts_dir(*parts: str) -> Path:
    path = ARTIFACTS.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def require(tool: str | None, name: str) -> str:
    """The tool's path; a skip when missing (a failure in CI: `make test` installs it)."""
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI (make system-deps installs it)")
        pytest.skip(f"{name} is not installed (make system-deps installs it)")
    return tool


@dataclass(frozen=True)
class Rendered:
    width: int
    scroll_width: int
    screenshot: Path


class Browser:
    def __init__(self, browser: Any) -> None:
        self._browser = browser

    @property
    def chromium(self) -> Any:
        """The shared Playwright `Browser`, for tests that drive pages themselves (their own
        context, closed by them)."""
        return self._browser

    def render(self, html: str, width: int, name: str) -> Rendered:
        page = self._browser.new_page(viewport={"width": width, "height": 900})
        try:
            page.set_content(html, wait_until="load")
            scroll = int(
                page.evaluate(
                    "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                )
            )
            shot = artifacts_dir("screens") / f"{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            page.close()
        return Rendered(width, scroll, shot)


_SHARED: dict[str, Any] = {}  # one Playwright and one browser per process


@pytest.fixture(scope="session")
def browser(request: pytest.FixtureRequest) -> Browser:
    """The session's browser. Test modules import this fixture, and each import is a fixture of
    its own: they share one Playwright (two sync Playwrights in one process refuse to start)."""
    if "browser" not in _SHARED:
        exe = require(CHROMIUM, "chromium")
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        try:
            b = pw.chromium.launch(executable_path=exe, args=FLAGS)
        except BaseException:
            pw.stop()
            raise
        _SHARED.update(playwright=pw, browser=b)

        def close() -> None:
            _SHARED.pop("browser").close()
            _SHARED.pop("playwright").stop()

        request.addfinalizer(close)
    return Browser(_SHARED["browser"])
