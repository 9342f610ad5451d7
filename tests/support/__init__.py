"""What the tests share: the one ready-node builder (`nodes`), chain and DID-registry helpers
(`chain`), HTTPS on loopback (`tls`), the JavaScript oracles (`interop`), node processes for the
fault tests (`processes`) and the verifier's fakes and issuing sites (tests/README.md)."""
