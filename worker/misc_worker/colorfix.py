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


def _blur_torch(x, dilation: int):
    """[..., H, W]: one separable binomial blur, taps `dilation` apart, edges replicated (the 3x3
    kernel [1, 2, 1] x [1, 2, 1] / 16 that DiffBIR convolves with, as two 1-D passes)."""
    import torch.nn.functional as F

    d = dilation
    shape = x.shape
    x = x.reshape(-1, 1, *shape[-2:])
    p = F.pad(x, (0, 0, d, d), mode="replicate")
    x = (p[..., : -2 * d, :] + p[..., 2 * d :, :]).mul_(0.25).add_(x, alpha=0.5)
    p = F.pad(x, (d, d, 0, 0), mode="replicate")
    x = (p[..., : -2 * d] + p[..., 2 * d :]).mul_(0.25).add_(x, alpha=0.5)
    return x.reshape(shape)


def low_frequency_torch(x, levels: int = LEVELS):
    """The same decomposition on a [B, C, H, W] tensor, in its dtype (DiffBIR computes it in float32)."""
    for level in range(levels):
        x = _blur_torch(x, 2 ** level)
    return x


def wavelet_color_fix_torch(output, condition, levels: int = LEVELS):
    """[B, C, H, W] tensors: `output`'s high frequencies over `condition`'s low ones, unclipped
    (DiffBIR's `wavelet_reconstruction`). The decomposition is linear, so this is computed as
    output + low(condition - output): one decomposition instead of two. One channel at a time,
    to bound the memory of full-size (12-megapixel) fixes."""
    import torch

    if output.shape != condition.shape:
        raise ValueError(f"colour fix needs equal shapes, got {tuple(output.shape)} and {tuple(condition.shape)}")
    fixed = torch.empty_like(output)
    for c in range(output.shape[1]):
        out = output[:, c : c + 1]
        fixed[:, c : c + 1] = out + low_frequency_torch(condition[:, c : c + 1] - out, levels)
    return fixed
