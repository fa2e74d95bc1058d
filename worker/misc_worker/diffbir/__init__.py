"""The diffbir pipeline kind: DiffBIR v1 (SwinIR + IRControlNet on SD 2.1-base) from DiffBIR's own
checkpoint files. convert.py reads and converts them, model.py holds the ControlNet and the
ControlLDM on diffusers modules, sampler.py the respaced DDPM sampler, swinir.py the restoration
stage, pipeline.py the engine the worker serves."""
