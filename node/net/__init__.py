"""Outbound HTTP the node makes on behalf of input it does not control (a DID a credential
names, a registry an operator configured): one GET behind one SSRF guard (`guarded`)."""
