"""Ember: run large language models from GGUF files (ctypes bindings for libember).

    model = ember.Model("model.gguf")
    print("".join(model.generate("Once upon a time", max_tokens=32, temperature=0)))
"""
import ctypes
import json
import queue
import threading

from ._lib import (Batch, ChatMessage, EmberError, GenerateParams, GenerateResult, PIECE_CALLBACK, SamplerParams,
                   c_token, check, fetch_string, lib)

try:
    import numpy as _np
except ImportError:  # numpy is optional: lists are returned without it
    _np = None

__all__ = ["EmberError", "Model", "Session", "version", "system_info", "json_schema_to_grammar"]
__version__ = "0.1.0"

_POOLING = {"none": 0, "mean": 1, "last": 2}


def _kv_type(name):
    """The ember_kv_type llama.cpp calls `name`; EmberError listing the names for another."""
    value = ctypes.c_int32()
    check(lib.ember_kv_type_from_name(name.encode(), ctypes.byref(value)))
    return value.value


def version():
    return lib.ember_version_string().decode()


def system_info():
    return lib.ember_system_info().decode()


def json_schema_to_grammar(schema):
    """The GBNF grammar accepting exactly the JSON valid for `schema` (a dict or JSON text).
    Raises EmberError naming the keyword and its JSON pointer for what Ember cannot enforce."""
    text = schema if isinstance(schema, str) else json.dumps(schema)
    data = text.encode("utf-8")
    return fetch_string(lambda buf, size, needed: lib.ember_json_schema_to_grammar(data, buf, size, needed)).decode()


def _floats(ptr, n):
    if _np is not None:
        return _np.ctypeslib.as_array(ptr, shape=(n,)).copy()
    return list(ptr[:n])


class Model:
    """A loaded GGUF model. Share one between many sessions and threads."""

    def __init__(self, path, n_gpu_layers=0, use_mmap=True, vocab_only=False):
        params = lib.ember_model_default_params()
        params.n_gpu_layers = n_gpu_layers
        params.use_mmap = use_mmap
        params.vocab_only = vocab_only
        handle = ctypes.c_void_p()
        check(lib.ember_model_load(str(path).encode(), ctypes.byref(params), ctypes.byref(handle)))
        self._handle = handle

    def close(self):
        if getattr(self, "_handle", None):
            lib.ember_model_free(self._handle)
            self._handle = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def handle(self):
        if not self._handle:
            raise EmberError(1, "the model is closed")
        return self._handle

    @property
    def arch(self):
        return lib.ember_model_arch(self.handle).decode()

    @property
    def n_vocab(self):
        return lib.ember_model_n_vocab(self.handle)

    @property
    def n_embd(self):
        return lib.ember_model_n_embd(self.handle)

    @property
    def n_ctx_train(self):
        return lib.ember_model_n_ctx_train(self.handle)

    @property
    def n_params(self):
        return lib.ember_model_n_params(self.handle)

    @property
    def chat_template(self):
        t = lib.ember_model_chat_template(self.handle)
        return t.decode("utf-8", "replace") if t is not None else None

    @property
    def bos(self):
        return lib.ember_token_bos(self.handle)

    @property
    def eos(self):
        return lib.ember_token_eos(self.handle)

    def meta(self, key):
        return fetch_string(lambda b, n, need: lib.ember_model_meta(self.handle, key.encode(), b, n, need)).decode(
            "utf-8", "replace")

    def tokenize(self, text, add_special=True, parse_special=False):
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        n = ctypes.c_int32(0)
        cap = len(data) + 8
        buf = (c_token * cap)()
        status = lib.ember_tokenize(self.handle, data, len(data), add_special, parse_special, buf, cap, ctypes.byref(n))
        if status == 10:  # buffer too small
            cap = n.value
            buf = (c_token * cap)()
            status = lib.ember_tokenize(self.handle, data, len(data), add_special, parse_special, buf, cap,
                                        ctypes.byref(n))
        check(status)
        return list(buf[:n.value])

    def detokenize(self, tokens, render_special=False):
        arr = (c_token * len(tokens))(*tokens)
        raw = fetch_string(lambda b, n, need: lib.ember_detokenize(self.handle, arr, len(tokens), render_special, b, n,
                                                                    need))
        return raw.decode("utf-8", "replace")

    def token_to_piece(self, token, render_special=False):
        return fetch_string(lambda b, n, need: lib.ember_token_to_piece(self.handle, token, render_special, b, n, need))

    def is_eog(self, token):
        return bool(lib.ember_token_is_eog(self.handle, token))

    def apply_chat_template(self, messages, add_assistant=True, template=None):
        """messages: [{"role": ..., "content": ...}]; template: a built-in name, or None for the model's."""
        encoded = [(m["role"].encode(), m["content"].encode()) for m in messages]
        arr = (ChatMessage * len(encoded))(*[ChatMessage(r, c) for r, c in encoded])
        name = template.encode() if template else None
        raw = fetch_string(lambda b, n, need: lib.ember_chat_apply_template(self.handle, name, arr, len(encoded),
                                                                             add_assistant, b, n, need))
        return raw.decode("utf-8", "replace")

    def generate(self, prompt, max_tokens=128, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05, seed=0,
                 repeat_penalty=1.0, stop=None, n_ctx=0, n_threads=0, parse_special=False, grammar=None,
                 json_schema=None):
        """Yields the text of a completion of `prompt` piece by piece (temperature 0: greedy).
        grammar (GBNF text, start rule "root") or json_schema (a dict or JSON text) constrains
        it; a completion cut by max_tokens or the context before the grammar completed raises
        EmberError after its text was yielded."""
        session = Session(self, n_ctx=n_ctx, n_threads=n_threads)
        yield from session.generate(prompt, max_tokens=max_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                                    min_p=min_p, seed=seed, repeat_penalty=repeat_penalty, stop=stop,
                                    parse_special=parse_special, grammar=grammar, json_schema=json_schema)

    def chat(self, messages, stream=False, template=None, **generate_args):
        """The assistant's reply to a conversation, formatted with the model's chat template."""
        prompt = self.apply_chat_template(messages, add_assistant=True, template=template)
        pieces = self.generate(prompt, parse_special=True, **generate_args)
        return pieces if stream else "".join(pieces)

    def embed(self, text, pooling="mean", n_threads=0):
        """One embedding vector for `text` (mean or last-token pooling of the final hidden states)."""
        tokens = self.tokenize(text)
        session = Session(self, n_ctx=max(len(tokens), 1), embeddings=True, pooling=pooling, n_threads=n_threads)
        session.decode(tokens)
        ptr = ctypes.POINTER(ctypes.c_float)()
        check(lib.ember_session_seq_embeddings(session.handle, 0, ctypes.byref(ptr)))
        return _floats(ptr, self.n_embd)


class Session:
    """A conversation state (KV cache) over a model. Use from one thread at a time."""

    def __init__(self, model, n_ctx=0, n_batch=512, n_threads=0, embeddings=False, pooling="none", kv_f32=False,
                 type_k=None, type_v=None):
        """type_k / type_v: the KV cache's K and V row types by llama.cpp's names ("f16", the
        default, "f32", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"); type_v
        defaults to type_k. kv_f32=True is type_k="f32"."""
        self.model = model
        params = lib.ember_session_default_params()
        params.n_ctx = n_ctx
        params.n_batch = n_batch
        params.n_threads = n_threads
        params.kv_type = _kv_type(type_k if type_k is not None else ("f32" if kv_f32 else "f16"))
        params.kv_type_v = 0 if type_v is None else _kv_type(type_v) + 1
        params.embeddings = embeddings
        if pooling not in _POOLING:
            raise EmberError(1, f"pooling must be one of {sorted(_POOLING)}")
        params.pooling = _POOLING[pooling]
        handle = ctypes.c_void_p()
        check(lib.ember_session_create(model.handle, ctypes.byref(params), ctypes.byref(handle)))
        self._handle = handle

    def close(self):
        if getattr(self, "_handle", None):
            lib.ember_session_free(self._handle)
            self._handle = None

    def __del__(self):
        self.close()

    @property
    def handle(self):
        if not self._handle:
            raise EmberError(1, "the session is closed")
        return self._handle

    @property
    def n_ctx(self):
        return lib.ember_session_n_ctx(self.handle)

    def clear(self):
        check(lib.ember_kv_clear(self.handle))

    def decode(self, tokens, all_outputs=False):
        n = len(tokens)
        arr = (c_token * n)(*tokens)
        batch = Batch()
        batch.struct_size = ctypes.sizeof(Batch)
        batch.n_tokens = n
        batch.tokens = arr
        if all_outputs:
            flags = (ctypes.c_int8 * n)(*([1] * n))
            batch.want_output = flags
        check(lib.ember_decode(self.handle, ctypes.byref(batch)))

    def logits(self, row=-1):
        ptr = ctypes.POINTER(ctypes.c_float)()
        check(lib.ember_session_logits(self.handle, row, ctypes.byref(ptr)))
        return _floats(ptr, self.model.n_vocab)

    def eval(self, tokens, all_logits=False):
        """Decodes tokens after what the session holds; returns the last token's logits, or
        every token's (a [len(tokens), n_vocab] array) with all_logits=True."""
        self.decode(tokens, all_outputs=all_logits)
        if not all_logits:
            return self.logits(-1)
        rows = [self.logits(i) for i in range(len(tokens))]
        return _np.stack(rows) if _np is not None else rows

    def generate(self, prompt, max_tokens=128, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05, seed=0,
                 repeat_penalty=1.0, stop=None, parse_special=False, grammar=None, json_schema=None):
        """Yields the reply to `prompt` (appended to the session) piece by piece; grammar and
        json_schema as for Model.generate."""
        if grammar is not None and json_schema is not None:
            raise EmberError(1, "give grammar or json_schema, not both")
        sp = lib.ember_sampler_default_params()
        sp.seed, sp.temperature, sp.top_k, sp.top_p, sp.min_p = seed, temperature, top_k, top_p, min_p
        sp.penalty_repeat = repeat_penalty
        sampler = ctypes.c_void_p()
        check(lib.ember_sampler_create(ctypes.byref(sp), ctypes.byref(sampler)))
        try:
            if grammar is not None:
                check(lib.ember_sampler_add_grammar(sampler, self.model.handle, grammar.encode("utf-8"), None))
            elif json_schema is not None:
                text = json_schema if isinstance(json_schema, str) else json.dumps(json_schema)
                check(lib.ember_sampler_add_json_schema(sampler, self.model.handle, text.encode("utf-8")))
        except EmberError:
            lib.ember_sampler_free(sampler)
            raise

        pieces = queue.Queue()
        cancelled = threading.Event()
        stops = [s.encode() for s in (stop or [])]
        stop_arr = (ctypes.c_char_p * max(len(stops), 1))(*stops)

        @PIECE_CALLBACK
        def on_piece(ptr, length, _user):
            pieces.put(ctypes.string_at(ptr, length))
            return not cancelled.is_set()

        params = lib.ember_generate_default_params()
        params.max_tokens = max_tokens
        params.parse_special = parse_special
        params.sampler = sampler
        params.stop = stop_arr
        params.n_stop = len(stops)
        params.callback = on_piece
        result = GenerateResult()
        result.struct_size = ctypes.sizeof(GenerateResult)
        outcome = {}
        done = object()

        def run():
            try:
                outcome["status"] = lib.ember_generate(self.handle, prompt.encode("utf-8"), ctypes.byref(params),
                                                       ctypes.byref(result))
                if outcome["status"] != 0:
                    outcome["message"] = (lib.ember_last_error() or b"").decode("utf-8", "replace")
            finally:
                pieces.put(done)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        try:
            while True:
                item = pieces.get()
                if item is done:
                    break
                yield item.decode("utf-8", "replace")
            complete = ctypes.c_bool(True)
            check(lib.ember_sampler_is_complete(sampler, ctypes.byref(complete)))
        finally:
            cancelled.set()
            worker.join()
            lib.ember_sampler_free(sampler)
        if outcome.get("status", 0) != 0:
            raise EmberError(outcome["status"], outcome.get("message") or "generation failed")
        self.last_result = result
        if not complete.value and result.stop_reason in (2, 5):  # EMBER_STOP_MAX_TOKENS, EMBER_STOP_CONTEXT_FULL
            raise EmberError(1, "output ended before the grammar completed")
