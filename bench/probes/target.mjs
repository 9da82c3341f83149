// The probes benchmark's target, in its own process: `ok` at once (mode fast), or after a seeded delay from a
// known distribution (mode dist: lognormal, median 20 ms, σ 0.5, and 1% of requests 200 ms more). It records the
// delays it applied; GET /__stats answers them sorted and starts afresh.
import { createServer } from 'node:http';

const mode = process.argv[2] ?? 'fast';
let seed = 20261128;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
let delays = [];

const server = createServer((req, res) => {
  if (req.url === '/__stats') {
    const sorted = Float64Array.from(delays).sort();
    delays = [];
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify(Array.from(sorted)));
  }
  if (mode === 'fast') return res.end('ok');
  const d = 20 * Math.exp(0.5 * gauss()) + (rnd() < 0.01 ? 200 : 0);
  delays.push(d);
  setTimeout(() => res.end('ok'), d);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
