"""One typed Python face per contract, and the contract-shaped types defined once."""
