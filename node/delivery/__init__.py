"""Delivering issued credentials into learners' wallets.

An institution makes an *offer* of an issued credential (one per learner for a cohort); the
learner's wallet collects it once, before it expires, over one of three protocols: the DCC
credential request deep link (Learner Credential Wallet), a VC-API exchange, or OpenID4VCI's
pre-authorized code flow. At collection the wallet proves control of a DID and the node
re-issues the credential bound to that DID (`credentialSubject.id`), linked to the original in
its lifecycle (docs/design.md, "Delivery").
"""
