// The probes benchmark's target, in its own process: a plain keep-alive node:http server answering `ok`, at once
// (mode fast), or after a seeded delay from a known distribution (mode dist: lognormal, median 20 ms, σ 0.5, and
// 1% of requests 200 ms more). In mode dist it records, for every request, when it arrived and when its answer
// was written (process.hrtime, the system's monotonic clock, which the bench process shares) and the delay drawn;
// GET /__stats answers them and starts afresh.
import { createServer } from 'node:http';

const mode = process.argv[2] ?? 'fast';
let seed = 20261128;
// mulberry32
const rnd = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
const mono = () => Number(process.hrtime.bigint()) / 1e6;
let log = { arrived: [], done: [], drawn: [] };

const server = createServer((req, res) => {
  if (req.url === '/__stats') {
    const body = JSON.stringify(log);
    log = { arrived: [], done: [], drawn: [] };
    res.setHeader('content-type', 'application/json');
    return res.end(body);
  }
  if (mode === 'fast') return res.end('ok');
  const arrived = mono();
  const d = 20 * Math.exp(0.5 * gauss()) + (rnd() < 0.01 ? 200 : 0);
  setTimeout(() => {
    res.end('ok');
    log.arrived.push(arrived);
    log.done.push(mono());
    log.drawn.push(d);
  }, d);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
