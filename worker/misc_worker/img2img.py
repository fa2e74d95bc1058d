"""The img2img kind: SD 2.1 alone, each pass from the noised condition
(`StableDiffusionImg2ImgPipeline`); clients default to strength 0.5 with it."""

from __future__ import annotations

from PIL import Image

from .engine import RestoreRequest
from .sd import StableDiffusionEngine


class Img2ImgEngine(StableDiffusionEngine):
    pipeline_kind = "img2img"

    def __init__(self, model: str, device: str = "cpu", dtype: str = "float32", **kwargs):
        super().__init__(model, None, device=device, dtype=dtype, **kwargs)

    def _run(self, padded: Image.Image, request: RestoreRequest, width: int, height: int, common: dict):
        return self.img2img(image=padded, strength=request.strength, **common)
