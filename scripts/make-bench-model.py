#!/usr/bin/python3
"""Writes a random-weight Llama (or Qwen3-MoE) checkpoint in Hugging Face form (config.json, F16
model.safetensors, stories260K's tokenizer) large enough for end-to-end speed measurements: the
shared models are a few MB, so their timings measure overheads, not the kernels.

usage: make-bench-model.py OUT_DIR [--hidden 2048] [--layers 8] [--ffn 5632] [--heads 16] [--kv-heads 4]
       make-bench-model.py OUT_DIR --arch qwen3moe [--experts 64] [--experts-used 8] [--expert-ffn 512]
       (the MoE speed floor: --hidden 1024 --layers 16 --heads 16 --kv-heads 4, about 1.7B parameters)
Then: ember-convert OUT_DIR -o bench-f16.gguf --outtype f16, and ember-quantize it."""
import argparse
import json
import os
import shutil
import struct

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--hidden", type=int, default=2048)
parser.add_argument("--layers", type=int, default=8)
parser.add_argument("--ffn", type=int, default=5632)
parser.add_argument("--heads", type=int, default=16)
parser.add_argument("--kv-heads", type=int, default=4)
parser.add_argument("--arch", choices=["llama", "qwen3moe"], default="llama")
parser.add_argument("--experts", type=int, default=64)
parser.add_argument("--experts-used", type=int, default=8)
parser.add_argument("--expert-ffn", type=int, default=512)
parser.add_argument("--head-dim", type=int, default=0, help="default hidden / heads")
args = parser.parse_args()
moe = args.arch == "qwen3moe"

here = os.path.dirname(os.path.abspath(__file__))
tokenizer_dir = os.path.join(here, "..", "..", "shared", "models", "stories260K-hf")
vocab = 512
head_dim = args.head_dim or args.hidden // args.heads
os.makedirs(args.out, exist_ok=True)
for name in ("tokenizer.model", "tokenizer_config.json"):
    shutil.copy(os.path.join(tokenizer_dir, name), os.path.join(args.out, name))
config = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": args.hidden,
    "intermediate_size": args.ffn, "num_hidden_layers": args.layers, "num_attention_heads": args.heads,
    "num_key_value_heads": args.kv_heads, "vocab_size": vocab, "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False, "bos_token_id": 1,
    "eos_token_id": 2, "hidden_act": "silu", "torch_dtype": "float16", "head_dim": head_dim,
}
if moe:
    config.update({"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "rope_theta": 1000000.0,
                   "num_experts": args.experts, "num_experts_per_tok": args.experts_used,
                   "moe_intermediate_size": args.expert_ffn, "norm_topk_prob": True, "rms_norm_eps": 1e-6})
with open(os.path.join(args.out, "config.json"), "w") as f:
    json.dump(config, f, indent=2)

shapes = {"model.embed_tokens.weight": (vocab, args.hidden), "model.norm.weight": (args.hidden,),
          "lm_head.weight": (vocab, args.hidden)}
for i in range(args.layers):
    p = f"model.layers.{i}."
    shapes.update({
        p + "input_layernorm.weight": (args.hidden,), p + "post_attention_layernorm.weight": (args.hidden,),
        p + "self_attn.q_proj.weight": (args.heads * head_dim, args.hidden),
        p + "self_attn.k_proj.weight": (args.kv_heads * head_dim, args.hidden),
        p + "self_attn.v_proj.weight": (args.kv_heads * head_dim, args.hidden),
        p + "self_attn.o_proj.weight": (args.hidden, args.heads * head_dim),
    })
    if not moe:
        shapes.update({p + "mlp.gate_proj.weight": (args.ffn, args.hidden), p + "mlp.up_proj.weight": (args.ffn, args.hidden),
                       p + "mlp.down_proj.weight": (args.hidden, args.ffn)})
        continue
    shapes.update({p + "self_attn.q_norm.weight": (head_dim,), p + "self_attn.k_norm.weight": (head_dim,),
                   p + "mlp.gate.weight": (args.experts, args.hidden)})
    for e in range(args.experts):
        q = f"{p}mlp.experts.{e}."
        shapes.update({q + "gate_proj.weight": (args.expert_ffn, args.hidden), q + "up_proj.weight": (args.expert_ffn, args.hidden),
                       q + "down_proj.weight": (args.hidden, args.expert_ffn)})

# safetensors: u64 header length, JSON header (dtype, shape, data_offsets), then the data.
rng = np.random.default_rng(1234)
header, offset = {}, 0
for name, shape in shapes.items():
    size = int(np.prod(shape)) * 2
    header[name] = {"dtype": "F16", "shape": list(shape), "data_offsets": [offset, offset + size]}
    offset += size
blob = json.dumps(header).encode()
blob += b" " * (-len(blob) % 8)
with open(os.path.join(args.out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(blob)))
    f.write(blob)
    for name, shape in shapes.items():
        if len(shape) == 1:
            data = np.ones(shape, dtype=np.float16)
        else:
            data = (rng.standard_normal(shape, dtype=np.float32) * (1.0 / np.sqrt(shape[1]))).astype(np.float16)
        f.write(data.tobytes())
print(f"{args.out}: {sum(int(np.prod(s)) for s in shapes.values()) / 1e6:.1f}M parameters")
