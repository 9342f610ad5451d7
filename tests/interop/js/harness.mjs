// Independent-implementation harness for tests/interop: drives Digital Bazaar's libraries.
// Usage: node harness.mjs <command> < request.json > response.json
// Commands: canonize, verify, sign, decode-status-list, multikey-from.
// The document loader serves only the node's bundled contexts plus documents in the request,
// so both sides canonicalize against byte-identical contexts and nothing touches the network.
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import jsonld from 'jsonld';
import * as rdfCanonize from 'rdf-canonize';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {cryptosuite as rdfcSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {
  createSignCryptosuite as jcsSign, createVerifyCryptosuite as jcsVerify
} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {decodeList} from '@digitalbazaar/vc-bitstring-status-list';

const here = dirname(fileURLToPath(import.meta.url));
const contextsDir = join(here, '..', '..', '..', 'node', 'credentials', 'contexts');
const index = JSON.parse(readFileSync(join(contextsDir, 'index.json'), 'utf8'));

function makeLoader(extra = {}) {
  return async url => {
    if(url in extra) {
      return {contextUrl: null, documentUrl: url, document: extra[url]};
    }
    const entry = index[url];
    if(!entry) {
      throw new Error(`harness loader refuses unknown URL ${url}`);
    }
    const document = JSON.parse(readFileSync(join(contextsDir, entry.file), 'utf8'));
    return {contextUrl: null, documentUrl: url, document};
  };
}

function suiteFor(name, mode) {
  if(name === 'eddsa-rdfc-2022') {
    return rdfcSuite;
  }
  if(name === 'eddsa-jcs-2022') {
    return mode === 'sign' ? jcsSign() : jcsVerify();
  }
  throw new Error(`unknown cryptosuite ${name}`);
}

// Same steps as eddsa-rdfc-2022-cryptosuite's canonize(): safe mode, i18n-datatype direction.
async function canonize({documents}) {
  const documentLoader = makeLoader();
  const results = [];
  for(const input of documents) {
    try {
      const dataset = await jsonld.toRDF(input, {
        documentLoader, base: null, safe: true, rdfDirection: 'i18n-datatype',
        produceGeneralizedRdf: false
      });
      const nquads = await rdfCanonize.canonize(
        dataset, {algorithm: 'RDFC-1.0', format: 'application/n-quads'});
      results.push({nquads});
    } catch(e) {
      const event = e.details?.event;
      results.push({error: String(e.message || e), event: event && {code: event.code, details: event.details}});
    }
  }
  return {results};
}

async function verify({credential, documents, now}) {
  const documentLoader = makeLoader(documents);
  // OB 3.0 wants `proof` as an array (of one, for the node's credentials).
  const proof = Array.isArray(credential.proof) ? credential.proof[0] : credential.proof;
  const name = proof?.cryptosuite;
  const suite = new DataIntegrityProof({cryptosuite: suiteFor(name, 'verify')});
  const result = await vc.verifyCredential({
    credential, suite, documentLoader, now,
    // Status is not under test here: the node checks it against the chain.
    checkStatus: async () => ({verified: true})
  });
  const errors = [];
  const collect = r => {
    if(r?.error) {
      errors.push(String(r.error.message || r.error));
      for(const e of r.error.errors || []) {
        errors.push(String(e.message || e));
      }
    }
  };
  collect(result);
  for(const r of result.results || []) {
    collect(r);
  }
  return {verified: result.verified, errors};
}

async function sign({credential, secretKeyMultibase, publicKeyMultibase, id, controller,
  cryptosuite, date, documents}) {
  const keyPair = await Ed25519Multikey.from({
    '@context': 'https://w3id.org/security/multikey/v1', type: 'Multikey',
    id, controller, publicKeyMultibase, secretKeyMultibase
  });
  const suite = new DataIntegrityProof({
    signer: keyPair.signer(), date, cryptosuite: suiteFor(cryptosuite, 'sign')
  });
  const signed = await vc.issue({credential, suite, documentLoader: makeLoader(documents)});
  return {credential: signed};
}

async function decodeStatusList({encodedList, indices}) {
  const list = await decodeList({encodedList});
  return {length: list.length, bits: indices.map(i => list.getStatus(i))};
}

async function multikeyFrom({verificationMethod}) {
  try {
    const key = await Ed25519Multikey.from(verificationMethod);
    return {ok: true, type: key.type, publicKeyMultibase: key.publicKeyMultibase};
  } catch(e) {
    return {ok: false, error: String(e.message || e)};
  }
}

const commands = {
  canonize, verify, sign,
  'decode-status-list': decodeStatusList,
  'multikey-from': multikeyFrom
};

const command = commands[process.argv[2]];
if(!command) {
  console.error(`unknown command ${process.argv[2]}`);
  process.exit(2);
}
const request = JSON.parse(readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(await command(request)));
