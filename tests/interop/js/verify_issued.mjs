// A third-party verifier for credentials issued by a running lernode node (tests/interop).
// Usage: node verify_issued.mjs < request.json > response.json
//
// Request: {"chain": {"rpcUrl", "chainId", "registry"}, "documents": {url: document},
//           "credentials": [credential, ...]}
// Response: {"results": [{verified, errors, statuses}], "loads": {url: source it came from},
//            "methods": {verificationMethodId: method as dereferenced}}
// `statuses` is vc-bitstring-status-list's checkStatus answer as verifyCredential returns it
// (one {statusPurpose, statusListIndex, status} per entry); null when verification stopped
// before the status check. Note: checkStatus's `verified` means "the status could be checked",
// a set bit (revoked / suspended) is `status: true`, so the caller must look at the bits.
// checkStatus reads one bit at statusListIndex whatever the entry's statusSize; for an entry
// with statusSize 2 the answer also carries `value`: the 2-bit status at bits [2i, 2i+1] of the
// same list, decoded with the library's own `decodeList` (the exact state a 2-bit reader sees).
//
// It does what an integrator of Digital Bazaar's stack does: `vc.verifyCredential` with a
// DataIntegrityProof per eddsa cryptosuite and `vc-bitstring-status-list`'s `checkStatus`, and a
// document loader that knows three sources only:
//   - JSON-LD contexts: the node's bundled copies (node/credentials/contexts/index.json), so both
//     sides canonicalize against byte-identical contexts and nothing touches the network;
//   - did:ethr DIDs and DID URLs: resolved by ethr-did-resolver against the node's chain, so the
//     issuer key comes from the ERC-1056 registry and never from lernode's own code or database;
//   - `documents`: what the test fetched over HTTP from the node (the status list credentials).
// Unlike harness.mjs (which is a one-shot command CLI and cannot be imported), this script needs
// a chain-backed loader; the context-serving part mirrors harness.mjs's makeLoader.
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfcSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createVerifyCryptosuite as jcsVerify} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {checkStatus, decodeList} from '@digitalbazaar/vc-bitstring-status-list';
import {Resolver} from 'did-resolver';
import {getResolver} from 'ethr-did-resolver';

const here = dirname(fileURLToPath(import.meta.url));
const contextsDir = join(here, '..', '..', '..', 'node', 'credentials', 'contexts');
const index = JSON.parse(readFileSync(join(contextsDir, 'index.json'), 'utf8'));

function makeLoader({chain, documents = {}}) {
  const resolver = new Resolver(getResolver({
    networks: [{name: 'lernode', chainId: chain.chainId, rpcUrl: chain.rpcUrl,
      registry: chain.registry}]
  }));
  const resolutions = new Map();
  const loads = new Map();
  const methods = {};

  async function resolveDid(did) {
    if(!resolutions.has(did)) {
      resolutions.set(did, resolver.resolve(did));
    }
    const result = await resolutions.get(did);
    if(!result.didDocument) {
      throw new Error(`cannot resolve ${did}: ${JSON.stringify(result.didResolutionMetadata)}`);
    }
    return result.didDocument;
  }

  async function documentLoader(url) {
    if(url in documents) {
      loads.set(url, 'documents');
      return {contextUrl: null, documentUrl: url, document: documents[url]};
    }
    const entry = index[url];
    if(entry) {
      loads.set(url, 'context');
      const document = JSON.parse(readFileSync(join(contextsDir, entry.file), 'utf8'));
      return {contextUrl: null, documentUrl: url, document};
    }
    if(url.startsWith('did:ethr:')) {
      loads.set(url, 'did:ethr');
      const [did, fragment] = url.split('#');
      const didDocument = await resolveDid(did);
      if(fragment === undefined) {
        return {contextUrl: null, documentUrl: url, document: didDocument};
      }
      // DID Core dereferencing of a fragment: the verification method node itself, as the
      // resolver rendered it (an Ed25519VerificationKey2018 + publicKeyBase58, no @context).
      // Ed25519Multikey.from() converts that form losslessly, so no rewrite is needed here.
      const method = (didDocument.verificationMethod || []).find(m => m.id === url);
      if(!method) {
        throw new Error(`${url} is not a verification method of ${did}`);
      }
      methods[url] = method;
      return {contextUrl: null, documentUrl: url, document: method};
    }
    throw new Error(`verifier loader refuses unknown URL ${url}`);
  }

  return {documentLoader, loads, methods};
}

// Every message in the error tree: checkStatus wraps the status list credential's own
// verification error as `cause`, and jsigs groups proof errors under `errors`.
function errorsOf(result) {
  const errors = [];
  const walk = error => {
    if(!error) {
      return;
    }
    errors.push(String(error.message || error));
    for(const e of error.errors || []) {
      walk(e);
    }
    walk(error.cause);
  };
  for(const r of [result, ...(result.results || []), result.statusResult]) {
    walk(r?.error);
  }
  return [...new Set(errors)];
}

// The value of a statusSize-bit entry: bits [i * size, (i + 1) * size), most significant first.
async function entryValue(entry, documentLoader) {
  const size = entry.statusSize;
  if(!Number.isInteger(size) || size < 2) {
    return undefined;
  }
  const {document} = await documentLoader(entry.statusListCredential);
  const list = await decodeList({encodedList: document.credentialSubject.encodedList});
  const index = parseInt(entry.statusListIndex, 10);
  let value = 0;
  for(let bit = 0; bit < size; bit++) {
    value = (value << 1) | (list.getStatus(index * size + bit) ? 1 : 0);
  }
  return value;
}

async function verifyOne(credential, documentLoader) {
  // Both suites: the credential may use either, its status list credentials use eddsa-rdfc-2022.
  const suite = [
    new DataIntegrityProof({cryptosuite: rdfcSuite}),
    new DataIntegrityProof({cryptosuite: jcsVerify()})
  ];
  const result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus});
  let statuses = null;
  if(result.statusResult?.results) {
    statuses = [];
    for(const r of result.statusResult.results) {
      statuses.push({
        statusPurpose: r.credentialStatus.statusPurpose,
        statusListIndex: r.credentialStatus.statusListIndex,
        status: r.status,
        value: await entryValue(r.credentialStatus, documentLoader)
      });
    }
  }
  return {verified: result.verified, errors: errorsOf(result), statuses};
}

const request = JSON.parse(readFileSync(0, 'utf8'));
const {documentLoader, loads, methods} = makeLoader(request);
const results = [];
for(const credential of request.credentials) {
  results.push(await verifyOne(credential, documentLoader));
}
// The ethers provider keeps polling in the background: exit once the answer is flushed.
process.stdout.write(
  JSON.stringify({results, loads: Object.fromEntries(loads), methods}), () => process.exit(0));
