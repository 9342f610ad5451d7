// Verifiers hammering POST /v1/verify: `clients` concurrent loops, each on its own keep-alive
// connection, sending the bodies round robin until `requests` in all or for `seconds`.
//
// Why JavaScript: the bench and the load test run the client on the node's own machine (2 shared
// cores). A Python client spent about 1.3 ms of CPU per request (threads, httpx, JSON), a quarter
// of the machine the workers are measured on; Node's HTTP client costs a fraction of that, so the
// figure is the server's, not the client's.
//
// Usage: node verify_load.mjs <job.json>, job = {base, path, bodies: [JSON text], clients,
// requests|null, seconds|null, warmup}. Prints one JSON line: {requests, errors, wall_s,
// latencies_s, statuses, verdicts, failures, client_cpu_s}. An error is anything but a 200
// whose report says `valid`: a transport failure, another status, another verdict.
import http from "node:http";
import { readFileSync } from "node:fs";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const url = new URL(job.path, job.base);
const bodies = job.bodies.map((text) => Buffer.from(text, "utf8"));
const agent = new http.Agent({ keepAlive: true, maxSockets: job.clients });

function post(body) {
  return new Promise((resolve) => {
    const request = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": body.length },
      },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode, text: Buffer.concat(chunks).toString("utf8") }));
        response.on("error", (error) => resolve({ status: 0, text: `${error.name}: ${error.message}` }));
      },
    );
    request.on("error", (error) => resolve({ status: 0, text: `${error.name}: ${error.message}` }));
    request.end(body);
  });
}

function verdictOf(reply) {
  if (reply.status === 0) return reply.text;
  try {
    const body = JSON.parse(reply.text);
    if (body === null || typeof body !== "object" || Array.isArray(body)) return "?";
    return String(body.verdict ?? body.code ?? "?");
  } catch {
    return "not json";
  }
}

const result = {
  requests: 0, errors: 0, wall_s: 0, latencies_s: [], statuses: {}, verdicts: {}, failures: [],
};
let issued = 0;
let stopAt = Infinity;

async function client(first) {
  for (let i = 0; i < job.warmup; i++) await post(bodies[(first + i) % bodies.length]);
}

async function loop() {
  for (;;) {
    const n = issued++;
    if (job.requests !== null && n >= job.requests) return;
    if (job.seconds !== null && performance.now() >= stopAt) return;
    const started = performance.now();
    const reply = await post(bodies[n % bodies.length]);
    const verdict = verdictOf(reply);
    result.latencies_s.push((performance.now() - started) / 1000);
    result.requests += 1;
    result.statuses[reply.status] = (result.statuses[reply.status] ?? 0) + 1;
    result.verdicts[verdict] = (result.verdicts[verdict] ?? 0) + 1;
    if (reply.status !== 200 || verdict !== "valid") {
      result.errors += 1;
      if (result.failures.length < 5) result.failures.push(`${reply.status} ${verdict}`);
    }
  }
}

const clients = Array.from({ length: job.clients }, (_, i) => i);
await Promise.all(clients.map((i) => client(i)));
const began = performance.now();
const cpuAtStart = process.cpuUsage(); // the measured run only: not start-up nor warm-up
if (job.seconds !== null) stopAt = began + job.seconds * 1000;
await Promise.all(clients.map(() => loop()));
result.wall_s = (performance.now() - began) / 1000;
const used = process.cpuUsage(cpuAtStart);
result.client_cpu_s = (used.user + used.system) / 1e6;
agent.destroy();
process.stdout.write(JSON.stringify(result) + "\n");
