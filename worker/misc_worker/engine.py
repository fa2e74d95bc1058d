"""The diffusion engine: loads a local diffusers Stable Diffusion folder (and optionally a
ControlNet) and runs one restoration pass per request."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .colorfix import wavelet_color_fix

DTYPES = ("float32", "float16", "bfloat16")


class ModelFolderError(Exception):
    """A model folder is missing or is not a diffusers folder."""


@dataclass(frozen=True)
class RestoreRequest:
    """One validated pass: `image` is the RGB condition at the requested output size."""

    image: Image.Image
    prompt: str
    negative_prompt: str
    steps: int
    guidance_scale: float
    strength: float
    seed: int
    color_fix: bool


@dataclass(frozen=True)
class RestoreResult:
    """[H, W, 3] uint8 pixels at the condition's size, and how they were made."""

    pixels: np.ndarray
    pipeline: str
    padded_size: tuple[int, int]
    seconds: float


def model_id(path: Path) -> str:
    """A readable id for a local folder: "owner/name" inside a Hugging Face cache, else the folder name."""
    match = re.search(r"models--([^/]+)--([^/]+)/snapshots/", str(path.resolve()) + "/")
    if match:
        return f"{match.group(1)}/{match.group(2)}"
    return path.resolve().name


def check_folder(path: Path, marker: str, what: str) -> None:
    if not path.is_dir():
        raise ModelFolderError(f"{what} folder {path} does not exist")
    if not (path / marker).is_file():
        raise ModelFolderError(f"{what} folder {path} has no {marker}; it must be a diffusers folder (save_pretrained layout)")


class Engine:
    """SD img2img, or SD + ControlNet conditioned on the image (txt2img at strength 1, img2img below)."""

    def __init__(self, model: str, controlnet: str | None = None, device: str = "cpu", dtype: str = "float32"):
        import torch
        from diffusers import (ControlNetModel, StableDiffusionControlNetImg2ImgPipeline,
                               StableDiffusionControlNetPipeline, StableDiffusionImg2ImgPipeline)

        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}")
        self.model_path = Path(model)
        self.controlnet_path = Path(controlnet) if controlnet else None
        check_folder(self.model_path, "model_index.json", "model")
        if self.controlnet_path:
            check_folder(self.controlnet_path, "config.json", "ControlNet")
        self.device = device
        self.dtype = dtype
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
        self.controlnet = None
        if self.controlnet_path:
            self.controlnet = ControlNetModel.from_pretrained(self.controlnet_path, dtype=torch_dtype, local_files_only=True)
            self.controlnet.to(device)
            self.txt2img_control = StableDiffusionControlNetPipeline.from_pipe(base, controlnet=self.controlnet)
            self.img2img_control = StableDiffusionControlNetImg2ImgPipeline.from_pipe(base, controlnet=self.controlnet)
            for pipe in (self.txt2img_control, self.img2img_control):
                pipe.set_progress_bar_config(disable=True)
        # Sizes must be multiples of the VAE's factor times the UNet's downsampling (64 for SD).
        vae_factor = 2 ** (len(base.vae.config.block_out_channels) - 1)
        unet_factor = 2 ** (len(base.unet.config.block_out_channels) - 1)
        self.multiple = vae_factor * unet_factor
        self.scheduler = type(base.scheduler).__name__

    @property
    def pipeline_kind(self) -> str:
        return "controlnet" if self.controlnet is not None else "img2img"

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
            "versions": {"misc_worker": __version__, "torch": torch.__version__, "diffusers": diffusers.__version__},
        }

    def restore(self, request: RestoreRequest) -> RestoreResult:
        import torch

        start = time.perf_counter()
        condition = np.asarray(request.image.convert("RGB"), dtype=np.uint8)
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
            if self.controlnet is None:
                out = self.img2img(image=padded_image, strength=request.strength, **common)
            elif request.strength >= 1.0:
                out = self.txt2img_control(image=padded_image, height=padded_h, width=padded_w,
                                           controlnet_conditioning_scale=1.0, **common)
            else:
                out = self.img2img_control(image=padded_image, control_image=padded_image, height=padded_h,
                                           width=padded_w, strength=request.strength,
                                           controlnet_conditioning_scale=1.0, **common)
        result = np.asarray(out.images[0], dtype=np.float32)[:height, :width, :]
        if not np.isfinite(result).all():
            raise RuntimeError(f"the pipeline produced NaN or infinite pixels ({self.dtype} on {self.device}; try --dtype float32)")
        if request.color_fix:
            result = wavelet_color_fix(result, condition.astype(np.float32) / 255.0)
        pixels = np.clip(np.round(result * 255.0), 0, 255).astype(np.uint8)
        return RestoreResult(pixels=pixels, pipeline=self.pipeline_kind, padded_size=(padded_w, padded_h),
                             seconds=time.perf_counter() - start)
