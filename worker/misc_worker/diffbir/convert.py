"""DiffBIR checkpoints -> the worker's modules.

Two sets of files are accepted:

- DiffBIR v1's `general_full_v1.ckpt`: one ControlLDM state dict (`state_dict` inside), with the
  SD 2.1-base UNet (`model.diffusion_model.`), the VAE (`first_stage_model.`), the OpenCLIP
  ViT-H text tower (`cond_stage_model.model.`), the IRControlNet (`control_model.`), the
  condition encoder (`cond_encoder.`, a copy of the VAE encoder) and SwinIR (`preprocess_model.`);
- DiffBIR v2's split files: `v1_general.pth` (the IRControlNet alone, bare names), an SD 2.1-base
  checkpoint (`v2-1_512-ema-pruned.ckpt`) and a SwinIR checkpoint (`general_swinir_v1.ckpt`).
  The condition encoder is then the VAE's encoder, as in DiffBIR v2.

The UNet, the VAE, the text encoder and the ControlNet's blocks go through diffusers' single-file
converters. What the weights cannot say (attention head sizes) comes from DiffBIR's
configuration, `configs/model/cldm.yaml`: 64 channels a head in the UNet and the ControlNet,
64 in OpenCLIP ViT-H's text tower.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

UNET = "model.diffusion_model."
VAE = "first_stage_model."
CLIP = "cond_stage_model.model."
CONTROL = "control_model."
COND_ENCODER = "cond_encoder."
SWINIR = "preprocess_model."

# One key each part must have, to recognise a file and to say what was expected.
MARKERS = {
    "UNet": UNET + "input_blocks.0.0.weight",
    "VAE": VAE + "encoder.conv_in.weight",
    "OpenCLIP text encoder": CLIP + "token_embedding.weight",
    "IRControlNet": CONTROL + "input_blocks.0.0.weight",
    "SwinIR": SWINIR + "conv_first.1.weight",
}
CONTROLNET_ALONE = ("input_blocks.0.0.weight", "zero_convs.0.0.weight", "middle_block_out.0.weight")
SWINIR_ALONE = ("conv_first.1.weight", "conv_before_upsample.0.weight", "conv_last.weight")


class CheckpointError(Exception):
    """A file is not one of the DiffBIR or SD checkpoints the worker loads; the message says why."""


@dataclass(frozen=True)
class HeadSizes:
    """What DiffBIR's configuration fixes and the weights do not show."""

    unet_head_channels: int = 64   # cldm.yaml: num_head_channels 64 (UNet and ControlNet)
    clip_head_width: int = 64      # OpenCLIP ViT-H-14 text tower: width 1024, 16 heads


def read_state_dict(path: str | Path, allow_pickle: bool = False) -> dict[str, torch.Tensor]:
    """A checkpoint's tensors: .safetensors, or a torch file read with `weights_only=True` (tensors
    and plain containers only). `allow_pickle` reads any pickle: only for files one trusts."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return dict(load_file(str(path)))
    try:
        try:
            data = torch.load(path, map_location="cpu", weights_only=not allow_pickle, mmap=True)
        except RuntimeError:  # not a zip file: the legacy torch format cannot be memory-mapped
            data = torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except Exception as error:
        hint = "" if allow_pickle else (" (if it is a trusted checkpoint that also pickles training objects, "
                                        "start the worker with --allow-pickle)")
        raise CheckpointError(f"{path} is not a torch checkpoint of tensors: {type(error).__name__}: "
                              f"{str(error)[:300]}{hint}") from None
    for key in ("state_dict", "params_ema", "params", "model"):
        if isinstance(data, dict) and key in data and isinstance(data[key], dict):
            data = data[key]
            break
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path} holds no state dict of tensors")
    if all(k.startswith("module.") for k in data):
        data = {k[len("module."):]: v for k, v in data.items()}
    return data


def _expected(parts: list[str]) -> str:
    return ", ".join(f"{MARKERS[p]!r} ({p})" for p in parts)


def assemble(diffbir: dict, sd: dict | None = None, swinir: dict | None = None,
             names: tuple[str, str, str] = ("--diffbir", "--sd", "--swinir")) -> dict[str, torch.Tensor]:
    """One ControlLDM state dict, in v1's names, from the files given; CheckpointError if a part is missing."""
    full: dict[str, torch.Tensor] = {}
    if MARKERS["IRControlNet"] in diffbir:
        full.update(diffbir)
    elif all(k in diffbir for k in CONTROLNET_ALONE):
        if diffbir["input_blocks.0.0.weight"].shape[1] != 8:
            raise CheckpointError(f"{names[0]}: this ControlNet takes {diffbir['input_blocks.0.0.weight'].shape[1]} "
                                  "input channels; DiffBIR's IRControlNet takes 8 (noisy latent + condition latent)")
        full.update({CONTROL + k: v for k, v in diffbir.items()})
    else:
        raise CheckpointError(
            f"{names[0]} is not a DiffBIR checkpoint: expected DiffBIR v1's full ControlLDM (keys "
            f"{_expected(list(MARKERS))}) or the IRControlNet alone as DiffBIR v2 ships it in v1_general.pth "
            f"(keys {', '.join(repr(k) for k in CONTROLNET_ALONE)})")
    if sd is not None:
        missing = [p for p in ("UNet", "VAE", "OpenCLIP text encoder") if MARKERS[p] not in sd]
        if missing:
            raise CheckpointError(f"{names[1]} is not a Stable Diffusion 2.1 checkpoint: expected the keys {_expected(missing)}")
        full.update({k: v for k, v in sd.items() if k.startswith((UNET, VAE, CLIP))})
    if swinir is not None:
        if SWINIR + SWINIR_ALONE[0] in swinir:
            swinir = {k[len(SWINIR):]: v for k, v in swinir.items() if k.startswith(SWINIR)}
        if not all(k in swinir for k in SWINIR_ALONE):
            raise CheckpointError(f"{names[2]} is not DiffBIR's SwinIR: expected the keys "
                                  f"{', '.join(repr(k) for k in SWINIR_ALONE)} (general_swinir_v1.ckpt)")
        full = {k: v for k, v in full.items() if not k.startswith(SWINIR)}
        full.update({SWINIR + k: v for k, v in swinir.items()})
    missing = [p for p, key in MARKERS.items() if key not in full]
    if missing:
        hint = {"UNet": names[1], "VAE": names[1], "OpenCLIP text encoder": names[1], "SwinIR": names[2]}
        flags = sorted({hint.get(p, names[0]) for p in missing})
        raise CheckpointError(f"the checkpoints lack {', '.join(missing)}: expected the keys {_expected(missing)}; "
                              f"give {' and '.join(flags)}")
    return full


def _sub(sd: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def unet_config(sd: dict, prefix: str, heads: HeadSizes) -> dict:
    """diffusers UNet2DConditionModel / ControlNetModel arguments read from an LDM UNet's shapes."""
    blocks = sorted({int(k.split(".")[1]) for k in _sub(sd, prefix) if k.startswith("input_blocks.")})
    model_channels = sd[prefix + "input_blocks.0.0.weight"].shape[0]
    levels: list[list[int]] = [[]]
    attention: list[bool] = [False]
    for i in blocks[1:]:
        if prefix + f"input_blocks.{i}.0.op.weight" in sd:
            levels.append([])
            attention.append(False)
            continue
        levels[-1].append(sd[prefix + f"input_blocks.{i}.0.out_layers.3.weight"].shape[0])
        if prefix + f"input_blocks.{i}.1.proj_in.weight" in sd:
            attention[-1] = True
    channels = [level[-1] for level in levels]
    context = next(v.shape[1] for k, v in sd.items() if k.startswith(prefix) and k.endswith("attn2.to_k.weight"))
    proj = next(v for k, v in sd.items() if k.startswith(prefix) and k.endswith("proj_in.weight"))
    return {
        "block_out_channels": tuple(channels),
        "layers_per_block": len(levels[0]),
        "down_block_types": tuple("CrossAttnDownBlock2D" if a else "DownBlock2D" for a in attention),
        "cross_attention_dim": context,
        "attention_head_dim": tuple(c // heads.unet_head_channels for c in channels),
        "use_linear_projection": proj.ndim == 2,
        "norm_num_groups": 32,
        "model_channels": model_channels,
    }


def build_unet(full: dict, heads: HeadSizes):
    from diffusers import UNet2DConditionModel
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint

    cfg = unet_config(full, UNET, heads)
    cfg.pop("model_channels")
    cfg["up_block_types"] = tuple("CrossAttnUpBlock2D" if t.startswith("CrossAttn") else "UpBlock2D"
                                  for t in reversed(cfg["down_block_types"]))
    unet = UNet2DConditionModel(in_channels=4, out_channels=4, sample_size=64, **cfg)
    converted = convert_ldm_unet_checkpoint({k: v for k, v in full.items() if k.startswith(UNET)}, dict(unet.config))
    _load(unet, converted, "UNet")
    return unet


def build_controlnet(full: dict, heads: HeadSizes):
    from diffusers.loaders.single_file_utils import convert_controlnet_checkpoint

    from .model import IRControlNet

    cfg = unet_config(full, CONTROL, heads)
    cfg.pop("model_channels")
    control = IRControlNet(**cfg)
    converted = convert_controlnet_checkpoint({k: v for k, v in full.items() if k.startswith(CONTROL)},
                                              {"layers_per_block": cfg["layers_per_block"]})
    _load(control, converted, "IRControlNet")
    return control


def vae_config(sd: dict, prefix: str) -> dict:
    ch = sd[prefix + "encoder.conv_in.weight"].shape[0]
    levels = sorted({int(k.split(".")[2]) for k in _sub(sd, prefix) if k.startswith("encoder.down.")})
    channels = tuple(sd[prefix + f"encoder.down.{i}.block.0.conv2.weight"].shape[0] for i in levels)
    per_level = len({k.split(".")[4] for k in _sub(sd, prefix) if k.startswith("encoder.down.0.block.")})
    return {
        "block_out_channels": channels, "layers_per_block": per_level, "norm_num_groups": 32,
        "down_block_types": ("DownEncoderBlock2D",) * len(channels),
        "up_block_types": ("UpDecoderBlock2D",) * len(channels),
        "latent_channels": sd[prefix + "decoder.conv_in.weight"].shape[1],
        "in_channels": 3, "out_channels": 3, "sample_size": 256, "scaling_factor": 0.18215,
        "_ch": ch,
    }


def build_vae(full: dict, encoder_prefix: str | None = None):
    """The VAE; with `encoder_prefix`, the encoder and quant_conv come from there (v1's cond_encoder)."""
    from diffusers import AutoencoderKL
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

    sd = {k: v for k, v in full.items() if k.startswith(VAE)}
    if encoder_prefix:
        sd = {k: v for k, v in sd.items() if not k.startswith((VAE + "encoder.", VAE + "quant_conv."))}
        sd.update({VAE + k[len(encoder_prefix):]: v for k, v in full.items() if k.startswith(encoder_prefix)})
    cfg = vae_config(sd, VAE)
    cfg.pop("_ch")
    vae = AutoencoderKL(**cfg)
    _load(vae, convert_ldm_vae_checkpoint(sd, dict(vae.config)), "VAE" if not encoder_prefix else "condition encoder")
    return vae


def build_text_encoder(full: dict, heads: HeadSizes):
    """OpenCLIP's text tower as transformers' CLIPTextModel, cut at the penultimate layer as
    DiffBIR's FrozenOpenCLIPEmbedder(layer="penultimate") reads it (ln_final still applied)."""
    from diffusers.loaders.single_file_utils import convert_open_clip_checkpoint
    from transformers import CLIPTextConfig, CLIPTextModel

    vocab, width = full[CLIP + "token_embedding.weight"].shape
    layers = len({k.split(".")[4] for k in full if k.startswith(CLIP + "transformer.resblocks.")})
    config = CLIPTextConfig(
        vocab_size=vocab, hidden_size=width, num_attention_heads=width // heads.clip_head_width,
        intermediate_size=full[CLIP + "transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
        num_hidden_layers=layers - 1, max_position_embeddings=full[CLIP + "positional_embedding"].shape[0],
        hidden_act="gelu", layer_norm_eps=1e-5, projection_dim=full[CLIP + "text_projection"].shape[1]
        if CLIP + "text_projection" in full else width)
    model = CLIPTextModel(config)
    sd = {k: v for k, v in full.items() if k.startswith(CLIP)}
    converted = convert_open_clip_checkpoint(model, sd)
    wanted = set(model.state_dict())
    if not any(k.startswith("text_model.") for k in wanted):  # transformers 5 dropped the wrapper
        converted = {k.removeprefix("text_model."): v for k, v in converted.items()}
    converted = {k: v for k, v in converted.items() if k in wanted}
    _load(model, converted, "OpenCLIP text encoder", allow_missing=("position_ids",))
    return model


def _load(module: torch.nn.Module, sd: dict, what: str, allow_missing: tuple[str, ...] = ()) -> None:
    target = module.state_dict()
    sd = {k: v.to(target[k].dtype) if k in target else v for k, v in sd.items()}
    missing, unexpected = module.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith(allow_missing)]
    if missing or unexpected:
        raise CheckpointError(f"the {what} weights do not fit: missing {missing[:6]}, unexpected {unexpected[:6]}")


def build_control_ldm(full: dict, heads: HeadSizes = HeadSizes()):
    """The worker's ControlLDM (float32, eval mode) from an assembled v1-named state dict."""
    from .model import ControlLDM
    from .swinir import load_swinir

    cond_vae = None
    if COND_ENCODER + "encoder.conv_in.weight" in full:
        cond_vae = build_vae(full, encoder_prefix=COND_ENCODER)
        cond_vae.decoder = None  # only its encoder runs
    try:
        swinir = load_swinir(_sub(full, SWINIR))
    except KeyError as error:
        raise CheckpointError(str(error)) from None
    model = ControlLDM(build_unet(full, heads), build_controlnet(full, heads), build_vae(full), cond_vae,
                       build_text_encoder(full, heads), swinir)
    return model.float().eval().requires_grad_(False)
