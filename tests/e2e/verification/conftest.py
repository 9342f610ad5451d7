"""The verifier's end-to-end specifications run real issuing nodes on chains they start
themselves (`tests.support.verification_nodes`)."""
