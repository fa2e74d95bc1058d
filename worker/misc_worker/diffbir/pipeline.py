"""The `diffbir` pipeline kind: one pass is DiffBIR v1's `sr_pipe` as the MISC authors call it.

For a condition image at the working size:
1. pad with zeros to a multiple of 64 (DiffBIR's `pad(x, scale=64)`);
2. SwinIR restores it (`model.preprocess_model`);
3. the condition latent is the condition encoder's mode x 0.18215;
4. x_T ~ N(0, I) from the request's seed, then the respaced DDPM sampler (fixed_small variance)
   with the IRControlNet at control scale 1, CFG with the negative prompt;
5. the VAE decodes, the wavelet colour fix takes the low frequencies of the SwinIR output;
6. the padding is cropped (both sides: the notebook crops only the width).

The noise comes from a CPU generator seeded with the request's seed and is moved to the
device, so that a seed gives the same x_T and the same step noises on every device.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch

from ..colorfix import wavelet_color_fix_torch
from ..engine import DTYPES, RestoreRequest, RestoreResult, UnsupportedRequest, model_id, run_at_work_size, to_uint8
from . import sampler
from .convert import HeadSizes, assemble, build_control_ldm, read_state_dict

PAD_MULTIPLE = 64
SCHEDULER = "SpacedSampler(respaced DDPM, fixed_small)"


class DiffBIREngine:
    pipeline_kind = "diffbir"

    def __init__(self, diffbir: str, sd: str | None = None, swinir: str | None = None, tokenizer: str | None = None,
                 device: str = "cpu", dtype: str = "float32", work_size: int = 1024, heads: HeadSizes = HeadSizes(),
                 allow_pickle: bool = False):
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}")
        self.paths = {"diffbir": Path(diffbir), "sd": Path(sd) if sd else None, "swinir": Path(swinir) if swinir else None}
        self.device, self.dtype, self.work_size = device, dtype, work_size
        self.multiple = PAD_MULTIPLE
        def read(path):
            return read_state_dict(path, allow_pickle) if path else None

        full = assemble(read(diffbir), read(sd), read(swinir))
        self.model = build_control_ldm(full, heads)
        del full
        self.model.to(device=device, dtype=getattr(torch, dtype))
        self.tokenizer = None
        self.tokenizer_path = Path(tokenizer) if tokenizer else None
        if tokenizer:
            from transformers import CLIPTokenizer
            from ..engine import ModelFolderError, check_folder

            check_folder(Path(tokenizer), "vocab.json", "tokenizer")
            self.tokenizer = CLIPTokenizer.from_pretrained(tokenizer, local_files_only=True)
            vocab = self.model.text_encoder.config.vocab_size
            if len(self.tokenizer) > vocab:
                raise ModelFolderError(f"tokenizer {tokenizer} has {len(self.tokenizer)} tokens, more than the "
                                       f"text encoder's {vocab}")

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        if self.tokenizer is None:
            raise RuntimeError("the diffbir engine was started without a tokenizer")
        ids = self.tokenizer(texts, padding="max_length", max_length=self.model.text_encoder.config.max_position_embeddings,
                             truncation=True, return_tensors="pt").input_ids
        return ids.to(self.device)

    @torch.inference_mode()
    def sr_pipe(self, lq: torch.Tensor, cond_ids: torch.Tensor, uncond_ids: torch.Tensor, steps: int,
                cfg_scale: float, seed: int, color_fix: bool = True) -> torch.Tensor:
        """[1, 3, H, W] in [0, 1], H and W multiples of 64 -> [1, 3, H, W] float32, unclipped."""
        model = self.model
        dtype = model.dtype
        control = model.swinir(lq.to(self.device, dtype))
        c_latent = model.condition_latent(control)
        context = {True: model.encode_text(cond_ids.to(self.device)),
                   False: model.encode_text(uncond_ids.to(self.device)) if cfg_scale != 1.0 else None}
        generator = torch.Generator("cpu").manual_seed(seed)
        shape = (lq.shape[0], 4, lq.shape[2] // 8, lq.shape[3] // 8)
        x_T = torch.randn(shape, generator=generator, dtype=torch.float32).to(self.device)

        def eps(x: torch.Tensor, t: torch.Tensor, conditional: bool) -> torch.Tensor:
            return model.eps(x.to(dtype), t, c_latent, context[conditional])

        z = sampler.sample(eps, x_T, steps, cfg_scale, generator)
        pixels = model.decode(z.to(dtype)).float()
        if color_fix:
            pixels = wavelet_color_fix_torch(pixels, control.float())
        return pixels

    def describe(self) -> dict:
        import diffusers

        from .. import __version__

        main = self.paths["sd"] or self.paths["diffbir"]
        return {
            "model": {"id": model_id(main), "path": str(main.resolve())},
            "controlnet": {"id": model_id(self.paths["diffbir"]), "path": str(self.paths["diffbir"].resolve())},
            "pipeline": self.pipeline_kind,
            "scheduler": SCHEDULER,
            "device": self.device,
            "dtype": self.dtype,
            "size_multiple": self.multiple,
            "work_size": self.work_size or 0,
            "swinir": {"id": model_id(self.paths["swinir"]), "path": str(self.paths["swinir"].resolve())}
            if self.paths["swinir"] else None,
            "versions": {"misc_worker": __version__, "torch": torch.__version__, "diffusers": diffusers.__version__},
        }

    def restore(self, request: RestoreRequest) -> RestoreResult:
        if request.strength < 1.0:
            raise UnsupportedRequest("the diffbir pipeline starts every pass from noise: 'strength' must be 1.0")
        start = time.perf_counter()
        ids = self.tokenize([request.prompt, request.negative_prompt])
        padded_size = []

        def one_pass(work: np.ndarray) -> np.ndarray:
            h, w = work.shape[:2]
            ph, pw = math.ceil(h / self.multiple) * self.multiple, math.ceil(w / self.multiple) * self.multiple
            padded_size.append((pw, ph))
            padded = np.pad(work, ((0, ph - h), (0, pw - w), (0, 0)))
            lq = torch.from_numpy(padded).permute(2, 0, 1)[None].float() / 255.0
            out = self.sr_pipe(lq, ids[:1], ids[1:], request.steps, request.guidance_scale, request.seed,
                               request.color_fix)
            return out[0, :, :h, :w].permute(1, 2, 0).cpu().numpy()

        pixels = run_at_work_size(request.image, self.work_size, one_pass, request.color_fix)
        if not np.isfinite(pixels).all():
            raise RuntimeError(f"the pipeline produced NaN or infinite pixels ({self.dtype} on {self.device}; try --dtype float32)")
        out = to_uint8(pixels)
        return RestoreResult(pixels=out, pipeline=self.pipeline_kind, padded_size=padded_size[0],
                             seconds=time.perf_counter() - start)
