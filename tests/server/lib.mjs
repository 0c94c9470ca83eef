// Shared by the ember-server tests: start/stop a server on a free loopback port, the
// official client, curl, raw HTTP, checks with a summary.
import { spawn, execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';

export const [BIN, SHARED, NODE_MODULES] = process.argv.slice(2);
const require = createRequire(path.resolve(NODE_MODULES, 'openai', 'package.json'));
export const OpenAI = require('openai').default ?? require('openai');
export const STORIES = path.join(SHARED, 'models', 'stories260K.gguf');
export const TINY = path.join(SHARED, 'models', 'tiny-stories-F16.gguf');
export const TINY_Q4 = path.join(SHARED, 'models', 'tiny-stories-Q4_K_M.gguf');
export const RANDOM = path.join(SHARED, 'models', 'small-llama-F32.gguf');
export const SERVER = path.join(BIN, 'ember-server');
export const CHAT = path.join(BIN, 'ember-chat');

let failures = 0, passes = 0;
// Every wait below is bounded; this catches anything that is not, with the step it was in.
let currentStep = 'start';
export function step(name) { currentStep = name; console.log(`--   ${name}`); }
const WATCHDOG_MS = Number(process.env.EMBER_SERVER_TEST_WATCHDOG_MS || 240000);
setTimeout(() => {
  console.log(`FAIL watchdog: the test ran past ${WATCHDOG_MS} ms in step '${currentStep}'`);
  process.exit(1);
}, WATCHDOG_MS).unref();
export function check(ok, what, detail) {
  if (ok) { passes++; console.log(`ok   ${what}`); }
  else { failures++; console.log(`FAIL ${what}${detail !== undefined ? ': ' + JSON.stringify(detail).slice(0, 600) : ''}`); }
  return ok;
}
export function finish() {
  console.log(`\n${passes} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts ember-server on a free port; resolves when /health says ok.
export async function startServer(args, { key } = {}) {
  // One thread unless told: CI runs tests side by side on 2 cores, where spinning worker
  // threads of two processes slow each other down by orders of magnitude.
  const threads = args.includes('-t') ? [] : ['-t', '1'];
  const proc = spawn(SERVER, ['--port', '0', ...threads, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const server = { proc, log: '', exited: null, key };
  proc.on('exit', (code, signal) => { server.exited = { code, signal }; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ember-server did not start: ' + server.log)), 30000);
    proc.stderr.on('data', (d) => {
      server.log += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(server.log);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', () => { clearTimeout(timer); reject(new Error('ember-server exited: ' + server.log)); });
  });
  server.port = port;
  server.url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(server.url + '/health', { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) break;
    } catch { /* not yet */ }
    await sleep(50);
  }
  server.client = new OpenAI({ baseURL: server.url + '/v1', apiKey: key ?? 'none', maxRetries: 0, timeout: 120000 });
  return server;
}

// SIGTERM; resolves with the exit code (null if it had to be killed).
export async function stopServer(server, timeoutMs = 20000) {
  if (server.exited) return server.exited.code;
  server.proc.kill('SIGTERM');
  for (let t = 0; t < timeoutMs && !server.exited; t += 50) await sleep(50);
  if (!server.exited) { server.proc.kill('SIGKILL'); await sleep(200); return null; }
  return server.exited.code;
}

// curl, as a separate HTTP client: resolves {status, headers, body, json}.
export function curl(url, { method = 'POST', data, dataFile, headers = {} } = {}) {
  const args = ['-s', '-S', '-i', '-X', method, '--max-time', '60'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (data !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', typeof data === 'string' ? data : JSON.stringify(data));
  if (dataFile) args.push('-H', 'Content-Type: application/json', '--data-binary', '@' + dataFile);
  args.push(url);
  return new Promise((resolve) => {
    execFile('curl', args, { maxBuffer: 64 << 20, encoding: 'latin1' }, (err, stdout) => {
      const text = Buffer.from(stdout, 'latin1').toString('utf8');
      // Skip "HTTP/1.1 100 Continue" blocks.
      const blocks = text.split('\r\n\r\n');
      let i = 0;
      while (i < blocks.length - 1 && /^HTTP\/1\.1 100/.test(blocks[i])) i++;
      const head = blocks[i] ?? '';
      const body = blocks.slice(i + 1).join('\r\n\r\n');
      const status = Number((/^HTTP\/1\.1 (\d+)/.exec(head) || [])[1] || 0);
      const hdrs = {};
      for (const line of head.split('\r\n').slice(1)) {
        const j = line.indexOf(':');
        if (j > 0) hdrs[line.slice(0, j).toLowerCase()] = line.slice(j + 1).trim();
      }
      let json = null;
      try { json = JSON.parse(body); } catch { /* not JSON */ }
      resolve({ status, headers: hdrs, body, json, err });
    });
  });
}

// The greedy reply of ember-chat -p (chat) or --no-chat (completion), as the reference.
export function chatReference(model, prompt, n, { plain = false, ctx = 256 } = {}) {
  const args = ['-m', model, '-p', prompt, '--temp', '0', '-n', String(n), '-c', String(ctx), '-t', '1'];
  if (plain) args.push('--no-chat');
  const out = execFileSync(CHAT, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.endsWith('\n') ? out.slice(0, -1) : out;  // ember-chat ends the reply with a newline
}

export async function metrics(server) {
  const headers = server.key ? { Authorization: `Bearer ${server.key}` } : {};
  const text = await (await fetch(server.url + '/metrics', { headers, signal: AbortSignal.timeout(10000) })).text();
  const m = {};
  for (const line of text.split('\n')) {
    const r = /^(ember_\w+) ([-0-9.e+]+)$/.exec(line);
    if (r) m[r[1]] = Number(r[2]);
  }
  return m;
}

export function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

// A raw HTTP/1.1 exchange over a socket; resolves with what was read before `until`
// matched (or the socket closed), then closes it.
export function rawRequest(port, text, { until, timeoutMs = 10000 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const done = () => { sock.destroy(); resolve(got); };
    const timer = setTimeout(done, timeoutMs);
    sock.on('connect', () => sock.write(text));
    sock.on('data', (d) => { got += d; if (until && until.test(got)) { clearTimeout(timer); done(); } });
    sock.on('close', () => { clearTimeout(timer); resolve(got); });
    sock.on('error', () => { clearTimeout(timer); resolve(got); });
  });
}

export function postText(path, body) {
  const s = JSON.stringify(body);
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(s)}\r\n\r\n${s}`;
}
