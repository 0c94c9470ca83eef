"""Loading libember and declaring the C functions the bindings use."""
import ctypes
import ctypes.util
import glob
import os

c_token = ctypes.c_int32


class EmberError(Exception):
    """A failed Ember call: `status` is the ember_status code, the message says why."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class ModelParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_gpu_layers", ctypes.c_int32), ("use_mmap", ctypes.c_bool),
                ("use_mlock", ctypes.c_bool), ("vocab_only", ctypes.c_bool), ("progress_callback", ctypes.c_void_p),
                ("progress_user_data", ctypes.c_void_p)]


class SessionParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_ctx", ctypes.c_uint32), ("n_batch", ctypes.c_uint32),
                ("n_seq_max", ctypes.c_uint32), ("n_threads", ctypes.c_int32), ("kv_type", ctypes.c_int32),
                ("embeddings", ctypes.c_bool), ("kv_type_v", ctypes.c_uint8), ("pooling", ctypes.c_int32), ("abort_callback", ctypes.c_void_p),
                ("abort_user_data", ctypes.c_void_p)]


class SamplerParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("seed", ctypes.c_uint32), ("temperature", ctypes.c_float),
                ("top_k", ctypes.c_int32), ("top_p", ctypes.c_float), ("min_p", ctypes.c_float),
                ("typical_p", ctypes.c_float), ("penalty_last_n", ctypes.c_int32), ("penalty_repeat", ctypes.c_float),
                ("penalty_frequency", ctypes.c_float), ("penalty_presence", ctypes.c_float)]


class Batch(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_tokens", ctypes.c_int32), ("tokens", ctypes.POINTER(c_token)),
                ("positions", ctypes.POINTER(ctypes.c_int32)), ("seq_ids", ctypes.POINTER(ctypes.c_int32)),
                ("want_output", ctypes.POINTER(ctypes.c_int8))]


PIECE_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)


class GenerateParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("max_tokens", ctypes.c_int32), ("add_special", ctypes.c_bool),
                ("parse_special", ctypes.c_bool), ("sampler", ctypes.c_void_p),
                ("stop", ctypes.POINTER(ctypes.c_char_p)), ("n_stop", ctypes.c_size_t), ("callback", PIECE_CALLBACK),
                ("user_data", ctypes.c_void_p)]


class GenerateResult(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_prompt_tokens", ctypes.c_int32), ("n_generated", ctypes.c_int32),
                ("stop_reason", ctypes.c_int32), ("prompt_seconds", ctypes.c_double),
                ("generate_seconds", ctypes.c_double)]


class ChatMessage(ctypes.Structure):
    _fields_ = [("role", ctypes.c_char_p), ("content", ctypes.c_char_p)]


def _candidates():
    env = os.environ.get("EMBER_LIBRARY")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    yield from sorted(glob.glob(os.path.join(here, "libember.so*")))
    found = ctypes.util.find_library("ember")
    if found:
        yield found
    yield "libember.so.0"


def load_library():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise OSError("cannot find libember (set EMBER_LIBRARY to its path): " + "; ".join(errors))


lib = load_library()

_S = ctypes.c_int  # ember_status
_P = ctypes.c_void_p
_SIGNATURES = {
    "ember_version": (ctypes.c_uint32, []),
    "ember_version_string": (ctypes.c_char_p, []),
    "ember_status_string": (ctypes.c_char_p, [_S]),
    "ember_last_error": (ctypes.c_char_p, []),
    "ember_system_info": (ctypes.c_char_p, []),
    "ember_model_default_params": (ModelParams, []),
    "ember_model_load": (_S, [ctypes.c_char_p, ctypes.POINTER(ModelParams), ctypes.POINTER(_P)]),
    "ember_model_free": (None, [_P]),
    "ember_model_arch": (ctypes.c_char_p, [_P]),
    "ember_model_n_params": (ctypes.c_uint64, [_P]),
    "ember_model_n_vocab": (ctypes.c_int32, [_P]),
    "ember_model_n_embd": (ctypes.c_int32, [_P]),
    "ember_model_n_ctx_train": (ctypes.c_int32, [_P]),
    "ember_model_chat_template": (ctypes.c_char_p, [_P]),
    "ember_model_meta": (_S, [_P, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
    "ember_tokenize": (_S, [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_bool, ctypes.c_bool, ctypes.POINTER(c_token),
                            ctypes.c_int32, ctypes.POINTER(ctypes.c_int32)]),
    "ember_detokenize": (_S, [_P, ctypes.POINTER(c_token), ctypes.c_int32, ctypes.c_bool, ctypes.c_char_p,
                              ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
    "ember_token_to_piece": (_S, [_P, c_token, ctypes.c_bool, ctypes.c_char_p, ctypes.c_size_t,
                                  ctypes.POINTER(ctypes.c_size_t)]),
    "ember_token_bos": (c_token, [_P]),
    "ember_token_eos": (c_token, [_P]),
    "ember_token_is_eog": (ctypes.c_bool, [_P, c_token]),
    "ember_session_default_params": (SessionParams, []),
    "ember_kv_type_from_name": (_S, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int32)]),
    "ember_session_create": (_S, [_P, ctypes.POINTER(SessionParams), ctypes.POINTER(_P)]),
    "ember_session_free": (None, [_P]),
    "ember_session_n_ctx": (ctypes.c_uint32, [_P]),
    "ember_decode": (_S, [_P, ctypes.POINTER(Batch)]),
    "ember_session_logits": (_S, [_P, ctypes.c_int32, ctypes.POINTER(ctypes.POINTER(ctypes.c_float))]),
    "ember_session_seq_embeddings": (_S, [_P, ctypes.c_int32, ctypes.POINTER(ctypes.POINTER(ctypes.c_float))]),
    "ember_kv_clear": (_S, [_P]),
    "ember_kv_seq_pos_max": (ctypes.c_int32, [_P, ctypes.c_int32]),
    "ember_sampler_default_params": (SamplerParams, []),
    "ember_sampler_create": (_S, [ctypes.POINTER(SamplerParams), ctypes.POINTER(_P)]),
    "ember_sampler_free": (None, [_P]),
    "ember_sampler_add_grammar": (_S, [_P, _P, ctypes.c_char_p, ctypes.c_char_p]),
    "ember_sampler_add_json_schema": (_S, [_P, _P, ctypes.c_char_p]),
    "ember_sampler_is_complete": (_S, [_P, ctypes.POINTER(ctypes.c_bool)]),
    "ember_json_schema_to_grammar": (_S, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t,
                                          ctypes.POINTER(ctypes.c_size_t)]),
    "ember_generate_default_params": (GenerateParams, []),
    "ember_generate": (_S, [_P, ctypes.c_char_p, ctypes.POINTER(GenerateParams), ctypes.POINTER(GenerateResult)]),
    "ember_chat_apply_template": (_S, [_P, ctypes.c_char_p, ctypes.POINTER(ChatMessage), ctypes.c_size_t, ctypes.c_bool,
                                       ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
}
for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes

# The struct layouts above must match the library's: a mismatch would corrupt memory.
for _ctor, _cls in (("ember_model_default_params", ModelParams), ("ember_session_default_params", SessionParams),
                    ("ember_sampler_default_params", SamplerParams), ("ember_generate_default_params", GenerateParams)):
    _size = getattr(lib, _ctor)().struct_size
    if _size != ctypes.sizeof(_cls):
        raise OSError(f"libember's {_cls.__name__} is {_size} bytes, these bindings expect {ctypes.sizeof(_cls)}")


def check(status):
    if status != 0:
        message = (lib.ember_last_error() or b"").decode("utf-8", "replace")
        if not message:
            message = lib.ember_status_string(status).decode()
        raise EmberError(status, message)


def fetch_string(fill):
    """Calls fill(buf, size, needed_ptr) with a buffer that grows until the text fits."""
    needed = ctypes.c_size_t(0)
    buf = ctypes.create_string_buffer(256)
    status = fill(buf, len(buf), ctypes.byref(needed))
    if status == 10:  # EMBER_ERR_BUFFER_TOO_SMALL
        buf = ctypes.create_string_buffer(needed.value + 1)
        status = fill(buf, len(buf), ctypes.byref(needed))
    check(status)
    return buf.raw[:needed.value]
