// ember-server through the official openai client and curl: greedy output equal to
// ember-chat's, streaming, usage, logprobs, embeddings, every error the server promises,
// disconnects, queue keep-alives and a full queue, prompt-cache reuse, clean shutdown.
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { check, step, finish, startServer, stopServer, curl, chatReference, metrics, rawRequest, postText, sleep,
         STORIES, RANDOM, OpenAI } from './lib.mjs';

const KEY = 'sekret-key';
const CTX = 1024;  // per slot: -c 4096 -np 4
const s = await startServer(['-m', STORIES, '-c', '4096', '-np', '4', '--metrics', '--api-key', KEY,
                             '--alias', 'stories'], { key: KEY });
const auth = { Authorization: `Bearer ${KEY}` };
const api = (p) => s.url + p;

step('models, health, auth');
// --- models, health, auth ---------------------------------------------------------------
const models = await s.client.models.list();
check(models.data.length === 1 && models.data[0].id === 'stories', '/v1/models lists the alias', models.data);
check((await curl(api('/health'), { method: 'GET' })).status === 200, '/health needs no key');
let r = await curl(api('/v1/models'), { method: 'GET' });
check(r.status === 401 && r.json?.error?.type === 'authentication_error', 'no key: 401', r.body);
r = await curl(api('/v1/models'), { method: 'GET', headers: { Authorization: 'Bearer wrong' } });
check(r.status === 401 && r.json?.error?.code === 'invalid_api_key', 'wrong key: 401', r.body);
try {
  await new OpenAI({ baseURL: api('/v1'), apiKey: 'wrong', maxRetries: 0 }).models.list();
  check(false, 'client with a wrong key fails');
} catch (e) { check(e.status === 401, 'client with a wrong key gets 401', e.message); }

step('greedy output');
// --- greedy chat and completions equal ember-chat ---------------------------------------
const chatPrompts = ['Hello', 'Tell me a story about a cat.', 'What is the sky?'];
for (const p of chatPrompts) {
  const ref = chatReference(STORIES, p, 24, { ctx: CTX });
  const c = await s.client.chat.completions.create({ messages: [{ role: 'user', content: p }], temperature: 0, max_tokens: 24 });
  check(c.choices[0].message.content === ref, `chat '${p}' equals ember-chat -p`, { got: c.choices[0].message.content, ref });
  check(c.object === 'chat.completion' && c.choices[0].message.role === 'assistant' && c.model === 'stories',
        'chat response shape', c);
  check(c.usage.prompt_tokens > 0 && c.usage.completion_tokens > 0 &&
        c.usage.total_tokens === c.usage.prompt_tokens + c.usage.completion_tokens, 'chat usage', c.usage);
  check(['stop', 'length'].includes(c.choices[0].finish_reason), 'finish_reason', c.choices[0].finish_reason);
  if (c.usage.completion_tokens === 24) check(c.choices[0].finish_reason === 'length', 'max_tokens reached: length');

  // Streamed: role first, the same text, finish_reason last, one id, usage when asked.
  const stream = await s.client.chat.completions.create({ messages: [{ role: 'user', content: p }], temperature: 0,
    max_tokens: 24, stream: true, stream_options: { include_usage: true } });
  let text = '', first = null, ids = new Set(), finishReason = null, usage = null, afterFinish = 0, n = 0;
  for await (const chunk of stream) {
    n++;
    ids.add(chunk.id);
    if (chunk.usage) usage = chunk.usage;
    if (!chunk.choices.length) continue;
    const ch = chunk.choices[0];
    if (first === null) first = ch.delta;
    if (finishReason) afterFinish++;
    text += ch.delta.content ?? '';
    if (ch.finish_reason) finishReason = ch.finish_reason;
  }
  check(first?.role === 'assistant', 'stream: the role in the first delta', first);
  check(text === ref, `stream: chat '${p}' equals ember-chat -p`, { text, ref });
  check(ids.size === 1 && [...ids][0].startsWith('chatcmpl-'), 'stream: one stable id', [...ids]);
  check(finishReason === c.choices[0].finish_reason && afterFinish === 0, 'stream: finish_reason in the last choice chunk');
  check(usage && usage.prompt_tokens === c.usage.prompt_tokens && usage.completion_tokens === c.usage.completion_tokens,
        'stream: include_usage chunk', usage);
}
const plainPrompts = ['Once upon a time, there was a little', 'The dog'];
for (const p of plainPrompts) {
  const ref = chatReference(STORIES, p, 32, { plain: true, ctx: CTX });
  const c = await s.client.completions.create({ model: 'stories', prompt: p, temperature: 0, max_tokens: 32 });
  check(c.choices[0].text === ref, `completion '${p}' equals ember-chat --no-chat`, { got: c.choices[0].text, ref });
  check(c.object === 'text_completion' && c.usage.completion_tokens > 0, 'completion shape and usage', c.usage);
  const stream = await s.client.completions.create({ prompt: p, temperature: 0, max_tokens: 32, stream: true });
  let text = '', fr = null;
  for await (const chunk of stream) { text += chunk.choices[0]?.text ?? ''; fr = chunk.choices[0]?.finish_reason ?? fr; }
  check(text === ref && fr === c.choices[0].finish_reason, `stream: completion '${p}' equals ember-chat`, { text, ref });
}
// A prompt of token ids gives what the same text gives.
const ids = (await curl(api('/tokenize'), { data: { content: 'The dog', add_special: true }, headers: auth })).json.tokens;
check(Array.isArray(ids) && ids.length > 1, '/tokenize', ids);
const byIds = await s.client.completions.create({ prompt: ids, temperature: 0, max_tokens: 32 });
check(byIds.choices[0].text === chatReference(STORIES, 'The dog', 32, { plain: true, ctx: CTX }), 'token-id prompt');
const detok = await curl(api('/detokenize'), { data: { tokens: ids.slice(1) }, headers: auth });
check(detok.json?.content?.trim() === 'The dog', '/detokenize', detok.body);

step('stop strings, seeds');
// --- stop strings, seeds ------------------------------------------------------------------
const full = chatReference(STORIES, 'Once upon a time, there was a little', 32, { plain: true, ctx: CTX });
const cut = full.indexOf('Lily');
const stopped = await s.client.completions.create({ prompt: 'Once upon a time, there was a little', temperature: 0,
  max_tokens: 32, stop: ['Lily', 'zzz'] });
check(cut > 0 && stopped.choices[0].text === full.slice(0, cut) && stopped.choices[0].finish_reason === 'stop',
      'stop string: text ends before it, finish_reason stop', stopped.choices[0]);
const seeded = async () => (await s.client.completions.create({ prompt: 'The cat', temperature: 1, seed: 42, max_tokens: 24 })).choices[0].text;
const a = await seeded(), b = await seeded();
check(a === b, 'same seed, same sampled text', [a, b]);

step('logprobs');
// --- logprobs -----------------------------------------------------------------------------
const lp = await s.client.chat.completions.create({ messages: [{ role: 'user', content: 'Hello' }], temperature: 0,
  max_tokens: 8, logprobs: true, top_logprobs: 3 });
const content = lp.choices[0].logprobs?.content ?? [];
check(content.length === lp.usage.completion_tokens, 'chat logprobs: one entry per token', content.length);
check(content.every((e) => e.logprob <= 0 && e.top_logprobs.length === 3 && e.top_logprobs[0].token === e.token &&
      Math.abs(e.top_logprobs[0].logprob - e.logprob) < 1e-4 && e.top_logprobs[1].logprob <= e.top_logprobs[0].logprob),
      'chat logprobs: greedy token is the most likely, with top_logprobs', content[0]);
check(content.map((e) => e.token).join('') === lp.choices[0].message.content, 'chat logprobs tokens spell the reply');
const clp = await s.client.completions.create({ prompt: 'The dog', temperature: 0, max_tokens: 6, logprobs: 2 });
const L = clp.choices[0].logprobs;
check(L && L.tokens.length === 6 && L.token_logprobs.every((v) => v <= 0) && L.top_logprobs.every((t) => Object.keys(t).length >= 1),
      'completion logprobs', L);
const slp = await s.client.chat.completions.create({ messages: [{ role: 'user', content: 'Hello' }], temperature: 0,
  max_tokens: 8, logprobs: true, top_logprobs: 3, stream: true });
let streamed = [];
for await (const chunk of slp) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
check(JSON.stringify(streamed.map((e) => [e.token, e.logprob])) === JSON.stringify(content.map((e) => [e.token, e.logprob])),
      'streamed logprobs equal the non-streamed ones');

step('embeddings');
// --- embeddings -------------------------------------------------------------------------
const emb = await s.client.embeddings.create({ input: ['A cat sat.', 'A dog ran far away.'] });  // base64 by default
const norm = (v) => Math.sqrt(v.reduce((x, y) => x + y * y, 0));
check(emb.data.length === 2 && emb.data[0].embedding.length === 64 && Math.abs(norm(emb.data[0].embedding) - 1) < 1e-4,
      'embeddings: two normalised vectors of n_embd', emb.data.map((d) => d.embedding.length));
const embF = await s.client.embeddings.create({ input: 'A cat sat.', encoding_format: 'float' });
check(embF.data[0].embedding.every((x, i) => Math.abs(x - emb.data[0].embedding[i]) < 1e-6), 'embeddings: float equals base64, same input same vector');
check(emb.usage.prompt_tokens > 0, 'embeddings usage');

step('errors');
// --- errors (curl) --------------------------------------------------------------------------
const chatUrl = api('/v1/chat/completions'), compUrl = api('/v1/completions');
const msgs = [{ role: 'user', content: 'Hi' }];
async function expectError(what, url, data, status, param, extra = {}) {
  const res = await curl(url, { data, headers: auth, ...extra });
  const e = res.json?.error;
  check(res.status === status && e && typeof e.message === 'string' && 'type' in e && 'code' in e &&
        (param === undefined || e.param === param), `error: ${what} -> ${status}${param ? ' naming ' + param : ''}`,
        { status: res.status, body: res.body.slice(0, 300) });
  return res;
}
await expectError('invalid JSON', chatUrl, '{"messages": [', 400);
await expectError('body not an object', chatUrl, '[1,2]', 400);
await expectError('messages missing', chatUrl, {}, 400, 'messages');
await expectError('temperature of the wrong type', chatUrl, { messages: msgs, temperature: 'hot' }, 400, 'temperature');
await expectError('temperature out of range', chatUrl, { messages: msgs, temperature: 5 }, 400, 'temperature');
await expectError('max_tokens negative', chatUrl, { messages: msgs, max_tokens: -3 }, 400, 'max_tokens');
await expectError('top_p out of range', compUrl, { prompt: 'a', top_p: 1.5 }, 400, 'top_p');
await expectError('stop of the wrong type', compUrl, { prompt: 'a', stop: 7 }, 400, 'stop');
await expectError('logit_bias unknown token', compUrl, { prompt: 'a', logit_bias: { 99999: 1 } }, 400, 'logit_bias');
await expectError('top_logprobs without logprobs', chatUrl, { messages: msgs, top_logprobs: 2 }, 400, 'top_logprobs');
await expectError('n > 1', chatUrl, { messages: msgs, n: 2 }, 400, 'n');
await expectError('tools', chatUrl, { messages: msgs, tools: [{ type: 'function', function: { name: 'f' } }] }, 400, 'tools');
await expectError('tool_choice', chatUrl, { messages: msgs, tool_choice: 'auto' }, 400, 'tool_choice');
await expectError('response_format of an unknown type', chatUrl, { messages: msgs, response_format: { type: 'xml' } }, 400, 'response_format.type');
await expectError('response_format json_schema without a schema', chatUrl, { messages: msgs, response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 400, 'response_format.json_schema');
r = await expectError('a schema keyword Ember cannot enforce', chatUrl, { messages: msgs,
  response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'string', contentEncoding: 'base64' } } } } } }, 400, 'response_format');
check(/contentEncoding/.test(r.json?.error?.message) && /#\/properties\/a/.test(r.json?.error?.message), 'the 400 names the keyword and its pointer', r.json?.error);
r = await expectError('a malformed grammar', compUrl, { prompt: 'x', grammar: 'root ::= ("a" | ' }, 400, 'grammar');
check(/line 1/.test(r.json?.error?.message), 'the grammar error gives the line', r.json?.error);
await expectError('grammar of the wrong type', compUrl, { prompt: 'x', grammar: 7 }, 400, 'grammar');
await expectError('grammar beside a JSON response_format', chatUrl, { messages: msgs, grammar: 'root ::= "a"', response_format: { type: 'json_object' } }, 400, 'grammar');
await expectError('audio', chatUrl, { messages: msgs, audio: { voice: 'alloy', format: 'wav' } }, 400, 'audio');
await expectError('unknown role', chatUrl, { messages: [{ role: 'tool', content: 'x' }] }, 400, 'messages[0].role');
await expectError('image content part', chatUrl, { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 400, 'messages[0].content[0].type');
await expectError('unknown field', chatUrl, { messages: msgs, frobnicate: 1 }, 400, 'frobnicate');
await expectError('several prompts', compUrl, { prompt: ['a', 'b'] }, 400, 'prompt');
await expectError('token id out of range', compUrl, { prompt: [1, 100000] }, 400, 'prompt');
await expectError('unknown model', chatUrl, { model: 'gpt-9', messages: msgs }, 404, 'model');
await expectError('prompt longer than the context', compUrl, { prompt: 'once upon a time '.repeat(400) }, 400, 'prompt');
const long = await curl(compUrl, { data: { prompt: 'once upon a time '.repeat(400) }, headers: auth });
check(long.json?.error?.code === 'context_length_exceeded', 'prompt too long: code context_length_exceeded');
await expectError('missing key', chatUrl, { messages: msgs }, 401, undefined, { headers: {} });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ember-server-'));
writeFileSync(path.join(tmp, 'big.json'), JSON.stringify({ prompt: 'x'.repeat(5 << 20) }));
await expectError('body over the limit', compUrl, undefined, 413, undefined, { dataFile: path.join(tmp, 'big.json') });
await expectError('no such endpoint', api('/v1/nothing'), {}, 404);
await expectError('embeddings without input', api('/v1/embeddings'), {}, 400, 'input');
await expectError('embeddings dimensions', api('/v1/embeddings'), { input: 'a', dimensions: 3 }, 400, 'dimensions');
// The accepted-and-ignored fields change nothing.
const ignored = await curl(chatUrl, { data: { messages: msgs, temperature: 0, max_tokens: 8, user: 'u', store: false,
  metadata: { a: 'b' }, service_tier: 'auto', parallel_tool_calls: false, stream_options: null }, headers: auth });
check(ignored.status === 200 && ignored.json.choices[0].message.content === chatReference(STORIES, 'Hi', 8, { ctx: CTX }),
      'ignored fields are accepted and change nothing', ignored.body.slice(0, 300));
// The client reports server errors as errors (maxRetries 0: nothing hidden).
try {
  await s.client.chat.completions.create({ messages: msgs, n: 3 });
  check(false, 'client: n = 3 fails');
} catch (e) { check(e.status === 400 && /'n'/.test(e.message), 'client: n = 3 is a 400 naming n', e.message); }

step('structured output');
// --- response_format and the grammar field are enforced exactly ----------------------------
const person = { type: 'object', additionalProperties: false, required: ['name', 'age'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 12 }, age: { type: 'integer', minimum: 0, maximum: 120 } } };
const validPerson = (v) => v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).sort().join() === 'age,name' &&
  typeof v.name === 'string' && v.name.length >= 1 && v.name.length <= 12 && Number.isInteger(v.age) && v.age >= 0 && v.age <= 120;
for (const seed of [1, 2, 3]) {
  const c = await s.client.chat.completions.create({ messages: [{ role: 'user', content: 'Who is the cat?' }], temperature: 1,
    seed, max_tokens: 256, response_format: { type: 'json_schema', json_schema: { name: 'person', schema: person, strict: true } } });
  let v = null;
  try { v = JSON.parse(c.choices[0].message.content); } catch { /* checked below */ }
  check(c.choices[0].finish_reason === 'stop' && validPerson(v), `json_schema reply (seed ${seed}) is a valid document`, c.choices[0]);
}
{
  const stream = await s.client.chat.completions.create({ messages: [{ role: 'user', content: 'Who?' }], temperature: 1, seed: 9,
    max_tokens: 256, stream: true, response_format: { type: 'json_schema', json_schema: { name: 'person', schema: person } } });
  let text = '', reason = null;
  for await (const chunk of stream) if (chunk.choices.length) { text += chunk.choices[0].delta.content ?? ''; reason = chunk.choices[0].finish_reason ?? reason; }
  let v = null;
  try { v = JSON.parse(text); } catch { /* checked below */ }
  check(reason === 'stop' && validPerson(v), 'streamed json_schema reply is a valid document', text);
}
{
  const c = await s.client.chat.completions.create({ messages: [{ role: 'user', content: 'Hello' }], temperature: 1, seed: 4,
    max_tokens: 96, response_format: { type: 'json_object' } });
  const text = c.choices[0].message.content;
  let v = null;
  try { v = JSON.parse(text); } catch { /* checked below */ }
  check(text.startsWith('{') && (c.choices[0].finish_reason === 'length' || (v !== null && typeof v === 'object' && !Array.isArray(v))),
        'json_object reply is an object (or cut by max_tokens)', c.choices[0]);
}
for (const seed of [5, 6]) {
  r = await curl(compUrl, { data: { prompt: 'Is it day?', grammar: 'root ::= ("yes" | "no") "."', temperature: 1, seed, max_tokens: 16 }, headers: auth });
  check(r.status === 200 && ['yes.', 'no.'].includes(r.json?.choices?.[0]?.text) && r.json.choices[0].finish_reason === 'stop',
        `grammar field (seed ${seed}) constrains the completion`, r.body.slice(0, 300));
}

step('disconnects');
// --- disconnects: the server stays healthy and frees the slot ------------------------------
const eos = (await curl(api('/tokenize'), { data: { content: '</s>', parse_special: true }, headers: auth })).json.tokens;
const before = await metrics(s);
{
  const ctl = new AbortController();
  const stream = await s.client.chat.completions.create({ messages: [{ role: 'user', content: 'Tell me a long story.' }],
    temperature: 0, max_tokens: 200, logit_bias: { [eos[0]]: -100 }, stream: true }, { signal: ctl.signal });
  let got = 0;
  try { for await (const chunk of stream) { if (++got === 3) ctl.abort(); } } catch { /* aborted */ }
  check(got >= 3, 'disconnect: the stream was running when the client left');
}
// Malformed clients: a truncated request line, a body shorter than its Content-Length, and
// a stream whose reader vanishes after the first event.
await rawRequest(s.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n', { timeoutMs: 300 });
await rawRequest(s.port, `POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Length: 500\r\n\r\n{"prompt":`, { timeoutMs: 300 });
await rawRequest(s.port, postText('/v1/completions', { prompt: 'The', stream: true, max_tokens: 200, logit_bias: { [eos[0]]: -100 } })
  .replace('\r\n\r\n', `\r\nAuthorization: Bearer ${KEY}\r\n\r\n`), { until: /data: / });
let after = null;
for (let i = 0; i < 400; i++) {
  after = await metrics(s);
  if (after.ember_requests_in_flight === 0 && after.ember_queue_depth === 0) break;
  await sleep(50);
}
check(after.ember_requests_in_flight === 0 && after.ember_queue_depth === 0, 'disconnects: no slot stays busy', after);
check(after.ember_requests_cancelled_total >= before.ember_requests_cancelled_total + 1, 'disconnects: counted as cancelled',
      [before.ember_requests_cancelled_total, after.ember_requests_cancelled_total]);
check((await curl(api('/health'), { method: 'GET' })).status === 200, 'disconnects: /health still ok');
const again = await s.client.chat.completions.create({ messages: [{ role: 'user', content: 'Hello' }], temperature: 0, max_tokens: 24 });
check(again.choices[0].message.content === chatReference(STORIES, 'Hello', 24, { ctx: CTX }), 'disconnects: later output unchanged');

step('prompt-cache reuse');
// --- prompt-cache reuse: a 10-turn chat re-sent in full evaluates only what is new ---------
{
  const history = [{ role: 'system', content: 'You tell short stories.' }];
  const turns = ['Hi', 'Tell me about a dog.', 'What was its name?', 'Where did it live?', 'Did it have a friend?',
                 'What did they play?', 'Was it sunny?', 'What happened next?', 'How did it end?', 'Thank you!'];
  let prevPrompt = 0, ok = true, detail = [];
  for (const t of turns) {
    history.push({ role: 'user', content: t });
    const m0 = await metrics(s);
    const c = await s.client.chat.completions.create({ messages: history, temperature: 0, max_tokens: 12 });
    const m1 = await metrics(s);
    const u = c.usage;
    const evaluated = m1.ember_prompt_tokens_evaluated_total - m0.ember_prompt_tokens_evaluated_total;
    const cached = u.prompt_tokens_details.cached_tokens;
    detail.push({ prompt: u.prompt_tokens, cached, evaluated });
    // Everything of the previous turn's prompt is reused, and only the rest is decoded.
    if (!(cached >= prevPrompt && evaluated === u.prompt_tokens - cached)) ok = false;
    prevPrompt = u.prompt_tokens;
    history.push({ role: 'assistant', content: c.choices[0].message.content });
  }
  check(ok, '10-turn chat: each turn decodes only the tokens after the previous prompt', detail);
  console.log('     cache reuse per turn:', JSON.stringify(detail));
}

step('SIGTERM');
check(await stopServer(s) === 0, 'SIGTERM: exit 0');

step('queue: non-streamed disconnect, pings, full, shutdown');
// --- keep-alive pings in the queue, a full queue, shutdown with requests in flight ----------
{
  // A short grace, so the long request is still running when it ends: the path where the
  // scheduler cancels it and its stream must still get the final error event.
  const q = await startServer(['-m', RANDOM, '-c', '4096', '-np', '1', '--queue', '1', '-t', '1', '--metrics',
                               '--shutdown-grace', '0.3']);
  const body = { prompt: 'the', max_tokens: 3000, temperature: 0, stream: true, logit_bias: { 2: -100 } };  // EOS banned: a long reply
  // Each step waits for the server to be in the state the next one needs (a loaded machine
  // may take a while to admit a request).
  const until = async (what, pred) => {
    for (let i = 0; i < 400; i++) { if (pred(await metrics(q))) return true; await sleep(25); }
    return check(false, `waited for ${what}`);
  };
  // A non-streamed request writes nothing until it is done, so only its socket shows that the
  // client left: the slot must still be freed then, long before the 3000 tokens are made.
  {
    const { connect } = await import('node:net');
    const sock = connect(q.port, '127.0.0.1');
    sock.on('error', () => {});
    sock.write(postText('/v1/completions', { ...body, stream: false }));
    await until('the non-streamed request to hold the slot', (m) => m.ember_requests_in_flight === 1);
    const m0 = await metrics(q);
    sock.destroy();
    await until('the slot to be freed after the non-streamed client left', (m) => m.ember_requests_in_flight === 0);
    const m1 = await metrics(q);
    check(m1.ember_requests_cancelled_total === m0.ember_requests_cancelled_total + 1 &&
          m1.ember_generated_tokens_total < 3000,
          'non-streamed disconnect: the generation stops and is counted as cancelled',
          { before: m0.ember_requests_cancelled_total, after: m1.ember_requests_cancelled_total,
            generated: m1.ember_generated_tokens_total });
  }
  const busy = rawRequest(q.port, postText('/v1/completions', body), { until: /data: \[DONE\]/, timeoutMs: 60000 });
  await until('the long request to hold the slot', (m) => m.ember_requests_in_flight === 1);
  const waiting = rawRequest(q.port, postText('/v1/completions', { ...body, max_tokens: 4 }), { until: /: ping/, timeoutMs: 20000 });
  await until('the second request to wait in the queue', (m) => m.ember_queue_depth === 1);
  const full = await curl(q.url + '/v1/completions', { data: { prompt: 'the', max_tokens: 4 } });
  check(full.status === 503 && full.json?.error?.code === 'queue_full' && full.headers['retry-after'],
        'queue full: 503 with Retry-After', { status: full.status, headers: full.headers, body: full.body });
  const w = await waiting;
  check(/: ping/.test(w), 'a queued stream gets keep-alive comments', w.slice(0, 300));
  // SIGTERM while a request runs: past the grace it is cancelled, its stream still ends with
  // an error event (not a cut connection), and the exit is 0.
  const t0 = Date.now();
  const code = await stopServer(q, 30000);
  const b = await busy;
  check(code === 0 && Date.now() - t0 < 10000, 'SIGTERM with a request in flight: exit 0 within the bound (0.3 s grace)', { code, ms: Date.now() - t0 });
  check(!/data: \[DONE\]/.test(b) && /"code":"shutting_down"/.test(b) && /0\r\n\r\n$/.test(b),
        'the stream still running at the end of the grace ends with the shutting_down error event and a closed chunked body', b.slice(-300));
}

step('--timeout, --api-key-file, SIGINT');
{
  const tmp2 = mkdtempSync(path.join(os.tmpdir(), 'ember-server-key-'));
  writeFileSync(path.join(tmp2, 'key'), 'file-key\n');
  const t = await startServer(['-m', STORIES, '-c', '8192', '-np', '1', '--timeout', '0.5', '--api-key-file', path.join(tmp2, 'key')],
                              { key: 'file-key' });
  const longBody = { prompt: 'The', max_tokens: 8000, temperature: 0, logit_bias: { 2: -100 } };  // EOS banned
  const t0 = Date.now();
  const r1 = await curl(t.url + '/v1/completions', { data: longBody, headers: { Authorization: 'Bearer file-key' } });
  check(r1.status === 504 && r1.json?.error?.code === 'timeout' && Date.now() - t0 < 5000,
        '--timeout: a request past it gets 504', { status: r1.status, ms: Date.now() - t0, body: r1.body.slice(0, 200) });
  const r2 = await curl(t.url + '/v1/completions', { data: { ...longBody, stream: true }, headers: { Authorization: 'Bearer file-key' } });
  check(/data: \{"error":\{[^\n]*"timeout"/.test(r2.body) && !/\[DONE\]/.test(r2.body),
        '--timeout: a stream past it ends with an error event', r2.body.slice(-300));
  check((await curl(t.url + '/v1/models', { method: 'GET', headers: { Authorization: 'Bearer wrong' } })).status === 401,
        '--api-key-file: a wrong key is refused');
  check((await curl(t.url + '/v1/models', { method: 'GET', headers: { Authorization: 'Bearer file-key' } })).status === 200,
        '--api-key-file: the key from the file is accepted');
  t.proc.kill('SIGINT');
  for (let i = 0; i < 300 && !t.exited; i++) await sleep(50);
  check(t.exited?.code === 0, 'SIGINT: exit 0', t.exited);
}

step('health while loading');
// --- /health is 503 until the model has loaded ---------------------------------------------
// The model path is a FIFO: the server listens, then its load blocks in open() until a writer
// comes, so the loading state lasts as long as the test needs; the load then fails (not a
// regular file) and the server exits 1.
{
  const { spawn, execFileSync } = await import('node:child_process');
  const { openSync, closeSync, rmSync, constants } = await import('node:fs');
  const { SERVER } = await import('./lib.mjs');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ember-server-fifo-'));
  const fifo = path.join(dir, 'model.gguf');
  execFileSync('mkfifo', [fifo]);
  const proc = spawn(SERVER, ['-m', fifo, '--port', '0', '-t', '1', '--api-key', KEY], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '', exited = null;
  proc.stderr.on('data', (d) => { log += d; });
  proc.on('exit', (code) => { exited = { code }; });
  for (let i = 0; i < 600 && !/listening on http:\/\/[^:]+:\d+/.test(log) && !exited; i++) await sleep(50);
  const port = Number((/listening on http:\/\/[^:]+:(\d+)/.exec(log) || [])[1]);
  const h = await curl(`http://127.0.0.1:${port}/health`, { method: 'GET' });
  check(h.status === 503 && h.json?.status === 'loading', '/health while loading: 503 {"status":"loading"}', h.body);
  const c = await curl(`http://127.0.0.1:${port}/v1/completions`, { data: { prompt: 'x' }, headers: auth });
  check(c.status === 503 && c.json?.error?.code === 'loading', 'a request while loading: 503 loading', c.body);
  try {  // the load goes on, and fails (non-blocking: a server that is not reading fails here)
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch (e) { check(false, 'the loading server has the FIFO open', e.message); }
  for (let i = 0; i < 200 && !exited; i++) await sleep(50);
  check(exited?.code === 1 && /not a regular file/.test(log), 'a model that fails to load: exit 1 with the reason', { exited, log });
  if (!exited) proc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

step('usage errors');
// --- usage errors and --help ------------------------------------------------------------------
{
  const { spawnSync } = await import('node:child_process');
  const { SERVER } = await import('./lib.mjs');
  check(spawnSync(SERVER, ['--help']).status === 0, '--help: exit 0');
  check(spawnSync(SERVER, []).status === 2, 'no -m: exit 2');
  check(spawnSync(SERVER, ['-m', STORIES, '-np', '0']).status === 2, '-np 0: exit 2');
  check(spawnSync(SERVER, ['-m', STORIES, '--bogus']).status === 2, 'unknown option: exit 2');
  check(spawnSync(SERVER, ['-m', '/nonexistent.gguf', '--port', '0']).status === 1, 'missing model: exit 1');
  check(spawnSync(SERVER, ['-m', STORIES, '--api-key-file', '/nonexistent-key']).status === 2, 'unreadable --api-key-file: exit 2');
  check(spawnSync(SERVER, ['-m', STORIES, '--timeout', '-1']).status === 2, 'negative --timeout: exit 2');
  check(spawnSync(SERVER, ['-m', STORIES, '--shutdown-grace', 'soon']).status === 2, 'bad --shutdown-grace: exit 2');
}
finish();
