"""What the diffusers SD kinds (img2img.py, controlnet.py) share: the SD folder, the padding to
a multiple of 64 (symmetric), the seed, the colour fix at the working size, and the health answer."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from PIL import Image

from .colorfix import wavelet_color_fix
from .engine import (DEFAULT_WORK_SIZE, DTYPES, RestoreRequest, RestoreResult, check_folder, model_id,
                     run_at_work_size, to_uint8)


class StableDiffusionEngine:
    """A local diffusers SD folder, loaded as an img2img pipeline; the kinds add their own pass (`_run`)."""

    pipeline_kind = "img2img"

    def __init__(self, model: str, controlnet: str | None = None, device: str = "cpu", dtype: str = "float32",
                 work_size: int | None = DEFAULT_WORK_SIZE):
        import torch
        from diffusers import StableDiffusionImg2ImgPipeline

        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}")
        self.model_path = Path(model)
        self.controlnet_path = Path(controlnet) if controlnet else None
        check_folder(self.model_path, "model_index.json", "model")
        if self.controlnet_path:
            check_folder(self.controlnet_path, "config.json", "ControlNet")
        self.device = device
        self.dtype = dtype
        self.work_size = work_size
        torch_dtype = getattr(torch, dtype)
        if device.startswith("cuda"):
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True

        base = StableDiffusionImg2ImgPipeline.from_pretrained(
            self.model_path, dtype=torch_dtype, local_files_only=True,
            safety_checker=None, feature_extractor=None, requires_safety_checker=False)
        base.to(device)
        base.set_progress_bar_config(disable=True)
        self.img2img = base
        self.torch_dtype = torch_dtype
        # Sizes must be multiples of the VAE's factor times the UNet's downsampling (64 for SD).
        vae_factor = 2 ** (len(base.vae.config.block_out_channels) - 1)
        unet_factor = 2 ** (len(base.unet.config.block_out_channels) - 1)
        self.multiple = vae_factor * unet_factor
        self.scheduler = type(base.scheduler).__name__

    def describe(self) -> dict:
        import diffusers
        import torch

        from . import __version__

        return {
            "model": {"id": model_id(self.model_path), "path": str(self.model_path.resolve())},
            "controlnet": {"id": model_id(self.controlnet_path), "path": str(self.controlnet_path.resolve())}
            if self.controlnet_path else None,
            "pipeline": self.pipeline_kind,
            "scheduler": self.scheduler,
            "device": self.device,
            "dtype": self.dtype,
            "size_multiple": self.multiple,
            "work_size": self.work_size or 0,
            "versions": {"misc_worker": __version__, "torch": torch.__version__, "diffusers": diffusers.__version__},
        }

    def restore(self, request: RestoreRequest) -> RestoreResult:
        start = time.perf_counter()
        padded_size = []

        def one_pass(condition: np.ndarray) -> np.ndarray:
            result, size = self._pass(condition, request)
            padded_size.append(size)
            return result

        result = run_at_work_size(request.image, self.work_size, one_pass, request.color_fix)
        pixels = to_uint8(result)
        return RestoreResult(pixels=pixels, pipeline=self.pipeline_kind, padded_size=padded_size[0],
                             seconds=time.perf_counter() - start)

    def _pass(self, condition: np.ndarray, request: RestoreRequest) -> tuple[np.ndarray, tuple[int, int]]:
        """One pass on a uint8 [h, w, 3] condition: float [h, w, 3] in [0, 1], and the padded size."""
        import torch

        height, width = condition.shape[:2]
        padded_h = math.ceil(height / self.multiple) * self.multiple
        padded_w = math.ceil(width / self.multiple) * self.multiple
        padded = np.pad(condition, ((0, padded_h - height), (0, padded_w - width), (0, 0)), mode="symmetric")
        padded_image = Image.fromarray(padded)

        generator = torch.Generator(device=self.device).manual_seed(request.seed)
        common = dict(prompt=request.prompt, negative_prompt=request.negative_prompt,
                      num_inference_steps=request.steps, guidance_scale=request.guidance_scale,
                      generator=generator, output_type="np")
        with torch.inference_mode():
            out = self._run(padded_image, request, padded_w, padded_h, common)
        result = np.asarray(out.images[0], dtype=np.float32)[:height, :width, :]
        if not np.isfinite(result).all():
            raise RuntimeError(f"the pipeline produced NaN or infinite pixels ({self.dtype} on {self.device}; try --dtype float32)")
        if request.color_fix:
            result = wavelet_color_fix(result, condition.astype(np.float32) / 255.0).astype(np.float32)
        return result, (padded_w, padded_h)

    def _run(self, padded: Image.Image, request: RestoreRequest, width: int, height: int, common: dict):
        raise NotImplementedError
