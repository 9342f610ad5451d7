// Plays learners' wallets against a running node, with the wallets' own libraries.
// Usage: node wallet.mjs <command> < request.json > response.json
//   lcw-dcc    {deepLink, seed}         LCW's DCC request flow: parse the deep link, sign a DIDAuth
//                                       presentation (Ed25519Signature2020, as LCW does, with
//                                       @digitalcredentials/vc), POST it to vc_request_url.
//   lcw-vcapi  {interactionUrl, seed}   LCW's VC-API flow: GET ?iuv=1 -> protocols.vcapi, POST {},
//                                       sign the VPR's DIDAuth (challenge, domain), POST it.
//   di-vcapi   {exchangeUrl, seed}      the same exchange with a Data Integrity (eddsa-rdfc-2022)
//                                       DIDAuth signed by Digital Bazaar's @digitalbazaar/vc.
//   lcw-sign   {challenge, domain?, seed}  just the LCW-signed DIDAuth presentation.
//   oid4vci    {offer, seed, txCode?}   @openid4vc/openid4vci client: resolve the offer and the
//                                       issuer metadata, pre-authorized code token, nonce, proof
//                                       JWT (EdDSA, kid = did:key), credential request.
// TLS: the node's test certificate is trusted through NODE_EXTRA_CA_CERTS.
import {createPrivateKey, sign as edSign, createHash, randomBytes} from 'node:crypto';
import {readFileSync} from 'node:fs';

import * as dccVc from '@digitalcredentials/vc';
import {Ed25519Signature2020} from '@digitalcredentials/ed25519-signature-2020';
import {Ed25519VerificationKey2020} from '@digitalcredentials/ed25519-verification-key-2020';
import {securityLoader} from '@digitalcredentials/security-document-loader';
import * as dbVc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {cryptosuite as rdfcSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {Openid4vciClient} from '@openid4vc/openid4vci';
import {clientAuthenticationAnonymous} from '@openid4vc/oauth2';

const documentLoader = securityLoader().build();

async function lcwKey(seed) {
  const key = await Ed25519VerificationKey2020.generate({seed: Buffer.from(seed, 'hex')});
  const did = `did:key:${key.fingerprint()}`;
  key.controller = did;
  key.id = `${did}#${key.fingerprint()}`;
  return {key, did};
}

async function lcwSign({challenge, domain, seed}) {
  const {key, did} = await lcwKey(seed);
  const suite = new Ed25519Signature2020({key});
  const presentation = dccVc.createPresentation({holder: did, verify: false});
  const signed = await dccVc.signPresentation({presentation, suite, challenge, domain, documentLoader});
  return {did, presentation: signed};
}

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return {status: response.status, body: json ?? text};
}

async function lcwDcc({deepLink, seed}) {
  const params = new URL(deepLink).searchParams;
  // What LCW requires of a request link (credentialRequest.ts: isCredentialRequestParams).
  for(const name of ['issuer', 'vc_request_url']) {
    if(!params.get(name)) { throw new Error(`deep link lacks ${name}`); }
  }
  if(params.get('auth_type') !== 'bearer') { throw new Error('expected auth_type=bearer'); }
  const {did, presentation} = await lcwSign({challenge: params.get('challenge'), seed});
  const answer = await post(params.get('vc_request_url'), presentation);
  return {did, presentation, ...answer};
}

async function runExchange(exchangeUrl, signer) {
  const first = await post(exchangeUrl, {});
  if(first.status !== 200 || !first.body.verifiablePresentationRequest) {
    return {step: 'request', ...first};
  }
  const vpr = first.body.verifiablePresentationRequest;
  const queries = [].concat(vpr.query);
  if(!queries.some(q => q.type === 'DIDAuthentication')) { throw new Error('no DIDAuth query'); }
  const {did, presentation} = await signer({challenge: vpr.challenge, domain: vpr.domain});
  const next = vpr.interact?.service?.[0]?.serviceEndpoint ?? exchangeUrl;
  const answer = await post(next, {verifiablePresentation: presentation});
  return {did, vpr, presentation, ...answer};
}

async function lcwVcapi({interactionUrl, seed}) {
  const response = await fetch(interactionUrl, {headers: {Accept: 'application/json'}});
  const protocols = (await response.json()).protocols;
  if(!protocols?.vcapi) { return {step: 'interaction', status: response.status, protocols}; }
  return {protocols, ...await runExchange(protocols.vcapi, o => lcwSign({...o, seed}))};
}

async function diSign({challenge, domain, seed}) {
  const keyPair = await Ed25519Multikey.generate({seed: Buffer.from(seed, 'hex')});
  const did = `did:key:${keyPair.publicKeyMultibase}`;
  keyPair.controller = did;
  keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
  const suite = new DataIntegrityProof({signer: keyPair.signer(), cryptosuite: rdfcSuite});
  const presentation = dbVc.createPresentation({holder: did, version: 2.0});
  const signed = await dbVc.signPresentation({presentation, suite, challenge, domain, documentLoader});
  return {did, presentation: signed};
}

async function diVcapi({exchangeUrl, seed}) {
  return runExchange(exchangeUrl, o => diSign({...o, seed}));
}

// An Ed25519 key for the proof JWT, as a did:key, signed with node:crypto.
function jwtHolder(seed) {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'),
    Buffer.from(seed, 'hex')]);
  const privateKey = createPrivateKey({key: pkcs8, format: 'der', type: 'pkcs8'});
  const jwk = privateKey.export({format: 'jwk'});
  const raw = Buffer.from(jwk.x, 'base64url');
  const multibase = 'z' + base58(Buffer.concat([Buffer.from([0xed, 0x01]), raw]));
  const did = `did:key:${multibase}`;
  return {privateKey, did, didUrl: `${did}#${multibase}`};
}

function base58(bytes) {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let n = BigInt('0x' + bytes.toString('hex'));
  let out = '';
  while(n > 0n) { out = alphabet[Number(n % 58n)] + out; n /= 58n; }
  for(const b of bytes) { if(b === 0) { out = '1' + out; } else { break; } }
  return out;
}

async function oid4vci({offer, seed, txCode}) {
  const holder = jwtHolder(seed);
  const b64 = value => Buffer.from(JSON.stringify(value)).toString('base64url');
  const callbacks = {
    fetch,
    generateRandom: async length => randomBytes(length),
    hash: async (data, alg) => createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
    clientAuthentication: clientAuthenticationAnonymous(),
    signJwt: async (signer, {header, payload}) => {
      const input = `${b64(header)}.${b64(payload)}`;
      const signature = edSign(null, Buffer.from(input), holder.privateKey).toString('base64url');
      return {jwt: `${input}.${signature}`, signerJwk: undefined};
    }
  };
  const client = new Openid4vciClient({callbacks});
  const credentialOffer = await client.resolveCredentialOffer(offer);
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
  const {accessTokenResponse} = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer, issuerMetadata, txCode
  });
  const {c_nonce: nonce} = await client.requestNonce({issuerMetadata});
  const credentialConfigurationId = credentialOffer.credential_configuration_ids[0];
  const {jwt} = await client.createCredentialRequestJwtProof({
    issuerMetadata, credentialConfigurationId, nonce,
    signer: {method: 'did', didUrl: holder.didUrl, alg: 'EdDSA'}
  });
  const result = await client.retrieveCredentials({
    issuerMetadata, credentialConfigurationId, proofs: {jwt: [jwt]},
    accessToken: accessTokenResponse.access_token
  });
  return {
    did: holder.did,
    version: issuerMetadata.originalDraftVersion,
    accessToken: accessTokenResponse.access_token,
    proof: jwt,
    credentials: result.credentialResponse.credentials
  };
}

const commands = {
  'lcw-dcc': lcwDcc, 'lcw-vcapi': lcwVcapi, 'di-vcapi': diVcapi, 'lcw-sign': lcwSign,
  oid4vci
};
const command = commands[process.argv[2]];
if(!command) {
  console.error(`unknown command ${process.argv[2]}`);
  process.exit(2);
}
const request = JSON.parse(readFileSync(0, 'utf8'));
try {
  process.stdout.write(JSON.stringify(await command(request)));
} catch(e) {
  process.stdout.write(JSON.stringify({error: String(e?.stack || e), details: e?.errorResponse ?? e?.responseText ?? null}));
}
