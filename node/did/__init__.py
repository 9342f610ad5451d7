"""`did:ethr` identifiers and documents, pure: no chain or database access.

`identifier` parses DIDs and DID URLs, `attributes` encodes what an issuer publishes in the
ERC-1056 registry, `document` replays a change history into a DID document as `ethr-did-resolver`
does, and `errors` names resolution failures after the DID Resolution specification.
"""
