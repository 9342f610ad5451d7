// Verifiers hammering POST /v1/verify: `clients` concurrent loops, each on its own keep-alive
// connection, sending the bodies round robin until `requests` in all or for `seconds`.
//
// Why JavaScript, and why raw sockets: the bench and the load test run the client on the node's
// own machine (2 shared cores), so every microsecond the client spends is taken from the workers
// it measures. A Python client spent about 1.3 ms of CPU per request (threads, httpx, JSON) and
// Node's `http` module about 0.5 ms (agent, header objects, streams); this one writes a request
// built once per body to a `net` socket and reads the answer with a minimal HTTP/1.1 parser
// (status line, Content-Length, body), a few tens of microseconds. It still checks every answer
// in full: the status, and the verdict from the parsed JSON body.
//
// Usage: node verify_load.mjs <job.json>, job = {base, path, bodies: [JSON text], clients,
// requests|null, seconds|null, warmup}. Prints one JSON line: {requests, errors, wall_s,
// latencies_s, statuses, verdicts, failures, client_cpu_s}. An error is anything but a 200
// whose report says `valid`: a transport failure, another status, another verdict.
import net from "node:net";
import { readFileSync } from "node:fs";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const url = new URL(job.path, job.base);
const port = Number(url.port || 80);
const head = (length) =>
  `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
  `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
// Whole requests, built once: sending one is a single write.
const requests = job.bodies.map((text) => {
  const body = Buffer.from(text, "utf8");
  return Buffer.concat([Buffer.from(head(body.length), "latin1"), body]);
});
const HEADER_END = Buffer.from("\r\n\r\n");
const CONTENT_LENGTH = /^content-length:[ \t]*(\d+)[ \t]*$/im;
const CHUNKED = /^transfer-encoding:.*chunked/im;
const CLOSE = /^connection:[ \t]*close/im;

// One keep-alive connection answering one request at a time (HTTP/1.1, no pipelining).
class Connection {
  constructor() {
    this.socket = null;
    this.readBuffer = Buffer.allocUnsafe(64 * 1024);
    this.pending = null; // `resolve` of the request in flight
    this.buffered = [];
    this.size = 0;
    this.need = -1; // bytes of the whole answer once its head is parsed
    this.status = 0;
    this.closeAfter = false;
  }

  open() {
    // `onread` into one buffer per connection: no Buffer per read, no stream machinery.
    const socket = net.connect({
      host: url.hostname,
      port,
      noDelay: true,
      onread: { buffer: this.readBuffer, callback: (n, buffer) => this.onData(buffer.subarray(0, n)) },
    });
    socket.on("error", (error) => this.fail(`${error.name}: ${error.message}`));
    socket.on("close", () => {
      this.socket = null;
      this.fail("connection closed before the answer was complete");
    });
    this.socket = socket;
  }

  post(request) {
    return new Promise((resolve) => {
      this.pending = resolve;
      this.buffered = [];
      this.size = 0;
      this.need = -1;
      if (this.socket === null) this.open();
      this.socket.write(request);
    });
  }

  onData(view) {
    const chunk = Buffer.from(view); // a copy: the read buffer is reused by the next read
    this.buffered.push(chunk);
    this.size += chunk.length;
    if (this.need < 0 && !this.parseHead()) return;
    if (this.size < this.need) return;
    if (this.size > this.need) return this.fail("more bytes than the answer declared");
    const whole = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered);
    const text = whole.toString("utf8", this.bodyStart, this.need);
    if (this.closeAfter) this.drop(); // the server ends the connection: the next request opens one
    this.finish({ status: this.status, text });
  }

  // The status line and headers, once they are all in: false until then.
  parseHead() {
    const whole = Buffer.concat(this.buffered);
    this.buffered = [whole];
    const end = whole.indexOf(HEADER_END);
    if (end < 0) return false;
    const lines = whole.toString("latin1", 0, end);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines);
    const length = CONTENT_LENGTH.exec(lines);
    if (status === null || length === null || CHUNKED.test(lines)) {
      this.fail(`unexpected answer head: ${lines.split("\r\n", 1)[0]}`);
      return false;
    }
    this.status = Number(status[1]);
    this.closeAfter = CLOSE.test(lines);
    this.bodyStart = end + HEADER_END.length;
    this.need = this.bodyStart + Number(length[1]);
    return true;
  }

  finish(reply) {
    const resolve = this.pending;
    this.pending = null;
    if (resolve !== null) resolve(reply);
  }

  // A transport failure: answer the request in flight and start over on a new connection.
  fail(reason) {
    this.drop();
    this.finish({ status: 0, text: reason });
  }

  drop() {
    if (this.socket !== null) {
      this.socket.removeAllListeners("close");
      this.socket.destroy();
      this.socket = null;
    }
  }

  close() {
    if (this.socket !== null) {
      this.socket.removeAllListeners("close");
      this.socket.end();
    }
  }
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

async function warm(connection, first) {
  for (let i = 0; i < job.warmup; i++) await connection.post(requests[(first + i) % requests.length]);
}

async function loop(connection) {
  for (;;) {
    const n = issued++;
    if (job.requests !== null && n >= job.requests) return;
    if (job.seconds !== null && performance.now() >= stopAt) return;
    const started = performance.now();
    const reply = await connection.post(requests[n % requests.length]);
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

const connections = Array.from({ length: job.clients }, () => new Connection());
await Promise.all(connections.map((connection, i) => warm(connection, i)));
const began = performance.now();
const cpuAtStart = process.cpuUsage(); // the measured run only: not start-up nor warm-up
if (job.seconds !== null) stopAt = began + job.seconds * 1000;
await Promise.all(connections.map((connection) => loop(connection)));
result.wall_s = (performance.now() - began) / 1000;
const used = process.cpuUsage(cpuAtStart);
result.client_cpu_s = (used.user + used.system) / 1e6;
for (const connection of connections) connection.close();
process.stdout.write(JSON.stringify(result) + "\n");
