// A holder and an older issuer as Digital Bazaar's libraries make them (tests/interop).
// Usage: node holder.mjs <command> < request.json > response.json
// Commands:
//   sign-2020  {credential, seed}: the credential signed with Ed25519Signature2020
//              (@digitalbazaar/ed25519-signature-2020) by the did:key of the 32-byte hex seed;
//   present    {credentials, seed, challenge, domain, suite}: a VerifiablePresentation made with
//              @digitalbazaar/vc (createPresentation + signPresentation, authentication purpose)
//              by that did:key holder, with "eddsa-rdfc-2022" (DataIntegrityProof) or
//              "Ed25519Signature2020" (what LCW's DIDAuth uses).
// The document loader serves only the node's bundled contexts and the holder's did:key document,
// so nothing touches the network.
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {cryptosuite as rdfcSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';
import {Ed25519VerificationKey2020} from '@digitalbazaar/ed25519-verification-key-2020';

const here = dirname(fileURLToPath(import.meta.url));
const contextsDir = join(here, '..', '..', '..', 'node', 'credentials', 'contexts');
const index = JSON.parse(readFileSync(join(contextsDir, 'index.json'), 'utf8'));

function makeLoader(extra) {
  return async url => {
    const base = url.split('#')[0];
    if(url in extra || base in extra) {
      return {contextUrl: null, documentUrl: url, document: extra[url] || extra[base]};
    }
    const entry = index[url];
    if(!entry) {
      throw new Error(`holder loader refuses unknown URL ${url}`);
    }
    const document = JSON.parse(readFileSync(join(contextsDir, entry.file), 'utf8'));
    return {contextUrl: null, documentUrl: url, document};
  };
}

function seedBytes(hex) {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

// The did:key of the seed, as an Ed25519VerificationKey2020 and as a Multikey key pair.
async function keys(seed) {
  const key2020 = await Ed25519VerificationKey2020.generate({seed: seedBytes(seed)});
  const fingerprint = key2020.fingerprint();
  const did = `did:key:${fingerprint}`;
  key2020.controller = did;
  key2020.id = `${did}#${fingerprint}`;
  const multikey = await Ed25519Multikey.generate(
    {seed: seedBytes(seed), id: key2020.id, controller: did});
  const method = {
    id: key2020.id, type: 'Ed25519VerificationKey2020', controller: did,
    publicKeyMultibase: key2020.publicKeyMultibase
  };
  const didDocument = {
    '@context': [
      'https://www.w3.org/ns/did/v1', 'https://w3id.org/security/suites/ed25519-2020/v1'
    ],
    id: did,
    verificationMethod: [method],
    assertionMethod: [method.id],
    authentication: [method.id]
  };
  const loader = makeLoader({
    [did]: didDocument,
    [method.id]: {'@context': 'https://w3id.org/security/suites/ed25519-2020/v1', ...method}
  });
  return {key2020, multikey, did, loader};
}

async function sign2020({credential, seed}) {
  const {key2020, did, loader} = await keys(seed);
  const suite = new Ed25519Signature2020({key: key2020});
  const signed = await vc.issue({credential: {...credential, issuer: credential.issuer || did},
    suite, documentLoader: loader});
  return {signed, did};
}

async function present({credentials, seed, challenge, domain, suite: name}) {
  const {key2020, multikey, did, loader} = await keys(seed);
  const suite = name === 'Ed25519Signature2020' ?
    new Ed25519Signature2020({key: key2020}) :
    new DataIntegrityProof({signer: multikey.signer(), cryptosuite: rdfcSuite});
  const presentation = vc.createPresentation({verifiableCredential: credentials, holder: did});
  const signed = await vc.signPresentation({
    presentation, suite, challenge, domain, documentLoader: loader
  });
  return {presentation: signed, did};
}

const commands = {'sign-2020': sign2020, present};
const command = commands[process.argv[2]];
if(!command) {
  console.error(`unknown command ${process.argv[2]}`);
  process.exit(2);
}
const input = JSON.parse(readFileSync(0, 'utf8'));
console.log(JSON.stringify(await command(input)));
