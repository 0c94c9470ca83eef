// ember-server under load: greedy replies that do not depend on what else is in the batch
// (alone vs 31 others), 32 concurrent streams on 4 slots each equal to its single-request
// reply, then random requests with random disconnects leave no busy slot and a flat RSS.
import { check, step, finish, startServer, stopServer, chatReference, metrics, rssKiB, sleep, STORIES, TINY_Q4 } from './lib.mjs';

// A deterministic generator, so a failure can be rerun as it was.
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const pick = (a) => a[Math.floor(rand() * a.length)];
const WORDS = ['the', 'cat', 'dog', 'sun', 'little', 'girl', 'boy', 'park', 'ball', 'happy', 'tree', 'red', 'big',
               'Lily', 'Tim', 'played', 'saw', 'ran', 'friend', 'mom', 'car', 'bird', 'sky', 'water'];
const sentence = (n) => Array.from({ length: n }, () => pick(WORDS)).join(' ');

// 32 different greedy requests: chat and completion, various prompt and reply lengths.
const requests = Array.from({ length: 32 }, (_, i) => ({
  chat: i % 2 === 0,
  prompt: (i % 2 ? 'Once upon a time, ' : '') + sentence(2 + (i * 7) % 23),
  max_tokens: 8 + (i * 13) % 57,
}));

async function run(client, r, stream) {
  const common = { temperature: 0, max_tokens: r.max_tokens, stream };
  const res = r.chat
    ? await client.chat.completions.create({ ...common, messages: [{ role: 'user', content: r.prompt }] })
    : await client.completions.create({ ...common, prompt: r.prompt });
  if (!stream) return r.chat ? res.choices[0].message.content : res.choices[0].text;
  let text = '';
  for await (const chunk of res) text += (r.chat ? chunk.choices[0]?.delta?.content : chunk.choices[0]?.text) ?? '';
  return text;
}

// The greedy reply with, per token, its text and the gap between the two most likely
// log-probabilities (how close the choice was to a tie).
async function runWithMargins(client, r) {
  const common = { temperature: 0, max_tokens: r.max_tokens };
  if (r.chat) {
    const c = await client.chat.completions.create({ ...common, messages: [{ role: 'user', content: r.prompt }], logprobs: true, top_logprobs: 2 });
    const toks = c.choices[0].logprobs.content.map((e) => ({ text: e.token, margin: e.top_logprobs.length > 1 ? e.top_logprobs[0].logprob - e.top_logprobs[1].logprob : Infinity }));
    return { text: c.choices[0].message.content, toks };
  }
  const c = await client.completions.create({ ...common, prompt: r.prompt, logprobs: 2 });
  const L = c.choices[0].logprobs;
  const toks = L.top_logprobs.map((t, i) => { const v = Object.values(t).sort((x, y) => y - x); return { text: L.tokens[i], margin: v.length > 1 ? v[0] - v[1] : Infinity }; });
  return { text: c.choices[0].text, toks };
}

// Where two replies part, the margin of the token at that point in the reference.
function divergence(ref, other) {
  let i = 0;
  while (i < ref.text.length && ref.text[i] === other[i]) i++;
  let at = 0;
  for (let k = 0; k < ref.toks.length; k++) {
    at += ref.toks[k].text.length;
    if (at > i) return { token: k, margin: ref.toks[k].margin };
  }
  return { token: ref.toks.length, margin: 0 };  // one is a prefix of the other: the stop decision itself
}

// A near-tie: two logits closer than any difference the batch composition was measured to
// make (0.17 at most, Q4_K_M beside 31 other rows; see docs/ARCHITECTURE.md).
const NEAR_TIE = 0.25;

// Each request alone, then all of them at once. Exact: every reply must be the same text.
// Otherwise a reply may differ only where the reference's choice was a near-tie.
async function determinism(name, aloneArgs, togetherArgs, batch, exact) {
  const a = await startServer(aloneArgs);
  const alone = [];
  for (const r of batch) alone.push(await runWithMargins(a.client, r));
  check(await stopServer(a) === 0, 'exit 0');
  const s = await startServer([...togetherArgs, '--metrics']);
  const m0 = await metrics(s);
  const together = await Promise.all(batch.map((r) => run(s.client, r, true)));
  const m1 = await metrics(s);
  const diff = batch.map((_, i) => i).filter((i) => together[i] !== alone[i].text);
  const parts = diff.map((i) => ({ i, ...divergence(alone[i], together[i]) }));
  if (exact) {
    check(diff.length === 0, `${name}: ${batch.length} concurrent replies are the same text as alone`,
          parts.slice(0, 3).map((p) => ({ ...p, alone: alone[p.i].text, together: together[p.i] })));
  } else {
    const bad = parts.filter((p) => !(p.margin < NEAR_TIE));
    check(bad.length === 0, `${name}: ${batch.length} concurrent streams equal their single-request reply up to near-ties`,
          bad.slice(0, 3).map((p) => ({ ...p, alone: alone[p.i].text, together: together[p.i] })));
    console.log(`     ${batch.length - diff.length}/${batch.length} identical; near-tie divergences: ${JSON.stringify(parts)}`);
  }
  const rows = m1.ember_decode_rows_total - m0.ember_decode_rows_total, steps = m1.ember_decode_steps_total - m0.ember_decode_steps_total;
  check(rows / steps > 1.5, `${name}: steps decode several requests at once (continuous batching)`, { rows, steps });
  console.log(`     ${steps} steps, ${(rows / steps).toFixed(1)} rows per step`);
  check(await stopServer(s) === 0, 'exit 0');
  return alone;
}

step('single requests equal ember-chat');
{
  const s = await startServer(['-m', STORIES, '-c', '1024', '-np', '1']);
  const bad = [];
  for (const r of requests) {
    const got = await run(s.client, r, false), ref = chatReference(STORIES, r.prompt, r.max_tokens, { plain: !r.chat, ctx: 1024 });
    if (got !== ref) bad.push({ r, got, ref });
  }
  check(bad.length === 0, 'stories260K: 32 requests alone equal ember-chat', bad.slice(0, 2));
  check(await stopServer(s) === 0, 'exit 0');
}
// Rows are not batch-invariant yet (measured, docs/ARCHITECTURE.md): a row beside 31 others
// takes the batched matmul kernels (up to 0.17 apart from the one-row path for Q4_K_M,
// 2.4e-4 for F32), and cells reused after a removal change the order of the attention sum
// (up to 0.11). So a reply may part from its single-request text only at a near-tie.
step('determinism: tiny-stories Q4_K_M, alone vs beside 31 others in one batch');
await determinism('tiny-stories Q4_K_M -np 32', ['-m', TINY_Q4, '-c', '256', '-np', '1'],
                  ['-m', TINY_Q4, '-c', String(32 * 256), '-np', '32'], requests, false);
step('determinism: stories260K (F32), alone vs beside 31 others in one batch');
await determinism('stories260K -np 32', ['-m', STORIES, '-c', '1024', '-np', '1'],
                  ['-m', STORIES, '-c', String(32 * 256), '-np', '32'], requests, false);
step('32 concurrent streams on 4 slots: stories260K (F32)');
await determinism('stories260K -np 4', ['-m', STORIES, '-c', '1024', '-np', '1'],
                  ['-m', STORIES, '-c', '4096', '-np', '4'], requests, false);
step('32 concurrent streams on 4 slots: tiny-stories Q4_K_M');
await determinism('tiny-stories Q4_K_M -np 4', ['-m', TINY_Q4, '-c', '256', '-np', '1'],
                  ['-m', TINY_Q4, '-c', '1024', '-np', '4'], requests, false);

step('random requests with disconnects');
{
  const s = await startServer(['-m', STORIES, '-c', '2048', '-np', '4', '--metrics']);
  let done = 0, aborted = 0, errors = [];
  async function one() {
    const chat = rand() < 0.5, stream = rand() < 0.6, disconnect = rand() < 0.35;
    const body = { temperature: rand() < 0.5 ? 0 : 0.8, max_tokens: 1 + Math.floor(rand() * 64), stream };
    const prompt = sentence(1 + Math.floor(rand() * 60));
    const ctl = new AbortController();
    const cutAfter = Math.floor(rand() * 5);
    const timer = disconnect && !stream ? setTimeout(() => ctl.abort(), Math.floor(rand() * 30)) : null;
    try {
      const res = chat
        ? await s.client.chat.completions.create({ ...body, messages: [{ role: 'user', content: prompt }] }, { signal: ctl.signal })
        : await s.client.completions.create({ ...body, prompt }, { signal: ctl.signal });
      if (stream) {
        let n = 0;
        for await (const _ of res) { if (disconnect && ++n > cutAfter) { ctl.abort(); break; } }
      }
      done++;
    } catch (e) {
      if (ctl.signal.aborted) aborted++;
      else errors.push(String(e.message));
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
  async function wave(n, concurrency) {
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => { while (next++ < n) await one(); }));
  }
  // Warm-up: buffers, caches, malloc's arenas and every thread of the pool (each touches its
  // stack) reach their working size; then 200 more requests must not grow the process.
  // Measured: +3-7 % over the first 400 requests (once +5.7 % over the next 200 in CI: glibc's
  // per-thread arenas of the connection threads still growing), then about 0.6 KB per request.
  await wave(800, 12);
  await sleep(500);
  const rss0 = rssKiB(s.proc.pid);
  const t0 = Date.now();
  await wave(200, 12);
  const secs = (Date.now() - t0) / 1000;
  let m = null;
  for (let i = 0; i < 400; i++) {
    m = await metrics(s);
    if (m.ember_requests_in_flight === 0 && m.ember_queue_depth === 0) break;
    await sleep(50);
  }
  const rss1 = rssKiB(s.proc.pid);
  console.log(`     ${done} completed, ${aborted} disconnected, ${errors.length} errors in ${secs.toFixed(1)} s; RSS ${rss0} -> ${rss1} KiB`);
  check(errors.length === 0, 'random requests: no errors but the disconnects', errors.slice(0, 3));
  check(aborted > 20, 'random requests: many clients disconnected', aborted);
  check(m.ember_requests_in_flight === 0 && m.ember_queue_depth === 0, 'after the storm: zero in flight, empty queue', m);
  check(m.ember_requests_cancelled_total > 0, 'disconnects were noticed (cancelled requests)', m.ember_requests_cancelled_total);
  check((await fetch(s.url + '/health')).status === 200, 'after the storm: /health ok');
  check(rss1 <= rss0 * 1.05, 'RSS flat within 5 %', { rss0, rss1 });
  const r = requests[1];
  check(await run(s.client, r, false) === chatReference(STORIES, r.prompt, r.max_tokens, { plain: !r.chat, ctx: 1024 }),
        'after the storm: greedy output unchanged');
  check(await stopServer(s) === 0, 'exit 0');
}
finish();
