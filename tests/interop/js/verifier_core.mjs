// DCC's verifier (what the Learner Credential Wallet and VerifierPlus run):
// @digitalcredentials/verifier-core's verifyCredential on each credential, as published.
// Usage: node verifier_core.mjs verify < {credentials: [...]} > {results: [...]}
// It resolves did:web issuers and fetches status list credentials over HTTPS (the node's test
// certificate is trusted through NODE_EXTRA_CA_CERTS); JSON-LD contexts come from the
// security-document-loader's bundled copies, so nothing leaves the machine.
import {readFileSync} from 'node:fs';

// verifier-core narrates on stdout (e.g. when its optional JSON Schema check cannot fetch the
// 1EdTech schema offline); stdout is this script's answer, so the narration goes to stderr.
console.log = (...args) => console.error(...args);
const {verifyCredential} = await import('@digitalcredentials/verifier-core');

function plain(value) {
  // Errors carry stack traces and causes that do not survive JSON.stringify.
  return JSON.parse(JSON.stringify(value, (key, v) => {
    if(key === 'stackTrace') { return String(v?.message ?? v); }
    if(v instanceof Error) { return {name: v.name, message: v.message}; }
    return v;
  }));
}

async function verify({credentials}) {
  const results = [];
  for(const credential of credentials) {
    const result = await verifyCredential({credential, knownDIDRegistries: []});
    delete result.credential;
    results.push(plain(result));
  }
  return {results};
}

const commands = {verify};
const command = commands[process.argv[2]];
if(!command) {
  console.error(`unknown command ${process.argv[2]}`);
  process.exit(2);
}
const request = JSON.parse(readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(await command(request)));
