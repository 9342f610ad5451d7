// Asks the real ethr-did tooling (EthrDidController from ethr-did-resolver) what it would have an
// identity owner sign for our registry, so tests can prove our signed-call hashing matches it.
// (Resolution itself is compared against ours in tests/interop/test_ethr_did_resolver.py.)
//   node ethr_did_tool.cjs signed-hashes <rpcUrl> <chainId> <registry> <identity> <address>
//       -> prints the hashes EthrDidController asks the owner to sign for each *Signed call
//          (owner/delegate = <address>, delegate type "sigAuth", attribute
//          "did/svc/LernodeTest" = 0x010203, validity 86400 s), read with the current nonce
'use strict';

const { EthrDidController } = require('ethr-did-resolver');
const { JsonRpcProvider } = require('ethers');

async function main([command, rpcUrl, chainId, registry, ...rest]) {
  const id = BigInt(chainId);
  if (command === 'signed-hashes') {
    const [identity, address] = rest;
    const provider = new JsonRpcProvider(rpcUrl, id);
    const legacyNonce = false;
    const controller = new EthrDidController(
      identity, undefined, undefined, id, provider, undefined, registry, legacyNonce
    );
    return {
      changeOwner: await controller.createChangeOwnerHash(address),
      addDelegate: await controller.createAddDelegateHash('sigAuth', address, 86400),
      revokeDelegate: await controller.createRevokeDelegateHash('sigAuth', address),
      setAttribute: await controller.createSetAttributeHash('did/svc/LernodeTest', '0x010203', 86400),
      revokeAttribute: await controller.createRevokeAttributeHash('did/svc/LernodeTest', '0x010203'),
    };
  }
  throw new Error('unknown command ' + command);
}

main(process.argv.slice(2)).then(
  (result) => {
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(0);
  },
  (error) => {
    process.stderr.write(String(error && error.stack ? error.stack : error) + '\n');
    process.exit(1);
  }
);
