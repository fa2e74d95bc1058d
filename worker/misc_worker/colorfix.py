"""The wavelet colour fix of DiffBIR and StableSR: low frequencies from the condition image,
high frequencies from the diffusion output.

Each image is split by an à-trous wavelet decomposition: `levels` passes of a 3x3 binomial blur
([1, 2, 1] / 4 in each direction) whose taps are dilated by 1, 2, 4, ... pixels, with replicated
edges. What the last blur leaves is the low-frequency residual; the rest is high frequency.
"""

from __future__ import annotations

import numpy as np

LEVELS = 5


def _blur(x: np.ndarray, dilation: int) -> np.ndarray:
    """[H, W, C] float: one separable binomial blur with taps `dilation` pixels apart, edges replicated."""
    out = x
    for axis in (0, 1):
        n = out.shape[axis]
        index = np.arange(n)
        before = np.clip(index - dilation, 0, n - 1)
        after = np.clip(index + dilation, 0, n - 1)
        out = 0.25 * np.take(out, before, axis=axis) + 0.5 * out + 0.25 * np.take(out, after, axis=axis)
    return out


def low_frequency(x: np.ndarray, levels: int = LEVELS) -> np.ndarray:
    """[H, W, C] float: what remains of `x` after `levels` à-trous blurs (dilations 1, 2, 4, ...)."""
    low = x.astype(np.float64, copy=False)
    for level in range(levels):
        low = _blur(low, 2 ** level)
    return low


def wavelet_color_fix(output: np.ndarray, condition: np.ndarray, levels: int = LEVELS) -> np.ndarray:
    """[H, W, 3] floats in [0, 1], same size: `output`'s high frequencies over `condition`'s low ones."""
    if output.shape != condition.shape:
        raise ValueError(f"colour fix needs equal shapes, got {output.shape} and {condition.shape}")
    out = output.astype(np.float64)
    fixed = (out - low_frequency(out, levels)) + low_frequency(condition.astype(np.float64), levels)
    return np.clip(fixed, 0.0, 1.0)


def low_frequency_torch(x, levels: int = LEVELS):
    """The same decomposition on a [B, C, H, W] tensor, in its dtype (DiffBIR computes it in float32)."""
    import torch
    import torch.nn.functional as F

    taps = torch.tensor([0.25, 0.5, 0.25], dtype=x.dtype, device=x.device)
    kernel = (taps[:, None] * taps[None, :])[None, None].repeat(x.shape[1], 1, 1, 1)
    for level in range(levels):
        d = 2 ** level
        x = F.conv2d(F.pad(x, (d, d, d, d), mode="replicate"), kernel, groups=x.shape[1], dilation=d)
    return x


def wavelet_color_fix_torch(output, condition, levels: int = LEVELS):
    """[B, C, H, W] tensors: `output`'s high frequencies over `condition`'s low ones, unclipped
    (DiffBIR's `wavelet_reconstruction`)."""
    if output.shape != condition.shape:
        raise ValueError(f"colour fix needs equal shapes, got {tuple(output.shape)} and {tuple(condition.shape)}")
    return output - low_frequency_torch(output, levels) + low_frequency_torch(condition, levels)
