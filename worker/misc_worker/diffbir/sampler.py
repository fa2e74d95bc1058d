"""DiffBIR v1's sampler: the DDPM ancestral sampler on a respaced schedule (IDDPM, Nichol &
Dhariwal 2021) with the "fixed_small" variance (the true posterior variance of the respaced
chain), as `SpacedSampler(model, var_type="fixed_small")` runs it.

- The base chain is SD's: 1000 steps, betas linear in sqrt between 0.00085 and 0.012.
- `steps` timesteps are kept, evenly strided over [0, 999] and rounded; the kept chain's betas
  are 1 - abar_t / abar_prev so that its marginals are the base chain's.
- Each step: eps from the model (with CFG: uncond + scale x (cond - uncond), skipped at scale
  1), x0 = (x - sqrt(1 - abar) eps) / sqrt(abar), the posterior mean of q(x_prev | x, x0), plus
  sqrt(posterior variance) x fresh noise. A noise draw is made at every step, the last included
  (where it is multiplied by 0), so a seed gives DiffBIR's exact noise sequence.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

TIMESTEPS = 1000
LINEAR_START = 0.00085
LINEAR_END = 0.0120


def respaced_timesteps(steps: int, total: int = TIMESTEPS) -> list[int]:
    if not 1 <= steps <= total:
        raise ValueError(f"steps must be in 1...{total}, got {steps}")
    stride = 1 if steps <= 1 else (total - 1) / (steps - 1)
    return sorted({round(i * stride) for i in range(steps)})


class Schedule:
    """The respaced chain's coefficients, float64, indexed by position in the kept timesteps."""

    def __init__(self, steps: int):
        betas = np.linspace(LINEAR_START ** 0.5, LINEAR_END ** 0.5, TIMESTEPS, dtype=np.float64) ** 2
        abar_full = np.cumprod(1.0 - betas)
        self.timesteps = respaced_timesteps(steps)
        abar = abar_full[self.timesteps]
        abar_prev = np.append(1.0, abar[:-1])
        kept_betas = 1.0 - abar / abar_prev
        self.sqrt_recip_abar = np.sqrt(1.0 / abar)
        self.sqrt_recipm1_abar = np.sqrt(1.0 / abar - 1.0)
        self.variance = kept_betas * (1.0 - abar_prev) / (1.0 - abar)
        self.mean_coef_x0 = kept_betas * np.sqrt(abar_prev) / (1.0 - abar)
        self.mean_coef_xt = (1.0 - abar_prev) * np.sqrt(1.0 - kept_betas) / (1.0 - abar)


def _c(value: float, like: torch.Tensor) -> torch.Tensor:
    # DiffBIR reads each coefficient as a float32 tensor.
    return torch.tensor(np.float32(value), device=like.device)


def sample(eps_fn: Callable[[torch.Tensor, torch.Tensor, bool], torch.Tensor], x_T: torch.Tensor, steps: int,
           cfg_scale: float, generator: torch.Generator) -> torch.Tensor:
    """`eps_fn(x, t, conditional)` predicts noise; returns x_0 (float32 latents)."""
    schedule = Schedule(steps)
    x = x_T.float()
    count = len(schedule.timesteps)
    for i, step in enumerate(reversed(schedule.timesteps)):
        index = count - i - 1
        t = torch.full((x.shape[0],), step, device=x.device, dtype=torch.long)
        eps = eps_fn(x, t, True).float()
        if cfg_scale != 1.0:
            uncond = eps_fn(x, t, False).float()
            eps = uncond + cfg_scale * (eps - uncond)
        x0 = _c(schedule.sqrt_recip_abar[index], x) * x - _c(schedule.sqrt_recipm1_abar[index], x) * eps
        mean = _c(schedule.mean_coef_x0[index], x) * x0 + _c(schedule.mean_coef_xt[index], x) * x
        noise = torch.randn(x.shape, generator=generator, device=generator.device, dtype=torch.float32).to(x.device)
        x = mean + (1.0 if index != 0 else 0.0) * torch.sqrt(_c(schedule.variance[index], x)) * noise
    return x
