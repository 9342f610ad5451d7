// verifier-core (the Learner Credential Wallet's and VerifierPlus's verifier) verifies a
// credential against the registries it is given, exactly as LCW configures them.
// Usage: node registry_verifier_core.mjs < {credential, knownDIDRegistries} > result
// Trusts the test CA through NODE_EXTRA_CA_CERTS (set by the caller).
import {readFileSync} from 'node:fs';
import {verifyCredential} from '@digitalcredentials/verifier-core';

// Libraries narrate on stdout; our answer is the only thing stdout carries.
console.log = (...args) => console.error(...args);
const {credential, knownDIDRegistries} = JSON.parse(readFileSync(0, 'utf8'));
const result = await verifyCredential({credential, knownDIDRegistries});
const log = result.log || [];
const safe = value => JSON.parse(JSON.stringify(value, (key, v) =>
  key === 'stackTrace' ? String(v?.message || v) : v));
process.stdout.write(JSON.stringify({
  log: safe(log),
  errors: safe(result.errors || []),
  registered: safe(log.find(entry => entry.id === 'registered_issuer') || null)
}));
