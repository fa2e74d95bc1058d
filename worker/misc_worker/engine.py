"""The engines behind the worker, and what they share.

Every pipeline kind is an engine: `describe()` for the health check, `restore(request)` for one
pass, `pipeline_kind` ("img2img", "controlnet" or "diffbir"). `Engine` here is the diffusers SD
kind (img2img, or SD + a diffusers ControlNet); `diffbir.pipeline.DiffBIREngine` is DiffBIR v1.

All kinds run a pass at a working size (`run_at_work_size`): the condition is resized so that its
long side is `work_size` (1024 by default, as the MISC authors run DiffBIR), the pass runs there,
and the result comes back to the condition's size by bicubic resampling, followed by the wavelet
colour fix against the full-size condition, so that the low frequencies stay the condition's.
"""

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


DEFAULT_WORK_SIZE = 1024


class UnsupportedRequest(ValueError):
    """A valid request that this pipeline kind cannot serve (a 400)."""


def working_size(width: int, height: int, work_size: int | None) -> tuple[int, int]:
    """(width, height) with the long side `work_size`; unchanged when `work_size` is 0 or None."""
    if not work_size:
        return width, height
    scale = work_size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def run_at_work_size(image: Image.Image, work_size: int | None, one_pass, color_fix: bool) -> np.ndarray:
    """`one_pass(uint8 [h, w, 3]) -> float [h, w, 3]` run at the working size; returns float [H, W, 3]
    at `image`'s size (bicubic, then the colour fix against `image` when `color_fix`)."""
    import torch
    import torch.nn.functional as F

    from .colorfix import wavelet_color_fix_torch

    width, height = image.size
    work_w, work_h = working_size(width, height, work_size)
    work = image if (work_w, work_h) == (width, height) else image.resize((work_w, work_h), Image.BICUBIC)
    out = one_pass(np.asarray(work.convert("RGB"), dtype=np.uint8))
    if (work_w, work_h) == (width, height):
        return out
    with torch.inference_mode():
        result = torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)).permute(2, 0, 1)[None]
        result = F.interpolate(result, size=(height, width), mode="bicubic", align_corners=False,
                               antialias=work_w > width)
        if color_fix:
            condition = torch.from_numpy(np.asarray(image.convert("RGB"))).permute(2, 0, 1)[None].float() / 255.0
            result = wavelet_color_fix_torch(result, condition)
            del condition
        return result[0].permute(1, 2, 0).numpy()


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Float [H, W, 3] in about [0, 1] -> uint8, rounded; in place where it can (12-megapixel answers)."""
    pixels = np.asarray(pixels, dtype=np.float32)
    if not pixels.flags.writeable:
        pixels = pixels.copy()
    np.clip(pixels, 0.0, 1.0, out=pixels)
    pixels *= 255.0
    np.round(pixels, out=pixels)
    return pixels.astype(np.uint8)


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

    def __init__(self, model: str, controlnet: str | None = None, device: str = "cpu", dtype: str = "float32",
                 work_size: int | None = DEFAULT_WORK_SIZE):
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
            result = wavelet_color_fix(result, condition.astype(np.float32) / 255.0).astype(np.float32)
        return result, (padded_w, padded_h)
