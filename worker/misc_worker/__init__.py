"""MISC's diffusion worker: runs the decoder's guided diffusion passes (paper eq. 7 and 8) on
diffusers, over a small HTTP protocol (docs/RESTORER-PROTOCOL.md)."""

__version__ = "0.1.0"
