#!/usr/bin/env python3
"""PyTorch CPU reference for `misc bench clip`: the CLIP image-tower forward at ViT-B/16 size.

Random weights of the real shapes (transformers' CLIPVisionModelWithProjection with
openai/clip-vit-base-patch16's vision config), eager attention, float32, no grad; the median of
--runs forwards after one warm-up, with torch.set_num_threads(--threads).

    pip install torch transformers
    python Benchmarks/clip/bench_torch.py --threads 2 --runs 10
    misc bench clip --threads 2 --runs 10        # the Swift side, same shapes and threads

Measured with torch 2.15.0 and transformers 5.24.0 (see docs/CLIP.md for the numbers).
"""
import argparse
import json
import statistics
import time

import torch
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--attention", default="eager", help="transformers attn_implementation: eager or sdpa")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = CLIPVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                              image_size=224, patch_size=16, projection_dim=512, hidden_act="quick_gelu")
    config._attn_implementation = args.attention
    model = CLIPVisionModelWithProjection(config).eval()
    pixels = torch.randn(1, 3, 224, 224)

    def forward():
        out = model.vision_model(pixel_values=pixels)
        # As the Swift tower: post_layernorm and the projection on every token.
        return model.visual_projection(model.vision_model.post_layernorm(out.last_hidden_state))

    with torch.inference_mode():
        forward()
        seconds = []
        for _ in range(args.runs):
            start = time.perf_counter()
            forward()
            seconds.append(time.perf_counter() - start)
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "attention": args.attention,
              "runs": args.runs, "median_s": statistics.median(seconds), "min_s": min(seconds)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"torch {torch.__version__} image tower (ViT-B/16, {args.attention}): median {result['median_s']:.4f} s, "
              f"min {result['min_s']:.4f} s over {args.runs} runs, {result['threads']} threads")


if __name__ == "__main__":
    main()
