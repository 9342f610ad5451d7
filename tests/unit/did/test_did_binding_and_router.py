"""An RPC-only verifier maps a did:web issuer to its chain address only when the consortium's
alias AND the institution's own LinkedDomains attribute agree; and one DID source serves every
method, by method."""

from __future__ import annotations

from typing import Any

import pytest

from node.did.binding import DidWebChain, did_web_binding, linked_origins
from node.did.errors import MethodNotSupported
from node.did.router import DidMethodRouter, HostedFirst, HostedOnly

ADDRESS = "0x" + "ab" * 20
ETHR = f"did:ethr:0x7a69:{ADDRESS}"
WEB = "did:web:college.example:institutions:4"


def service(endpoint: Any, kind: Any = "LinkedDomains") -> dict[str, Any]:
    return {"id": f"{ETHR}#service-1", "type": kind, "serviceEndpoint": endpoint}


class Documents:
    def __init__(self, services: list[dict[str, Any]]) -> None:
        self.services = services
        self.asked: list[tuple[str, int | None]] = []

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        self.asked.append((did, block))
        return {"id": did, "verificationMethod": [], "service": self.services}


def chain(aliases: dict[str, str], services: list[dict[str, Any]]) -> DidWebChain:
    return DidWebChain(31337, aliases.get, Documents(services))


def test_the_binding_holds_when_alias_and_attribute_agree() -> None:
    bound = chain({WEB: ADDRESS}, [service("https://college.example")])
    assert did_web_binding(bound, WEB) == ADDRESS
    assert bound.dids.asked == [(ETHR, None)]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("aliases", "services"),
    [
        ({}, [service("https://college.example")]),  # the consortium never bound it
        ({WEB: ADDRESS}, []),  # the institution never linked the domain
        ({WEB: ADDRESS}, [service("https://other.example")]),
        ({WEB: ADDRESS}, [service("http://college.example")]),  # not the did:web origin
        ({WEB: ADDRESS}, [service("https://college.example/about")]),  # a page, not an origin
        ({WEB: ADDRESS}, [service("https://college.example:8443")]),
        ({WEB: ADDRESS}, [service("https://college.example", kind="IssuerProfile")]),
        ({"did:web:college.example": ADDRESS}, [service("https://college.example")]),
    ],
)
def test_either_side_alone_binds_nothing(
    aliases: dict[str, str], services: list[dict[str, Any]]
) -> None:
    assert did_web_binding(chain(aliases, services), WEB) is None


def test_linked_domains_endpoints_are_read_in_every_standard_shape() -> None:
    document = {
        "service": [
            service("https://a.example/"),
            service(["https://b.example", "https://b.example/path"]),
            service({"origins": ["https://c.example:8443"]}),
            service("https://d.example", kind=["LinkedDomains", "Other"]),
            service("https://e.example:bad"),
            "not a service",
        ]
    }
    assert linked_origins(document) == {
        "https://a.example",
        "https://b.example",
        "https://c.example:8443",
        "https://d.example",
    }


class Recording:
    def __init__(self, name: str) -> None:
        self.name = name
        self.asked: list[tuple[str, int | None]] = []

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        self.asked.append((did, block))
        return {"id": did, "from": self.name}


def test_the_router_picks_the_source_by_method_and_passes_blocks_to_did_ethr_only() -> None:
    ethr, web = Recording("ethr"), Recording("web")
    router = DidMethodRouter(ethr, {"web": web})
    assert router.document_at(ETHR, 42)["from"] == "ethr"
    assert router.document_at(WEB, 42)["from"] == "web"
    key = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    assert router.document_at(key, 42)["verificationMethod"][0]["type"] == "Multikey"
    assert ethr.asked == [(ETHR, 42)]
    assert web.asked == [(WEB, None)]
    assert router.methods == ("ethr", "key", "web")
    with pytest.raises(MethodNotSupported) as refused:
        router.document_at("did:ion:abc", None)
    assert "did:ethr, did:key, did:web" in refused.value.detail


def test_the_node_answers_its_own_did_webs_without_fetching_them() -> None:
    web = Recording("web")
    hosted = {WEB: {"id": WEB, "from": "hosted"}}
    first = HostedFirst(hosted.get, web)
    assert first.document_at(WEB, None)["from"] == "hosted"
    assert first.document_at("did:web:elsewhere.example", None)["from"] == "web"
    only = HostedOnly(hosted.get)
    assert only.document_at(WEB, None)["from"] == "hosted"
    with pytest.raises(MethodNotSupported):
        only.document_at("did:web:elsewhere.example", None)
