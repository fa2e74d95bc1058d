"""The controlnet kind: SD 2.1 + a diffusers ControlNet whose condition is the image itself (a
"tile" or super-resolution ControlNet), from noise at strength 1 (txt2img with the ControlNet),
from the noised condition below 1 (ControlNet img2img). Conditioning scale 1."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from .engine import RestoreRequest, check_folder
from .sd import StableDiffusionEngine


class ControlNetEngine(StableDiffusionEngine):
    pipeline_kind = "controlnet"

    def __init__(self, model: str, controlnet: str, device: str = "cpu", dtype: str = "float32", **kwargs):
        from diffusers import ControlNetModel, StableDiffusionControlNetImg2ImgPipeline, StableDiffusionControlNetPipeline

        check_folder(Path(controlnet), "config.json", "ControlNet")
        super().__init__(model, controlnet, device=device, dtype=dtype, **kwargs)
        self.controlnet = ControlNetModel.from_pretrained(self.controlnet_path, dtype=self.torch_dtype,
                                                          local_files_only=True)
        self.controlnet.to(device)
        self.txt2img_control = StableDiffusionControlNetPipeline.from_pipe(self.img2img, controlnet=self.controlnet)
        self.img2img_control = StableDiffusionControlNetImg2ImgPipeline.from_pipe(self.img2img, controlnet=self.controlnet)
        for pipe in (self.txt2img_control, self.img2img_control):
            pipe.set_progress_bar_config(disable=True)

    def _run(self, padded: Image.Image, request: RestoreRequest, width: int, height: int, common: dict):
        if request.strength >= 1.0:
            return self.txt2img_control(image=padded, height=height, width=width,
                                        controlnet_conditioning_scale=1.0, **common)
        return self.img2img_control(image=padded, control_image=padded, height=height, width=width,
                                    strength=request.strength, controlnet_conditioning_scale=1.0, **common)
