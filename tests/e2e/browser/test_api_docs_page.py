"""A developer opening `/docs` or `/redoc` on a node without internet access sees the API:
headless Chromium, with every host but the node unresolvable, renders the operations."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn
from lxml import html as lxml_html

from node.api.app import create_app
from node.chain.anvil import free_port
from node.config import Settings

pytestmark = [pytest.mark.browser]

CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None
)


@pytest.fixture(scope="module")
def docs_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app (a stand-in node: the docs need only the OpenAPI document) on loopback."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (CI installs the `chromium` package)")
    node = SimpleNamespace(db=None, settings=Settings(data_dir=tmp_path_factory.mktemp("docs")))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(node), host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def offline_dom(url: str, profile: Path) -> Any:
    """The DOM after scripts ran, with every host name but the node's address unresolvable
    (the CDN the old page used included), so only what the node serves can load."""
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            f"--user-data-dir={profile}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return lxml_html.fromstring(done.stdout)


def test_swagger_ui_lists_the_operations_offline(docs_url: str, tmp_path: Path) -> None:
    page = offline_dom(f"{docs_url}/docs", tmp_path / "profile")
    paths = {" ".join(p.text_content().split()) for p in page.xpath("//*[@data-path]")}
    paths |= {
        " ".join(p.text_content().split())
        for p in page.xpath("//*[contains(@class, 'opblock-summary-path')]")
    }
    assert "/v1/verify" in paths, sorted(paths)[:20]
    assert "/v1/credentials" in paths
    assert len(page.xpath("//*[contains(@class, 'opblock-summary')]")) >= 20


def test_redoc_renders_the_reference_offline(docs_url: str, tmp_path: Path) -> None:
    page = offline_dom(f"{docs_url}/redoc", tmp_path / "profile")
    text = " ".join(page.text_content().split())
    assert "Verify a credential or bundle" in text, text[:500]
    assert "Issue credentials" in text
