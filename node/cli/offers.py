"""`lernode offer` and `lernode issue --offer`: make wallet offers and hand each learner its
link, as text, a terminal QR code and a PNG file, plus a CSV a registrar can mail-merge."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from node.cli.client import NodeClient
from node.delivery import qr

#: More offers than this and the terminal shows no QR codes (the PNG files have them all).
TERMINAL_QR_LIMIT = 10
CSV_NAME = "offers.csv"


def make_offers(
    client: NodeClient,
    credential_ids: Sequence[str],
    *,
    cohort: str | None,
    ttl: int | None,
    tx_code: bool,
) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"credential_ids": list(credential_ids), "tx_code": tx_code}
    if cohort:
        body["cohort"] = cohort
    if ttl:
        body["ttl_seconds"] = ttl
    offers: list[dict[str, Any]] = []
    for start in range(0, len(body["credential_ids"]), 1000):
        chunk = {**body, "credential_ids": body["credential_ids"][start : start + 1000]}
        offers.extend(client.post("/v1/offers", json=chunk)["offers"])
    return offers


def hand_out(
    console: Console,
    offers: Sequence[Mapping[str, Any]],
    out_dir: Path,
    *,
    labels: Mapping[str, str] | None = None,
    terminal_qr: bool = True,
) -> Path:
    """Print each learner's links (and QR code), write PNGs and the CSV; the CSV's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    show_qr = terminal_qr and len(offers) <= TERMINAL_QR_LIMIT
    rows = []
    for item in offers:
        links = item["links"]
        label = (labels or {}).get(item["credentialId"]) or item.get("learner") or ""
        image = qr.png(links["page"], out_dir / f"offer-{item['id']}.png")
        console.print(f"[bold]{label or item['credentialId']}[/]  ({item['credentialId']})")
        console.print(f"  learner page  {links['page']}", highlight=False)
        console.print(f"  LCW link      {links['lcw']}", highlight=False, soft_wrap=True)
        console.print(f"  OpenID4VCI    {links['openid4vci']}", highlight=False, soft_wrap=True)
        if item.get("txCode"):
            console.print(f"  tx code       {item['txCode']} (send it separately)")
        console.print(f"  expires       {item['expiresAt']}; QR code: {image}")
        if show_qr:
            console.print(qr.terminal(links["page"]), highlight=False)
        rows.append(
            {
                "learner": label,
                "credential_id": item["credentialId"],
                "offer_id": item["id"],
                "page": links["page"],
                "lcw_link": links["lcw"],
                "openid4vci_offer": links["openid4vci"],
                "tx_code": item.get("txCode") or "",
                "expires": item["expiresAt"],
                "qr_png": image.name,
            }
        )
    path = out_dir / CSV_NAME
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["learner"])
        writer.writeheader()
        writer.writerows(rows)
    if terminal_qr and not show_qr:
        console.print(f"({len(offers)} offers: QR codes are in the PNG files, not printed here)")
    console.print(f"{len(offers)} offer(s); links in {path}")
    return path


def learner_label(item: Mapping[str, Any]) -> str:
    """How the CLI names a learner of a credential input: name, else email, else id."""
    learner = item.get("learner") or {}
    return str(learner.get("name") or learner.get("email") or learner.get("id") or "")
