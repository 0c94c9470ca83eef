// ember-server throughput and latency: aggregate generated tokens/s with 1, 4 and 8
// concurrent streams, and time to first token idle and beside 7 running streams.
// usage: node bench/server_bench.mjs BIN_DIR MODEL NODE_MODULES [threads]
// (NODE_MODULES: where `npm install openai@6` put it, e.g. build/release/server-test-node/node_modules)
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const [BIN, MODEL, NODE_MODULES, THREADS = '1'] = process.argv.slice(2);
const require = createRequire(path.resolve(NODE_MODULES, 'openai', 'package.json'));
const OpenAI = require('openai').default ?? require('openai');
const N_TOKENS = 128;

const proc = spawn(path.join(BIN, 'ember-server'), ['-m', MODEL, '--port', '0', '-c', String(8 * 512), '-np', '8', '-t', THREADS],
                   { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
const port = await new Promise((resolve) => proc.stderr.on('data', (d) => {
  log += d;
  const m = /listening on http:\/\/[^:]+:(\d+)/.exec(log);
  if (m) resolve(Number(m[1]));
}));
while (!/serving/.test(log)) await new Promise((r) => setTimeout(r, 50));
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'x', maxRetries: 0 });
const eos = (await (await fetch(`http://127.0.0.1:${port}/tokenize`, { method: 'POST', body: JSON.stringify({ content: '</s>', parse_special: true }) })).json()).tokens[0];

// One stream of N_TOKENS (end of generation banned); resolves with its first-token latency.
async function stream(i) {
  const t0 = performance.now();
  let first = null, n = 0;
  const s = await client.completions.create({ prompt: `Story ${i}: once upon a time`, max_tokens: N_TOKENS, temperature: 0,
    logit_bias: { [eos]: -100 }, stream: true, stream_options: { include_usage: true } });
  for await (const c of s) {
    if (first === null && c.choices[0]?.text) first = performance.now() - t0;
    if (c.usage) n = c.usage.completion_tokens;
  }
  return { ttft: first, n };
}

await stream(0);  // warm-up
const rows = [];
for (const k of [1, 4, 8]) {
  const t0 = performance.now();
  const res = await Promise.all(Array.from({ length: k }, (_, i) => stream(i + 1)));
  const secs = (performance.now() - t0) / 1000;
  const total = res.reduce((a, r) => a + r.n, 0);
  rows.push({ streams: k, tokens: total, seconds: +secs.toFixed(2), tok_per_s: +(total / secs).toFixed(1) });
}
const idle = [];
for (let i = 0; i < 5; i++) idle.push((await stream(100 + i)).ttft);
const background = Array.from({ length: 7 }, (_, i) => stream(200 + i));
await new Promise((r) => setTimeout(r, 300));
const loaded = [];
for (let i = 0; i < 3; i++) loaded.push((await stream(300 + i)).ttft);
await Promise.all(background);
const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(JSON.stringify({ model: path.basename(MODEL), threads: THREADS, throughput: rows,
  ttft_ms: { idle: +median(idle).toFixed(1), beside_7_streams: +median(loaded).toFixed(1) } }, null, 1));
proc.kill('SIGTERM');
