"""DiffBIR v1's ControlLDM on diffusers modules.

- `IRControlNet`: DiffBIR's ControlNet. Unlike diffusers' ControlNet it has no image-embedding
  network: its first convolution takes 8 channels, the noisy latent concatenated with the VAE
  latent of the (SwinIR-restored) condition. It returns 13 features (for SD 2.1), one per skip
  of the UNet's encoder plus the middle block, each through its own 1x1 "zero" convolution.
  The blocks are diffusers' (ControlNetModel's), the forward is written here.
- `ControlLDM`: the text encoder, the condition encoder, the ControlNet feeding the UNet's
  residual inputs (`down_block_additional_residuals`, `mid_block_additional_residual`) at
  control scale 1, and the VAE, with DiffBIR's scale factor 0.18215.
"""

from __future__ import annotations

import torch
from diffusers import ControlNetModel
from torch import nn

SCALE_FACTOR = 0.18215   # cldm.yaml: scale_factor
CONTROL_SCALE = 1.0      # the notebook's control_scales = [1] * 13


class IRControlNet(ControlNetModel):
    def __init__(self, **kwargs):
        super().__init__(in_channels=8, conditioning_embedding_out_channels=(16,), **kwargs)
        del self.controlnet_cond_embedding

    def forward(self, x: torch.Tensor, hint: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor):
        """Returns (skip features, middle feature) for the UNet."""
        emb = self.time_embedding(self.time_proj(timesteps).to(x.dtype))
        h = self.conv_in(torch.cat((x, hint), dim=1))
        features = [h]
        for block in self.down_blocks:
            if getattr(block, "has_cross_attention", False):
                h, outs = block(hidden_states=h, temb=emb, encoder_hidden_states=context)
            else:
                h, outs = block(hidden_states=h, temb=emb)
            features.extend(outs)
        h = self.mid_block(h, emb, encoder_hidden_states=context)
        skips = [conv(f) for conv, f in zip(self.controlnet_down_blocks, features)]
        return skips, self.controlnet_mid_block(h)


class ControlLDM(nn.Module):
    def __init__(self, unet, controlnet: IRControlNet, vae, cond_vae, text_encoder, swinir):
        super().__init__()
        self.unet, self.controlnet, self.vae, self.text_encoder, self.swinir = unet, controlnet, vae, text_encoder, swinir
        # v1 has its own condition encoder (a frozen copy of the VAE encoder); v2 uses the VAE's.
        self.cond_vae = cond_vae if cond_vae is not None else vae

    @property
    def dtype(self) -> torch.dtype:
        return self.unet.dtype

    def encode_text(self, token_ids: torch.Tensor) -> torch.Tensor:
        """[B, 77] OpenCLIP token ids -> [B, 77, width]: the penultimate layer, then ln_final."""
        return self.text_encoder(input_ids=token_ids).last_hidden_state

    def condition_latent(self, control: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] in [0, 1] -> the encoder's mode x 0.18215 (no sampling)."""
        return self.cond_vae.encode(control * 2 - 1).latent_dist.mode() * SCALE_FACTOR

    def eps(self, x: torch.Tensor, t: torch.Tensor, c_latent: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        skips, mid = self.controlnet(x, c_latent, t, context)
        return self.unet(x, t, encoder_hidden_states=context,
                         down_block_additional_residuals=[s * CONTROL_SCALE for s in skips],
                         mid_block_additional_residual=mid * CONTROL_SCALE).sample

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent -> [B, 3, H, W] in about [0, 1]."""
        return (self.vae.decode(z / SCALE_FACTOR).sample + 1) / 2
