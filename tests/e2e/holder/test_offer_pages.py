"""What people see: the learner's offer page (phone-readable, self-contained, with the wallet
links and QR codes) and the /verify page naming a collected credential's holder."""

from __future__ import annotations

import html
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from node.wiring.runtime import Node
from tests.support.holders import Holder, issue, offer


def test_the_offer_page_shows_what_is_offered_and_how_to_collect_it(
    api: TestClient, wallet: TestClient
) -> None:
    made = offer(api, issue(api, name="Katherine Johnson"), tx_code=True)
    page = wallet.get(f"/offers/{made['id']}")
    assert page.status_code == 200
    text = page.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert "Analytical Engines 101" in text and "Katherine Johnson" in text
    assert "Demo Institution" in text
    # Self-contained: no scripts, stylesheets or images from anywhere.
    assert not re.search(r"<(script|link|img)\b", text)
    assert text.count("<svg") == 2
    assert html.escape(made["links"]["lcw"]) in text
    assert html.escape(made["links"]["openid4vci"]) in text
    assert made["txCode"] not in text  # the code travels separately
    assert "img-src data:" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"


def test_a_collected_offer_page_says_so_without_the_links(
    api: TestClient, wallet: TestClient
) -> None:
    made = offer(api, issue(api))
    challenge = parse_qs(urlsplit(made["links"]["lcw"]).query)["challenge"][0]
    holder = Holder()
    wallet.post(f"/offers/{made['id']}/request", json=holder.did_auth(challenge))
    page = wallet.get(f"/offers/{made['id']}").text
    assert "collected into a wallet already" in page
    assert challenge not in page and holder.did not in page
    assert wallet.get("/offers/unknown-offer").status_code == 404


def test_the_verify_page_names_the_holder_of_a_collected_credential(
    api: TestClient, wallet: TestClient, node: Node
) -> None:
    made = offer(api, issue(api))
    challenge = parse_qs(urlsplit(made["links"]["lcw"]).query)["challenge"][0]
    holder = Holder()
    copy: dict[str, Any] = wallet.post(
        f"/offers/{made['id']}/request", json=holder.did_auth(challenge)
    ).json()
    deadline = time.monotonic() + 20
    while node.issuance.record(copy["id"]).state == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)
    import json

    page = wallet.post("/verify", data={"credential": json.dumps(copy)})
    assert page.status_code == 200
    assert f'data-holder="{holder.did}"' in page.text
    assert 'data-verdict="valid"' in page.text
