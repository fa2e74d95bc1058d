#!/usr/bin/env python3
"""PyTorch CPU reference for `misc bench clip`: CLIP ViT-B/16's towers with random weights.

Three cases, as `misc bench clip` times them, all with random weights of the real shapes
(transformers' CLIP classes with openai/clip-vit-base-patch16's configs), eager attention, float32,
no grad, torch.set_num_threads(--threads); the median of --runs forwards after one warm-up:

- `--mode image` (default): the image tower, post_layernorm and the projection on every token.
- `--mode surgery`: CLIP Surgery's forward, written here on transformers' modules: on the last 6
  blocks a v-v attention path beside the original one, sharing the projections, without MLP,
  accumulating from the first such block's input; the class token from the original path.
- `--mode text`: the text tower on one item's 85-prompt ensemble, the same ids as the Swift bench
  (935 tokens); transformers needs them padded to the longest (85 x 13 = 1105 positions, with an
  attention mask), where the Swift tower packs them.

    pip install torch transformers
    python Benchmarks/clip/bench_torch.py --threads 2 --runs 10 [--mode surgery|text]
    misc bench clip --threads 2 --runs 10 [--surgery|--text]   # the Swift side
    misc bench clip --compare-torch python --runs 10           # both, one after the other

Besides wall time it reports the process CPU time per forward (all threads), which a loaded machine
disturbs much less at one thread. Measured with torch 2.15.0 and transformers 5.25.0 (docs/CLIP.md).
"""
import argparse
import json
import statistics
import time

import torch
from transformers import (CLIPTextConfig, CLIPTextModelWithProjection, CLIPVisionConfig,
                          CLIPVisionModelWithProjection)


def prompt_ids():
    """One item's 85 prompts, 9 to 13 tokens each: exactly the ids of `misc bench clip --text`."""
    return [[49406] + [320 + i * 7 + k for i in range(7 + k % 5)] + [49407] for k in range(85)]


def image_model(args):
    config = CLIPVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                              image_size=224, patch_size=16, projection_dim=512, hidden_act="quick_gelu")
    config._attn_implementation = args.attention
    return CLIPVisionModelWithProjection(config).eval()


def image_forward(args):
    model = image_model(args)
    pixels = torch.randn(1, 3, 224, 224)

    def forward():
        out = model.vision_model(pixel_values=pixels)
        # As the Swift tower: post_layernorm and the projection on every token.
        return model.visual_projection(model.vision_model.post_layernorm(out.last_hidden_state))
    return forward


def surgery_forward(args, blocks=6):
    model = image_model(args)
    vision = model.vision_model
    pixels = torch.randn(1, 3, 224, 224)
    layers = vision.encoder.layers

    def attention(attn, a, b, v):
        heads, d = attn.num_heads, attn.head_dim
        split = lambda t: t.view(t.shape[0], t.shape[1], heads, d).transpose(1, 2)
        weights = torch.softmax(split(a) @ split(b).transpose(-1, -2) * attn.scale, dim=-1)
        context = (weights @ split(v)).transpose(1, 2).reshape(a.shape)
        return attn.out_proj(context)

    def forward():
        x = vision.pre_layrnorm(vision.embeddings(pixels))
        surgery = None
        for index, layer in enumerate(layers):
            if index < len(layers) - blocks:
                x = layer(x, None)
                x = x[0] if isinstance(x, tuple) else x
                continue
            attn = layer.self_attn
            h = layer.layer_norm1(x)
            q, k, v = attn.q_proj(h), attn.k_proj(h), attn.v_proj(h)
            original, value_value = attention(attn, q, k, v), attention(attn, v, v, v)
            surgery = (x if surgery is None else surgery) + value_value
            x = x + original
            x = x + layer.mlp(layer.layer_norm2(x))
        tokens = surgery.clone()
        tokens[:, 0] = x[:, 0]
        return model.visual_projection(vision.post_layernorm(tokens))
    return forward


def text_forward(args):
    config = CLIPTextConfig(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8,
                            vocab_size=49408, max_position_embeddings=77, projection_dim=512, hidden_act="quick_gelu",
                            eos_token_id=2)
    config._attn_implementation = args.attention
    model = CLIPTextModelWithProjection(config).eval()
    ids = prompt_ids()
    longest = max(map(len, ids))
    input_ids = torch.tensor([row + [0] * (longest - len(row)) for row in ids])
    mask = torch.tensor([[1] * len(row) + [0] * (longest - len(row)) for row in ids])

    def forward():
        return model(input_ids=input_ids, attention_mask=mask).text_embeds
    return forward


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--mode", choices=["image", "surgery", "text"], default="image")
    parser.add_argument("--attention", default="eager", help="transformers attn_implementation: eager or sdpa")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    forward = {"image": image_forward, "surgery": surgery_forward, "text": text_forward}[args.mode](args)

    with torch.inference_mode():
        forward()
        seconds, cpu_seconds = [], []
        for _ in range(args.runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            forward()
            seconds.append(time.perf_counter() - start)
            cpu_seconds.append(time.process_time() - start_cpu)
    result = {"torch": torch.__version__, "mode": args.mode, "threads": torch.get_num_threads(),
              "attention": args.attention, "runs": args.runs, "median_s": statistics.median(seconds),
              "min_s": min(seconds), "cpu_median_s": statistics.median(cpu_seconds)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"torch {torch.__version__} {args.mode} (ViT-B/16, {args.attention}): median {result['median_s']:.4f} s, "
              f"min {result['min_s']:.4f} s, CPU {result['cpu_median_s']:.4f} s over {args.runs} runs, "
              f"{result['threads']} threads")


if __name__ == "__main__":
    main()
