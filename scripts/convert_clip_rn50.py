#!/usr/bin/env python3
"""Converts OpenAI's CLIP ResNet checkpoint (RN50.pt) into the safetensors folder CLIP-IQA reads.

    pip install torch safetensors
    python scripts/convert_clip_rn50.py ~/.cache/clip/RN50.pt "$MISC_METRIC_MODELS/clip-rn50"

The source is OpenAI's TorchScript archive (what `clip.load("RN50")` and pyiqa download, SHA-256
afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762) or a plain state dict of the same
model (`torch.save(model.state_dict())`). Anything else is refused with the reason.

The folder (docs/METRICS.md):
  config.json        the architecture: `vision_config` (ModifiedResNet: layers, width, heads, image_size,
                     output_dim), `text_config` in Hugging Face's keys (CLIPConfiguration reads it),
                     `projection_dim`, `_name_or_path` (the model id reports print), the source's SHA-256.
  model.safetensors  `visual.*` under OpenAI's names, unchanged; the text tower renamed to Hugging Face's
                     layout (`text_model.*`, `text_projection.weight` transposed, the fused attention input
                     projection split into q/k/v); `logit_scale` (the log, as stored). Dtypes are kept (the
                     official file is float16 for convolutions and linear layers), so nothing is rounded.
  vocab.json, merges.txt  CLIP's BPE vocabulary, built from bpe_simple_vocab_16e6.txt.gz (found in an
                     installed `clip` or `open_clip` package, or given with --bpe).

scripts/convert_weights.py recognises RN50.pt too (`python scripts/convert_weights.py --out DIR RN50.pt`
writes DIR/clip-rn50) through `recognise_clip_rn50` and `clip_rn50_folder` below.
"""
import argparse
import gzip
import hashlib
import importlib.util
import json
import os
import sys

OPENAI_RN50_SHA256 = "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762"
REQUIRED = ["visual.conv1.weight", "visual.layer1.0.conv1.weight", "visual.attnpool.positional_embedding",
            "visual.attnpool.c_proj.weight", "token_embedding.weight", "positional_embedding",
            "transformer.resblocks.0.attn.in_proj_weight", "ln_final.weight", "text_projection", "logit_scale"]


def load_state_dict(path):
    """A TorchScript archive's state dict, else a pickled state dict (tensors only)."""
    import torch
    try:
        return {k: v for k, v in torch.jit.load(path, map_location="cpu").state_dict().items()}
    except RuntimeError:
        pass
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise SystemExit(f"{path}: neither a TorchScript archive nor a state dict")
    return state


def sha256(path):
    if not os.path.isfile(path):
        return None  # generated weights (--random)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_bpe(explicit):
    if explicit:
        return explicit
    for package in ("clip", "open_clip"):
        spec = importlib.util.find_spec(package)
        if spec and spec.origin:
            candidate = os.path.join(os.path.dirname(spec.origin), "bpe_simple_vocab_16e6.txt.gz")
            if os.path.isfile(candidate):
                return candidate
    raise SystemExit("no bpe_simple_vocab_16e6.txt.gz: pip install openai-clip (or open_clip_torch), or pass --bpe")


def byte_alphabet():
    """The printable stand-in of each byte, as GPT-2's and CLIP's byte-level BPE map them."""
    printable = [b for b in range(256) if (33 <= b <= 126) or (161 <= b <= 172) or (174 <= b <= 255)]
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in sorted(table, key=lambda b: (b not in printable, printable.index(b) if b in printable else b))]


def vocabulary_files(bpe_path, vocab_size):
    """{"vocab.json": text, "merges.txt": text}: bytes, bytes + </w>, the merges, then the two special tokens."""
    lines = gzip.open(bpe_path).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1:vocab_size - 512 - 2 + 1]]
    symbols = byte_alphabet()
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    if len(tokens) != vocab_size:
        raise SystemExit(f"{bpe_path}: builds {len(tokens)} tokens, the checkpoint has {vocab_size}")
    return {"vocab.json": json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False),
            "merges.txt": "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)}


def random_clip_rn50_state(seed, layers=(3, 4, 6, 3), width=64, embed=1024, text_width=512, text_layers=12,
                           vocab_size=49408, context=77):
    """An OpenAI-layout state dict of RN50's shapes with seeded random values, float32, for benchmarks
    (speed does not depend on the weights). Batch norms get unit variance so activations stay finite."""
    import torch
    generator = torch.Generator().manual_seed(seed)
    state = {}

    def tensor(name, *shape, scale=None):
        fan_in = max(1, int(torch.tensor(shape[1:]).prod())) if len(shape) > 1 else 1
        state[name] = (torch.rand(shape, generator=generator) * 2 - 1) * (scale if scale is not None else fan_in ** -0.5)

    def norm(prefix, channels):
        state[f"{prefix}.weight"], state[f"{prefix}.bias"] = torch.ones(channels), torch.zeros(channels)
        state[f"{prefix}.running_mean"], state[f"{prefix}.running_var"] = torch.zeros(channels), torch.ones(channels)

    for i, (cin, cout) in enumerate([(3, width // 2), (width // 2, width // 2), (width // 2, width)], 1):
        tensor(f"visual.conv{i}.weight", cout, cin, 3, 3)
        norm(f"visual.bn{i}", cout)
    inputs = width
    for stage, blocks in enumerate(layers):
        planes = width << stage
        for block in range(blocks):
            prefix = f"visual.layer{stage + 1}.{block}"
            tensor(f"{prefix}.conv1.weight", planes, inputs, 1, 1)
            tensor(f"{prefix}.conv2.weight", planes, planes, 3, 3)
            tensor(f"{prefix}.conv3.weight", planes * 4, planes, 1, 1)
            for k, channels in ((1, planes), (2, planes), (3, planes * 4)):
                norm(f"{prefix}.bn{k}", channels)
            if block == 0:
                tensor(f"{prefix}.downsample.0.weight", planes * 4, inputs, 1, 1)
                norm(f"{prefix}.downsample.1", planes * 4)
            inputs = planes * 4
    channels = width * 32
    tensor("visual.attnpool.positional_embedding", 50, channels, scale=channels ** -0.5)
    for name, outputs in (("q_proj", channels), ("k_proj", channels), ("v_proj", channels), ("c_proj", embed)):
        tensor(f"visual.attnpool.{name}.weight", outputs, channels)
        tensor(f"visual.attnpool.{name}.bias", outputs, scale=0.01)
    tensor("token_embedding.weight", vocab_size, text_width, scale=0.02)
    tensor("positional_embedding", context, text_width, scale=0.01)
    for i in range(text_layers):
        prefix = f"transformer.resblocks.{i}"
        tensor(f"{prefix}.attn.in_proj_weight", 3 * text_width, text_width)
        tensor(f"{prefix}.attn.in_proj_bias", 3 * text_width, scale=0.01)
        tensor(f"{prefix}.attn.out_proj.weight", text_width, text_width)
        tensor(f"{prefix}.attn.out_proj.bias", text_width, scale=0.01)
        tensor(f"{prefix}.mlp.c_fc.weight", 4 * text_width, text_width)
        tensor(f"{prefix}.mlp.c_fc.bias", 4 * text_width, scale=0.01)
        tensor(f"{prefix}.mlp.c_proj.weight", text_width, 4 * text_width)
        tensor(f"{prefix}.mlp.c_proj.bias", text_width, scale=0.01)
        for ln in ("ln_1", "ln_2"):
            state[f"{prefix}.{ln}.weight"], state[f"{prefix}.{ln}.bias"] = torch.ones(text_width), torch.zeros(text_width)
    state["ln_final.weight"], state["ln_final.bias"] = torch.ones(text_width), torch.zeros(text_width)
    tensor("text_projection", text_width, embed, scale=text_width ** -0.5)
    state["logit_scale"] = torch.tensor(4.6052)
    return state


def recognise_clip_rn50(state):
    """An OpenAI CLIP with a ModifiedResNet image tower (RN50, RN101, RN50x4, ...)."""
    return all(k in state for k in REQUIRED) and "visual.proj" not in state


def clip_rn50_folder(state, source, bpe=None, text_heads=None, name=None):
    """(tensors, config, files, summary) of the clip-rn50 folder for an OpenAI CLIP ResNet state dict;
    ValueError says why a state dict is refused."""
    if "visual.proj" in state or "visual.class_embedding" in state:
        raise ValueError(f"{source}: a ViT CLIP; ClipSIM reads ViTs from a Hugging Face folder, CLIP-IQA needs the ResNet (RN50.pt)")
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise ValueError(f"{source}: not an OpenAI CLIP ResNet checkpoint (missing {', '.join(missing)})")

    layers = [len({k.split(".")[2] for k in state if k.startswith(f"visual.layer{b}.")}) for b in (1, 2, 3, 4)]
    width = state["visual.layer1.0.conv1.weight"].shape[0]
    positions = state["visual.attnpool.positional_embedding"].shape[0]
    grid = round((positions - 1) ** 0.5)
    if grid * grid + 1 != positions:
        raise ValueError(f"{source}: attnpool.positional_embedding has {positions} rows, not a square grid + 1")
    embed = state["text_projection"].shape[1]
    text_width = state["ln_final.weight"].shape[0]
    text_layers = len({k.split(".")[2] for k in state if k.startswith("transformer.resblocks.")})
    heads = text_heads or text_width // 64  # OpenAI's rule for the text tower
    if heads < 1 or text_width % heads:
        raise ValueError(f"{source}: text width {text_width} does not split into {heads} heads of 64; give --text-heads")
    vision_heads = width * 32 // 64          # and for the attention pool
    vocab_size, context = state["token_embedding.weight"].shape[0], state["positional_embedding"].shape[0]

    out = {}
    for key, value in state.items():
        if key.startswith("visual.") and not key.endswith("num_batches_tracked"):
            out[key] = value
    out["text_model.embeddings.token_embedding.weight"] = state["token_embedding.weight"]
    out["text_model.embeddings.position_embedding.weight"] = state["positional_embedding"]
    renames = {"attn.out_proj": "self_attn.out_proj", "ln_1": "layer_norm1", "ln_2": "layer_norm2",
               "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}
    for i in range(text_layers):
        src, dst = f"transformer.resblocks.{i}", f"text_model.encoder.layers.{i}"
        weights = state[f"{src}.attn.in_proj_weight"].chunk(3, 0)
        biases = state[f"{src}.attn.in_proj_bias"].chunk(3, 0)
        for part, w, b in zip("qkv", weights, biases):
            out[f"{dst}.self_attn.{part}_proj.weight"], out[f"{dst}.self_attn.{part}_proj.bias"] = w, b
        for old, new in renames.items():
            out[f"{dst}.{new}.weight"], out[f"{dst}.{new}.bias"] = state[f"{src}.{old}.weight"], state[f"{src}.{old}.bias"]
    out["text_model.final_layer_norm.weight"], out["text_model.final_layer_norm.bias"] = state["ln_final.weight"], state["ln_final.bias"]
    out["text_projection.weight"] = state["text_projection"].t()
    out["logit_scale"] = state["logit_scale"].reshape([])
    out = {k: v.detach().contiguous().clone() for k, v in out.items()}

    digest = sha256(source)
    model_id = name or ("openai/RN50" if digest == OPENAI_RN50_SHA256 else os.path.splitext(os.path.basename(source))[0])
    digest_text = digest[:12] + "…" if digest else "generated"
    config = {
        "model_type": "openai-clip-modified-resnet",
        "_name_or_path": model_id,
        "source": os.path.basename(source),
        "source_sha256": digest,
        "projection_dim": embed,
        "vision_config": {"layers": layers, "width": width, "heads": vision_heads, "image_size": grid * 32,
                          "output_dim": embed},
        "text_config": {"vocab_size": vocab_size, "hidden_size": text_width, "intermediate_size": 4 * text_width,
                        "num_hidden_layers": text_layers, "num_attention_heads": heads,
                        "max_position_embeddings": context, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5,
                        "eos_token_id": 2},
    }
    files = {"config.json": json.dumps(config, indent=1), **vocabulary_files(find_bpe(bpe), vocab_size)}
    dtypes = sorted({str(v.dtype).replace("torch.", "") for v in out.values()})
    summary = (f"{model_id}, sha256 {digest_text}: ModifiedResNet layers {layers}, width {width}, {grid}x{grid} grid, "
               f"text {text_layers}x{text_width} ({heads} heads), {', '.join(dtypes)}")
    return out, config, files, summary


def convert_clip_rn50(source, output, bpe=None, text_heads=None, name=None):
    """Writes the clip-rn50 folder from OpenAI's RN50.pt (or any ModifiedResNet CLIP of that layout)."""
    from safetensors.torch import save_file

    tensors, config, files, summary = clip_rn50_folder(load_state_dict(source), source, bpe, text_heads, name)
    os.makedirs(output, exist_ok=True)
    save_file(tensors, os.path.join(output, "model.safetensors"), metadata={"format": "pt"})  # one key: a stable header
    for file, text in files.items():
        with open(os.path.join(output, file), "w", encoding="utf-8") as f:
            f.write(text)
    print(f"converted {source} ({summary}, {len(tensors)} tensors) -> {output}")
    return config


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="RN50.pt (OpenAI's TorchScript archive) or a state dict of that model")
    parser.add_argument("output", help="the folder to write, e.g. $MISC_METRIC_MODELS/clip-rn50")
    parser.add_argument("--bpe", help="bpe_simple_vocab_16e6.txt.gz (default: the installed clip/open_clip package's)")
    parser.add_argument("--text-heads", type=int, help="text attention heads (default: width / 64, OpenAI's rule)")
    parser.add_argument("--name", help="the model id reports print (default: openai/RN50 for the official file)")
    args = parser.parse_args(argv)
    try:
        convert_clip_rn50(args.source, args.output, bpe=args.bpe, text_heads=args.text_heads, name=args.name)
    except ValueError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
