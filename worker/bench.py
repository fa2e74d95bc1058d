"""Times one MISC-1 decode on the diffbir kind: three item passes (3 steps, CFG 3.5, no colour fix)
and the final pass (40 steps, CFG 7, negative prompt, colour fix), on a 768x512 condition, as the
Swift decoder sends them. Reports seconds per pass, the total, peak GPU memory and peak RSS.

    python worker/bench.py --diffbir general_full_v1.ckpt --tokenizer sd21/tokenizer --device cuda --dtype float16
    python worker/bench.py --tiny --device cuda        # the tests' tiny random model, no weights needed

Meant for a machine with a GPU (a CPU run of the real model takes many minutes); not run in CI.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

ITEMS = ["smiling woman, short brown hair", "glossy black helmet with white stripes", "white space shuttle model"]
OVERVIEW = "A formal NASA portrait of an astronaut with a helmet and a shuttle model, Hyper Detail, Masterpiece, 4K"


def condition(width: int = 768, height: int = 512) -> Image.Image:
    """A bicubic-upsampled 24x16 thumbnail, like a MISC-1 decode's I_ref."""
    rng = np.random.default_rng(0)
    thumb = rng.integers(0, 256, size=(16, 24, 3), dtype=np.uint8)
    return Image.fromarray(thumb).resize((width, height), Image.BICUBIC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diffbir"), parser.add_argument("--sd"), parser.add_argument("--swinir")
    parser.add_argument("--tokenizer")
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny random DiffBIR (worker/tests/fixtures)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--work-size", type=int, default=1024)
    parser.add_argument("--final-steps", type=int, default=40)
    args = parser.parse_args(argv)

    import torch

    from misc_worker.__main__ import _heads
    from misc_worker.diffbir.pipeline import DiffBIREngine
    from misc_worker.engine import RestoreRequest

    tmp = tempfile.TemporaryDirectory()
    if args.tiny:
        from misc_worker.tiny import write_tokenizer

        ckpt = Path(tmp.name) / "tiny_diffbir_v1.ckpt"
        fixtures = ROOT / "tests" / "fixtures"
        ckpt.write_bytes(gzip.decompress((fixtures / "tiny_diffbir_v1.ckpt.gz").read_bytes()))
        Path(str(ckpt) + ".json").write_text((fixtures / "tiny_diffbir_v1.json").read_text())
        write_tokenizer(Path(tmp.name) / "tokenizer")
        args.diffbir, args.tokenizer = str(ckpt), str(Path(tmp.name) / "tokenizer")
    if not args.diffbir or not args.tokenizer:
        parser.error("give --diffbir CKPT --tokenizer DIR, or --tiny")

    start = time.perf_counter()
    engine = DiffBIREngine(args.diffbir, args.sd, args.swinir, args.tokenizer, device=args.device, dtype=args.dtype,
                           work_size=args.work_size, heads=_heads(args.diffbir))
    load_seconds = time.perf_counter() - start
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    image = condition()
    passes = [(item, "", 3, 3.5, False) for item in ITEMS] + [(OVERVIEW, "Blurry, Low Quality", args.final_steps, 7.0, True)]
    timings = []
    for index, (prompt, negative, steps, cfg, fix) in enumerate(passes):
        request = RestoreRequest(image=image, prompt=prompt, negative_prompt=negative, steps=steps, guidance_scale=cfg,
                                 strength=1.0, seed=1000 + index, color_fix=fix)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        image = Image.fromarray(engine.restore(request).pixels)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - t0)
    report = {
        "device": args.device if not args.device.startswith("cuda") else torch.cuda.get_device_name(),
        "dtype": args.dtype, "model": "tiny" if args.tiny else args.diffbir, "size": "768x512",
        "work_size": args.work_size, "load_seconds": round(load_seconds, 2),
        "pass_seconds": [round(t, 3) for t in timings], "decode_seconds": round(sum(timings), 3),
        "peak_gpu_memory_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1) if args.device.startswith("cuda") else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
