"""The Python binding as a user meets it: a model, tokens, sessions, streaming, chat, embeddings."""
import os

import pytest

import ember

SHARED = os.environ.get("EMBER_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared"))
STORIES = os.path.join(SHARED, "models", "stories260K.gguf")
QWEN = os.path.join(SHARED, "models", "micro-qwen2-F16.gguf")
PROMPT = "Once upon a time, there was a little"
GREEDY = " girl named Lily. She loved to play outside"  # llama.cpp's 16 greedy tokens


@pytest.fixture(scope="module")
def model():
    with ember.Model(STORIES) as m:
        yield m


def test_version_and_system_info():
    assert ember.version() == ember.__version__
    assert "CPU" in ember.system_info()


def test_model_facts(model):
    assert model.arch == "llama"
    assert model.n_vocab == 512
    assert model.n_embd == 64
    assert model.n_ctx_train == 128
    assert model.meta("llama.block_count") == "5"
    assert model.chat_template is None
    assert model.bos == 1 and model.eos == 2


def test_tokenize_round_trip(model):
    ids = model.tokenize(PROMPT)
    assert ids[0] == model.bos and len(ids) == 10
    assert model.detokenize(ids[1:]) == PROMPT
    assert model.tokenize("", add_special=False) == []


def test_greedy_generation_streams_reference_text(model):
    pieces = list(model.generate(PROMPT, max_tokens=16, temperature=0))
    assert len(pieces) > 1
    assert "".join(pieces) == GREEDY


def test_stop_strings_and_early_close(model):
    assert "".join(model.generate(PROMPT, max_tokens=16, temperature=0, stop=["Lily"])) == " girl named "
    gen = model.generate(PROMPT, max_tokens=16, temperature=0)
    first = next(gen)
    gen.close()  # stops the generation thread cleanly
    assert GREEDY.startswith(first)


def test_seeded_sampling_is_reproducible(model):
    a = "".join(model.generate(PROMPT, max_tokens=24, temperature=1.0, seed=7))
    b = "".join(model.generate(PROMPT, max_tokens=24, temperature=1.0, seed=7))
    assert a == b and a


def test_session_eval_returns_logits(model):
    session = ember.Session(model, n_ctx=64)
    logits = session.eval(model.tokenize(PROMPT))
    assert len(logits) == 512
    assert int(max(range(512), key=lambda i: logits[i])) == 298  # " girl"
    all_logits = ember.Session(model, n_ctx=64).eval(model.tokenize(PROMPT), all_logits=True)
    assert len(all_logits) == 10
    try:
        import numpy
        assert isinstance(logits, numpy.ndarray)
        assert all_logits.shape == (10, 512)
    except ImportError:
        pass


def test_kv_cache_types():
    tiny = ember.Model(os.path.join(SHARED, "models", "tiny-stories-F16.gguf"))
    tokens = tiny.tokenize(PROMPT)
    base = ember.Session(tiny, n_ctx=64).eval(tokens)
    best = max(range(len(base)), key=lambda i: base[i])
    for k, v in [("q8_0", None), ("f16", "q4_0"), ("bf16", "f32")]:
        logits = ember.Session(tiny, n_ctx=64, type_k=k, type_v=v).eval(tokens)
        assert max(range(len(logits)), key=lambda i: logits[i]) == best
        assert logits[best] == pytest.approx(base[best], rel=0.05)
    with pytest.raises(ember.EmberError, match="q8_0"):
        ember.Session(tiny, type_k="q4_k")
    with pytest.raises(ember.EmberError, match="multiple of 32"):  # stories260K's heads hold 8 values
        ember.Session(ember.Model(STORIES), type_v="q8_0")


def test_errors_raise_ember_error(model, tmp_path):
    with pytest.raises(ember.EmberError, match="nonexistent"):
        ember.Model(str(tmp_path / "nonexistent.gguf"))
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 32)
    with pytest.raises(ember.EmberError) as info:
        ember.Model(str(bad))
    assert info.value.status == 3  # EMBER_ERR_BAD_FORMAT
    session = ember.Session(model, n_ctx=8)
    with pytest.raises(ember.EmberError, match="context"):
        session.eval(list(range(3, 20)))
    with pytest.raises(ember.EmberError, match="outside the vocabulary"):
        session.eval([100000])


def test_chat_with_a_template(model):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    prompt = model.apply_chat_template(messages, template="chatml")
    assert prompt.endswith("<|im_start|>assistant\n")
    with ember.Model(QWEN) as qwen:
        assert qwen.apply_chat_template(messages).startswith("<|im_start|>system")
        reply = qwen.chat(messages, max_tokens=4, temperature=0)
        assert isinstance(reply, str)
    streamed = list(model.chat(messages, stream=True, max_tokens=4, temperature=0, template="chatml"))
    assert isinstance(streamed, list)


def test_embed(model):
    vec = model.embed("a little girl")
    assert len(vec) == 64
    assert any(abs(float(x)) > 0 for x in vec)


@pytest.mark.parametrize("n_gpu_layers", [2, -1])
def test_offloaded_layers_give_the_same_results(model, monkeypatch, n_gpu_layers):
    # EMBER_TEST_DEVICE=cpu-copy plays the GPU: the split runs the whole offload path and must
    # not change a bit.
    base = ember.Session(model, n_ctx=64).eval(model.tokenize(PROMPT), all_logits=True)
    monkeypatch.setenv("EMBER_TEST_DEVICE", "cpu-copy")
    with ember.Model(STORIES, n_gpu_layers=n_gpu_layers) as split:
        logits = ember.Session(split, n_ctx=64).eval(split.tokenize(PROMPT), all_logits=True)
        assert [list(row) for row in logits] == [list(row) for row in base]
        assert "".join(split.generate(PROMPT, max_tokens=16, temperature=0)) == GREEDY
    monkeypatch.setenv("EMBER_TEST_DEVICE", "bogus")
    with pytest.raises(ember.EmberError, match="cpu-copy"):
        ember.Model(STORIES, n_gpu_layers=n_gpu_layers)


def test_generate_with_a_json_schema(model):
    import json
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 9},
                                               "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2}},
              "required": ["n", "tags"], "additionalProperties": False}
    for seed in (1, 2, 3):
        doc = json.loads("".join(model.generate("Once upon a time", max_tokens=200, temperature=1.0, seed=seed,
                                                json_schema=schema)))
        assert set(doc) == {"n", "tags"} and 0 <= doc["n"] <= 9
        assert len(doc["tags"]) <= 2 and all(t in ("a", "b") for t in doc["tags"])


def test_generate_with_a_grammar(model):
    text = "".join(model.generate("Once upon a time", max_tokens=100, temperature=1.0, seed=4,
                                  grammar='root ::= ("yes" | "no") ("," ("yes" | "no")){0,3} "."'))
    words = text[:-1].split(",")
    assert text.endswith(".") and 1 <= len(words) <= 4 and all(w in ("yes", "no") for w in words)


def test_grammar_errors(model):
    with pytest.raises(ember.EmberError, match="line 1, column 10"):
        list(model.generate("x", grammar="root ::= ["))
    with pytest.raises(ember.EmberError, match="'uniqueItems' at #/properties/a"):
        list(model.generate("x", json_schema={"properties": {"a": {"uniqueItems": True}}}))
    with pytest.raises(ember.EmberError, match="output ended before the grammar completed"):
        list(model.generate("x", max_tokens=3, temperature=1.0, grammar='root ::= "a"{50}'))
    assert ember.json_schema_to_grammar({"type": "boolean"}).startswith("root ::= ")
    with pytest.raises(ember.EmberError, match="format 'email'"):
        ember.json_schema_to_grammar('{"type": "string", "format": "email"}')
