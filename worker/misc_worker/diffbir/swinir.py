"""SwinIR as DiffBIR v1 configures its restoration stage (`configs/model/swinir.yaml`): the image
is pixel-unshuffled by the scale (8), passed through residual Swin transformer groups at 1/8 of
its size, and brought back by nearest-neighbour upsampling and convolutions ("nearest+conv").

Written for the worker from the SwinIR paper's structure (Liang et al. 2021); the parameter
names are those of DiffBIR's checkpoints (`preprocess_model.*` in `general_full_v1.ckpt`, the
bare names in `general_swinir_v1.ckpt`), so a state dict loads as it is. Neither spandrel nor
basicsr loads these weights: their SwinIR has no pixel-unshuffle stem.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

RGB_MEAN = (0.4488, 0.4371, 0.4040)


@dataclass(frozen=True)
class SwinIRConfig:
    embed_dim: int = 180
    depths: tuple[int, ...] = (6,) * 8
    num_heads: tuple[int, ...] = (6,) * 8
    window_size: int = 8
    mlp_ratio: float = 2.0
    scale: int = 8            # pixel-unshuffle at the stem, three 2x nearest upsamplings at the end
    num_feat: int = 64
    in_chans: int = 3

    @staticmethod
    def from_state_dict(sd: dict[str, torch.Tensor]) -> "SwinIRConfig":
        """Reads every size from the weights' shapes."""
        stem = sd["conv_first.1.weight"]
        embed_dim, stem_in = stem.shape[0], stem.shape[1]
        scale = round((stem_in / 3) ** 0.5)
        layers = sorted({int(k.split(".")[1]) for k in sd if k.startswith("layers.")})
        depths, heads = [], []
        for i in layers:
            blocks = {int(k.split(".")[4]) for k in sd if k.startswith(f"layers.{i}.residual_group.blocks.")}
            depths.append(len(blocks))
            heads.append(sd[f"layers.{i}.residual_group.blocks.0.attn.relative_position_bias_table"].shape[1])
        table = sd["layers.0.residual_group.blocks.0.attn.relative_position_bias_table"].shape[0]
        window = (round(table ** 0.5) + 1) // 2
        hidden = sd["layers.0.residual_group.blocks.0.mlp.fc1.weight"].shape[0]
        return SwinIRConfig(embed_dim=embed_dim, depths=tuple(depths), num_heads=tuple(heads), window_size=window,
                            mlp_ratio=hidden / embed_dim, scale=scale,
                            num_feat=sd["conv_before_upsample.0.weight"].shape[0])


def _windows(x: torch.Tensor, size: int) -> torch.Tensor:
    """[B, H, W, C] -> [B * windows, size * size, C], row-major windows."""
    b, h, w, c = x.shape
    x = x.view(b, h // size, size, w // size, size, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, size * size, c)


def _unwindows(x: torch.Tensor, size: int, b: int, h: int, w: int) -> torch.Tensor:
    c = x.shape[-1]
    x = x.view(b, h // size, w // size, size, size, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, c)


def _shift_mask(h: int, w: int, size: int, shift: int, device, dtype) -> torch.Tensor:
    """[windows, N, N]: 0 between tokens of the same region of the rolled image, -100 across."""
    label = torch.zeros(1, h, w, 1, device=device)
    bands = (slice(0, -size), slice(-size, -shift), slice(-shift, None))
    region = 0
    for hs in bands:
        for ws in bands:
            label[:, hs, ws, :] = region
            region += 1
    windows = _windows(label, size).squeeze(-1)
    diff = windows.unsqueeze(1) - windows.unsqueeze(2)
    return torch.zeros_like(diff, dtype=dtype).masked_fill(diff != 0, -100.0)


class WindowAttention(nn.Module):
    def __init__(self, dim: int, heads: int, window: int):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
        index = (rel[..., 0] + window - 1) * (2 * window - 1) + (rel[..., 1] + window - 1)
        self.register_buffer("relative_position_index", index, persistent=False)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        attn = attn + bias.view(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(bw // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)).view(-1, self.heads, n, n)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(bw, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class SwinBlock(nn.Module):
    def __init__(self, dim: int, heads: int, window: int, shift: int, mlp_ratio: float):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        h, w = size
        b, _, c = x.shape
        y = self.norm1(x).view(b, h, w, c)
        mask = None
        if self.shift:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
            mask = _shift_mask(h, w, self.window, self.shift, x.device, x.dtype)
        y = self.attn(_windows(y, self.window), mask)
        y = _unwindows(y, self.window, b, h, w)
        if self.shift:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + y.reshape(b, h * w, c)
        return x + self.mlp(self.norm2(x))


class BasicLayer(nn.Module):
    def __init__(self, dim: int, depth: int, heads: int, window: int, mlp_ratio: float):
        super().__init__()
        self.blocks = nn.ModuleList(
            SwinBlock(dim, heads, window, 0 if i % 2 == 0 else window // 2, mlp_ratio) for i in range(depth))

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, size)
        return x


class RSTB(nn.Module):
    """A residual Swin transformer group: blocks, then a 3x3 convolution, plus the input."""

    def __init__(self, dim: int, depth: int, heads: int, window: int, mlp_ratio: float):
        super().__init__()
        self.residual_group = BasicLayer(dim, depth, heads, window, mlp_ratio)
        self.conv = nn.Conv2d(dim, dim, 3, 1, 1)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        b, _, c = x.shape
        y = self.residual_group(x, size).transpose(1, 2).reshape(b, c, *size)
        return self.conv(y).flatten(2).transpose(1, 2) + x


class _PatchNorm(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)


class SwinIR(nn.Module):
    """[B, 3, H, W] in [0, 1] -> [B, 3, H, W]; H and W multiples of scale x window (64)."""

    def __init__(self, config: SwinIRConfig):
        super().__init__()
        self.config = config
        d, f = config.embed_dim, config.num_feat
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        self.conv_first = nn.Sequential(nn.PixelUnshuffle(config.scale),
                                        nn.Conv2d(config.in_chans * config.scale ** 2, d, 3, 1, 1))
        self.patch_embed = _PatchNorm(d)
        self.layers = nn.ModuleList(RSTB(d, depth, heads, config.window_size, config.mlp_ratio)
                                    for depth, heads in zip(config.depths, config.num_heads))
        self.norm = nn.LayerNorm(d)
        self.conv_after_body = nn.Conv2d(d, d, 3, 1, 1)
        self.conv_before_upsample = nn.Sequential(nn.Conv2d(d, f, 3, 1, 1), nn.LeakyReLU())
        self.ups = 0
        for i in range(1, 4):
            if 2 ** i <= config.scale:
                self.add_module(f"conv_up{i}", nn.Conv2d(f, f, 3, 1, 1))
                self.ups = i
        self.conv_hr = nn.Conv2d(f, f, 3, 1, 1)
        self.conv_last = nn.Conv2d(f, config.in_chans, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        multiple = self.config.window_size * self.config.scale
        if x.shape[-2] % multiple or x.shape[-1] % multiple:
            raise ValueError(f"SwinIR input must be a multiple of {multiple} pixels, got {tuple(x.shape[-2:])}")
        x = x - self.mean.to(x.dtype)
        x = self.conv_first(x)
        b, c, h, w = x.shape
        y = self.patch_embed.norm(x.flatten(2).transpose(1, 2))
        for layer in self.layers:
            y = layer(y, (h, w))
        y = self.norm(y).transpose(1, 2).reshape(b, c, h, w)
        x = self.conv_before_upsample(self.conv_after_body(y) + x)
        for i in range(1, self.ups + 1):
            x = F.leaky_relu(getattr(self, f"conv_up{i}")(F.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
        x = self.conv_last(F.leaky_relu(self.conv_hr(x), 0.2))
        return x + self.mean.to(x.dtype)


# Buffers that DiffBIR's SwinIR saves and that this one recomputes.
IGNORED_SUFFIXES = ("attn_mask", "relative_position_index")


def load_swinir(sd: dict[str, torch.Tensor]) -> SwinIR:
    """A SwinIR from a state dict with DiffBIR's names (no prefix); raises KeyError on a mismatch."""
    sd = {k: v for k, v in sd.items() if not k.endswith(IGNORED_SUFFIXES) and not k.startswith("lpips_metric.")}
    model = SwinIR(SwinIRConfig.from_state_dict(sd))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise KeyError(f"SwinIR weights do not match: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval()
