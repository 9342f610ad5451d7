// An independent verifier that trusts no lernode node: it checks a registry's OpenID Federation
// statements with npm `jose` against the published jwks, then checks on the chain itself, with
// ethers over plain JSON-RPC, that (1) the signing key is bound to a current consortium member
// and (2) every piece of evidence the statement carries is what the chain recorded.
// Usage: node registry_check.mjs < {entityConfiguration, sub, rpcUrl, issuerRegistryAbi} > report
import {readFileSync} from 'node:fs';
import * as jose from 'jose';
import {ethers} from 'ethers';

// Libraries narrate on stdout; our answer is the only thing stdout carries.
console.log = (...args) => console.error(...args);
const {entityConfiguration, sub, rpcUrl, issuerRegistryAbi} = JSON.parse(readFileSync(0, 'utf8'));
const checks = {};
const fail = (name, detail) => { checks[name] = {ok: false, detail}; };
const pass = (name, detail) => { checks[name] = {ok: true, ...(detail ? {detail} : {})}; };

// -- the statements, with jose --------------------------------------------------------------
const ecJwt = await (await fetch(entityConfiguration)).text();
const unverified = jose.decodeJwt(ecJwt);
const jwks = jose.createLocalJWKSet(unverified.jwks);
const ec = await jose.jwtVerify(ecJwt, jwks, {typ: 'entity-statement+jwt'});
if(ec.payload.iss !== ec.payload.sub) {
  fail('entity_configuration', 'not self-issued');
} else {
  pass('entity_configuration', {alg: ec.protectedHeader.alg});
}
const fetchEndpoint = ec.payload.metadata.federation_entity.federation_fetch_endpoint;
const statementResponse = await fetch(`${fetchEndpoint}?sub=${encodeURIComponent(sub)}`);
if(statementResponse.status !== 200) {
  fail('statement', `HTTP ${statementResponse.status}`);
  process.stdout.write(JSON.stringify({checks}));
  process.exit(0);
}
const statement = await jose.jwtVerify(await statementResponse.text(), jwks, {
  typ: 'entity-statement+jwt', issuer: ec.payload.sub, subject: sub
});
pass('statement');

// -- the key, on chain ----------------------------------------------------------------------
const binding = ec.payload.chain_binding;
const provider = new ethers.JsonRpcProvider(rpcUrl, undefined, {staticNetwork: true});
const network = await provider.getNetwork();
if(Number(network.chainId) !== binding.chain_id) {
  fail('chain', `RPC is chain ${network.chainId}, statement names ${binding.chain_id}`);
}
const registry = new ethers.Contract(binding.issuer_registry, issuerRegistryAbi, provider);
if(await registry.isMember(binding.member)) {
  pass('signer_is_member');
} else {
  fail('signer_is_member', binding.member);
}
// ERC-1056: DIDAttributeChanged(identity indexed, name, value, validTo, previousChange)
const didRegistry = new ethers.Contract(binding.did_registry, [
  'event DIDAttributeChanged(address indexed identity, bytes32 name, bytes value, uint validTo, uint previousChange)'
], provider);
const publicKey = ethers.hexlify(jose.base64url.decode(unverified.jwks.keys[0].x));
const name = ethers.encodeBytes32String(binding.key_attribute);
const latest = await provider.getBlock('latest');
let bound = false;
for(const log of await didRegistry.queryFilter(didRegistry.filters.DIDAttributeChanged(binding.member), 0)) {
  if(log.args.name === name && log.args.value.toLowerCase() === publicKey.toLowerCase()) {
    bound = log.args.validTo > BigInt(latest.timestamp);  // the latest event for the key decides
  }
}
if(bound) {
  pass('key_bound_to_member');
} else {
  fail('key_bound_to_member', publicKey);
}

// -- the evidence, on chain -----------------------------------------------------------------
const evidence = statement.payload.evidence;
const indexed = await provider.getBlock(evidence.indexedBlock.number);
if(indexed && indexed.hash === evidence.indexedBlock.hash) {
  pass('indexed_block_is_canonical');
} else {
  fail('indexed_block_is_canonical', evidence.indexedBlock);
}
const iface = new ethers.Interface(issuerRegistryAbi);
async function logAt(ref, eventName) {
  const block = await provider.getBlock(ref.blockNumber);
  if(!block || block.hash !== ref.blockHash) {
    return null;
  }
  const receipt = await provider.getTransactionReceipt(ref.transactionHash);
  const log = receipt?.logs.find(l => l.index === ref.logIndex);
  if(!log || log.address.toLowerCase() !== binding.issuer_registry.toLowerCase()) {
    return null;
  }
  const parsed = iface.parseLog(log);
  return parsed?.name === eventName ? parsed : null;
}
const accreditation = evidence.accreditation;
const published = await logAt(accreditation.published, 'ProposalCreated');
const executed = await logAt(accreditation.executed, 'IssuerAccredited');
const metadataHash = published ? ethers.keccak256(ethers.toUtf8Bytes(published.args.metadata)) : null;
if(published && executed && metadataHash === accreditation.metadataHash &&
   executed.args.metadataHash === metadataHash &&
   executed.args.issuer.toLowerCase() === evidence.issuer &&
   Number(executed.args.proposalId) === accreditation.proposalId) {
  pass('accreditation_events');
} else {
  fail('accreditation_events', {published: !!published, executed: !!executed, metadataHash});
}
if(await registry.issuerMetadataHash(evidence.issuer) === accreditation.metadataHash) {
  pass('metadata_is_current');
} else {
  fail('metadata_is_current');
}
const document = published ? JSON.parse(published.args.metadata) : {};
const served = statement.payload.metadata.federation_entity;
if(document.organization_name === served.organization_name &&
   (document.homepage_uri ?? null) === (served.homepage_uri ?? null)) {
  pass('metadata_is_what_was_voted');
} else {
  fail('metadata_is_what_was_voted', {document, served});
}
if(evidence.aliasBinding) {
  const holder = await registry.issuerOfAlias(ethers.keccak256(ethers.toUtf8Bytes(sub)));
  if(holder.toLowerCase() === evidence.issuer && evidence.aliasBinding.alias === sub) {
    pass('alias_bound_to_issuer');
  } else {
    fail('alias_bound_to_issuer', holder);
  }
}
const types = statement.payload.accredited_for;
const now = BigInt(latest.timestamp);
const accredited = await registry.isAccredited(
  evidence.issuer, ethers.id(types[0]), now);
if(accredited) {
  pass('accredited_now');
} else {
  fail('accredited_now', types[0]);
}
process.stdout.write(JSON.stringify({checks, alg: ec.protectedHeader.alg}));
