// Resolve one did:ethr with the reference resolver (ethr-did-resolver), for the interop tests.
//
// Input: one JSON object, as the first argument or on stdin:
//   {"rpcUrl": "...", "chainId": 31337, "registry": "0x...", "did": "did:ethr:...",
//    "versionId": 12 (optional), "accept": "application/did+ld+json" (optional)}
// Output: the DIDResolutionResult as JSON on stdout. Exit status 0 even when the result
// carries a resolution error: the caller compares results, errors included.
import { Resolver } from 'did-resolver'
import { getResolver } from 'ethr-did-resolver'

async function readInput() {
  if (process.argv[2]) return process.argv[2]
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

const args = JSON.parse(await readInput())
const resolver = new Resolver(
  getResolver({ networks: [{ name: 'lernode', chainId: args.chainId, rpcUrl: args.rpcUrl, registry: args.registry }] })
)
const didUrl = args.versionId === undefined ? args.did : `${args.did}?versionId=${args.versionId}`
const options = args.accept ? { accept: args.accept } : {}
const result = await resolver.resolve(didUrl, options)
// The provider keeps polling in the background: exit once the answer is flushed.
process.stdout.write(JSON.stringify(result), () => process.exit(0))
