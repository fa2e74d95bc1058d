"""The engines behind the worker, and what they share.

Every pipeline kind is an engine (`RestoreEngine`): `describe()` for the health check,
`restore(request)` for one pass, `pipeline_kind`. One module a kind:
- `img2img.py`: SD img2img from the condition (`sd.py` holds what it shares with controlnet);
- `controlnet.py`: SD + a diffusers ControlNet conditioned on the image;
- `diffbir/`: DiffBIR v1 (SwinIR + IRControlNet), with its checkpoint converter beside it.

All kinds run a pass at a working size (`run_at_work_size`): the condition is resized so that its
long side is `work_size` (1024 by default, as the MISC authors run DiffBIR), the pass runs there,
and the result comes back to the condition's size by bicubic resampling, followed by the wavelet
colour fix against the full-size condition, so that the low frequencies stay the condition's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

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
            condition = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None].float() / 255.0
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


class RestoreEngine(Protocol):
    """What every pipeline kind provides (img2img.py, controlnet.py, diffbir/pipeline.py)."""

    pipeline_kind: str

    def describe(self) -> dict: ...
    def restore(self, request: RestoreRequest) -> RestoreResult: ...


def Engine(model: str, controlnet: str | None = None, device: str = "cpu", dtype: str = "float32",
           work_size: int | None = DEFAULT_WORK_SIZE) -> RestoreEngine:
    """The diffusers SD kinds: img2img, or SD + a diffusers ControlNet when `controlnet` is given."""
    if controlnet:
        from .controlnet import ControlNetEngine
        return ControlNetEngine(model, controlnet, device=device, dtype=dtype, work_size=work_size)
    from .img2img import Img2ImgEngine
    return Img2ImgEngine(model, device=device, dtype=dtype, work_size=work_size)
