// Time ethr-did-resolver (the reference did:ethr resolver) resolving DIDs from one chain.
//
// Input (stdin, JSON): {"rpcUrl", "chainId", "registry", "dids": [...], "iterations": N,
//                       "warmup": W}
// Output (stdout, JSON): {"<did>": {"samples_ms": [N durations], "result": <last result>}}
// Each resolution is timed alone, in sequence, inside one process, so start-up (module loading,
// provider set-up) is not counted: the figure is what a long-running verifier pays per lookup.
// The resolver has no cache (did-resolver caches only when asked to).
import { performance } from 'node:perf_hooks'
import { Resolver } from 'did-resolver'
import { getResolver } from 'ethr-did-resolver'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const args = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const resolver = new Resolver(
  getResolver({
    networks: [{ name: 'bench', chainId: args.chainId, rpcUrl: args.rpcUrl, registry: args.registry }],
  }),
)
const out = {}
for (const did of args.dids) {
  let result = null
  for (let i = 0; i < (args.warmup ?? 2); i++) result = await resolver.resolve(did)
  const samples = []
  for (let i = 0; i < args.iterations; i++) {
    const start = performance.now()
    result = await resolver.resolve(did)
    samples.push(performance.now() - start)
  }
  out[did] = { samples_ms: samples, result }
}
// The JSON-RPC provider keeps polling in the background: exit once the answer is flushed.
process.stdout.write(JSON.stringify(out), () => process.exit(0))
