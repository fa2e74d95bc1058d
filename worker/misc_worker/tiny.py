"""A tiny random Stable Diffusion pipeline and ControlNet, built from configs (no download).

The tests of the worker (and the Swift integration test) save it to a folder and start the real
server on it: every code path of a real SD 2.1 + ControlNet set-up runs, in seconds, on a CPU.

    python -m misc_worker.tiny DIR    writes DIR/model (diffusers folder) and DIR/controlnet
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# Printable byte-level BPE alphabet of CLIP: bytes as unicode characters (GPT-2's mapping).
def _byte_alphabet() -> list[str]:
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = [], 0
    for b in range(256):
        if b in keep:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


# A handful of merges so that common prompt words become single tokens.
_WORDS = ["red", "car", "blue", "sky", "tree", "street", "hyper", "detail", "masterpiece", "4k",
          "blurry", "low", "quality", "a", "the", "with", "and", "of"]


def write_tokenizer(directory: Path) -> None:
    """A CLIP BPE tokenizer (vocab.json, merges.txt) over the byte alphabet plus a few words."""
    directory.mkdir(parents=True, exist_ok=True)
    alphabet = _byte_alphabet()
    vocab: dict[str, int] = {}
    for c in alphabet:
        vocab[c] = len(vocab)
    for c in alphabet:
        vocab[c + "</w>"] = len(vocab)
    merges: list[str] = []
    for word in _WORDS:
        # Merge left to right: "r e d</w>" -> "re d</w>" -> "red</w>".
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:
            merged = pieces[0] + pieces[1]
            rule = f"{pieces[0]} {pieces[1]}"
            if rule not in merges:
                merges.append(rule)
            if merged not in vocab:
                vocab[merged] = len(vocab)
            pieces = [merged] + pieces[2:]
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    special = {
        "model_max_length": 77,
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "tokenizer_class": "CLIPTokenizer",
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(special), encoding="utf-8")


def build(seed: int = 0):
    """Returns (StableDiffusionPipeline, ControlNetModel) with random weights, tiny sizes."""
    import tempfile

    import torch
    from diffusers import AutoencoderKL, ControlNetModel, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8, sample_size=8,
        in_channels=4, out_channels=4, cross_attention_dim=16, attention_head_dim=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    )
    # Four blocks: the VAE downsamples by 8, as SD's does, so padding and cropping are exercised.
    vae = AutoencoderKL(
        block_out_channels=(8, 8, 16, 16), layers_per_block=1, norm_num_groups=8, latent_channels=4,
        in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    )
    with tempfile.TemporaryDirectory() as tmp:
        write_tokenizer(Path(tmp))
        # With transformers 5, from_pretrained reads vocab and merges correctly.
        tokenizer = CLIPTokenizer.from_pretrained(tmp, model_max_length=77)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_attention_heads=2,
        num_hidden_layers=2, max_position_embeddings=77, projection_dim=16,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    ))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    controlnet = ControlNetModel(
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8, in_channels=4,
        cross_attention_dim=16, attention_head_dim=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        conditioning_embedding_out_channels=(8, 8, 8, 8),
    )
    # A fresh ControlNet's output convolutions are zero, so its condition would change nothing:
    # give them random weights so that the tests can see the condition at work.
    # The default init also fades the condition through the seven convolutions of its
    # embedding, so those get He initialisation, which keeps the signal's scale.
    with torch.no_grad():
        zero_convs = list(controlnet.controlnet_down_blocks) + [controlnet.controlnet_mid_block]
        for conv in zero_convs:
            conv.weight.normal_(0.0, 0.3)
            conv.bias.normal_(0.0, 0.1)
        embedding = controlnet.controlnet_cond_embedding
        for conv in [embedding.conv_in, *embedding.blocks]:
            torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            conv.bias.normal_(0.0, 0.1)
        # Its (zero-initialised) output convolution: loud enough to rival the latent's features.
        embedding.conv_out.weight.normal_(0.0, 1.0)
        embedding.conv_out.bias.normal_(0.0, 0.1)
    return pipe, controlnet


def write(directory: str | os.PathLike, seed: int = 0) -> tuple[Path, Path]:
    """Saves the tiny pipeline to DIR/model and its ControlNet to DIR/controlnet."""
    root = Path(directory)
    pipe, controlnet = build(seed)
    model, cn = root / "model", root / "controlnet"
    pipe.save_pretrained(model, safe_serialization=True)
    controlnet.save_pretrained(cn, safe_serialization=True)
    return model, cn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m misc_worker.tiny", description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="where to write model/ and controlnet/")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    args = parser.parse_args(argv)
    model, cn = write(args.directory, args.seed)
    print(f"{model}\n{cn}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
