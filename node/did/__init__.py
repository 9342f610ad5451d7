"""Decentralized identifiers: `did:ethr` (the chain identity), `did:key` and `did:web`.

did:ethr: `identifier` parses DIDs and DID URLs, `attributes` encodes what an issuer publishes in
the ERC-1056 registry, `document` replays a change history into a DID document as
`ethr-did-resolver` does (pure); `resolution` answers from the indexer's tables, `chain_resolver`
walks the chain over RPC, `projection` feeds the indexer. `errors` names resolution failures after
the DID Resolution specification.

Other methods (docs/did-web.md): `did_key` (pure), `did_web` (pure: URLs, served documents),
`web_fetch` (did:web over HTTPS behind an SSRF guard), `hosting` (the did:web documents this node
serves, which DID an institution signs with), `binding` (did:web -> address from the chain
alone), `router` (one `DidDocumentSource` for every method).
"""
