"""python -m misc_worker --model DIR [--controlnet DIR] [--device cpu|cuda] [--dtype ...] [--host H] [--port N]
   python -m misc_worker --diffbir CKPT [--sd CKPT] [--swinir CKPT] --tokenizer DIR [...]

`engine_arguments` and `load_engine` are shared with `python -m misc_worker.serve` (the Ray Serve pool)."""

from __future__ import annotations

import argparse
import os
import signal
import sys

# Local folders only: never reach a hub, whatever the environment says.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")


def _heads(checkpoint: str):
    """DiffBIR's head sizes, or those a `CKPT.json` beside the checkpoint states (the tests' tiny model)."""
    import json
    from pathlib import Path

    from .diffbir.convert import HeadSizes

    sidecar = Path(str(checkpoint) + ".json")
    if not sidecar.is_file():
        return HeadSizes()
    meta = json.loads(sidecar.read_text())
    return HeadSizes(unet_head_channels=meta["unet"]["num_head_channels"],
                     clip_head_width=meta["clip_text"]["width"] // meta["clip_text"]["heads"])


def engine_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that choose and load an engine (and the worker's request limits)."""
    from .engine import DEFAULT_WORK_SIZE, DTYPES
    from .server import DEFAULT_MAX_PIXELS, DEFAULT_MAX_QUEUE

    parser.add_argument("--model", help="local diffusers Stable Diffusion folder (model_index.json), e.g. SD 2.1")
    parser.add_argument("--controlnet", help="local diffusers ControlNet folder; without one, passes are img2img")
    parser.add_argument("--diffbir", metavar="CKPT",
                        help="DiffBIR: v1's general_full_v1.ckpt, or v2's v1_general.pth (then also --sd and --swinir)")
    parser.add_argument("--sd", metavar="CKPT", help="with --diffbir: an SD 2.1-base checkpoint (v2-1_512-ema-pruned.ckpt)")
    parser.add_argument("--swinir", metavar="CKPT", help="with --diffbir: DiffBIR's SwinIR checkpoint (general_swinir_v1.ckpt)")
    parser.add_argument("--tokenizer", metavar="DIR",
                        help="with --diffbir: SD 2.1's CLIP tokenizer folder (vocab.json, merges.txt), e.g. "
                             "stabilityai/stable-diffusion-2-1-base's tokenizer/")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="with --diffbir: read checkpoints that pickle more than tensors (only files you trust)")
    parser.add_argument("--work-size", type=int, default=DEFAULT_WORK_SIZE,
                        help=f"long side of the working resolution of a pass (default {DEFAULT_WORK_SIZE}; 0: the "
                             "condition's own size); results come back to the condition's size")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--dtype", default="float32", choices=DTYPES, help="weights' dtype (default float32; float16 on GPUs)")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help=f"largest condition or output image, in pixels (default {DEFAULT_MAX_PIXELS})")
    parser.add_argument("--max-queue", type=int, default=DEFAULT_MAX_QUEUE,
                        help=f"requests that may wait behind the running pass; past them the worker answers 503 "
                             f"with Retry-After (default {DEFAULT_MAX_QUEUE})")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.max_pixels < 1:
        parser.error("--max-pixels must be positive")
    if args.work_size < 0:
        parser.error("--work-size must be 0 or positive")
    if args.diffbir:
        if args.model or args.controlnet:
            parser.error("--diffbir replaces --model and --controlnet")
        if not args.tokenizer:
            parser.error("--diffbir needs --tokenizer (DiffBIR's checkpoints hold no tokenizer)")
    elif not args.model:
        parser.error("give --model (diffusers SD folder) or --diffbir (DiffBIR checkpoint)")
    elif args.sd or args.swinir or args.tokenizer or args.allow_pickle:
        parser.error("--sd, --swinir, --tokenizer and --allow-pickle go with --diffbir")
    if not (args.device == "cpu" or args.device == "cuda" or args.device.startswith("cuda:")):
        parser.error("--device must be cpu, cuda or cuda:N")
    if args.max_queue < 0:
        parser.error("--max-queue must be 0 or positive")


def load_engine(args: argparse.Namespace):
    """The engine the flags name; raises ModelFolderError with a clear message."""
    from .engine import Engine, ModelFolderError

    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    if args.diffbir:
        from .diffbir.convert import CheckpointError
        from .diffbir.pipeline import DiffBIREngine

        try:
            return DiffBIREngine(args.diffbir, args.sd, args.swinir, args.tokenizer, device=args.device,
                                 dtype=args.dtype, work_size=args.work_size, heads=_heads(args.diffbir),
                                 allow_pickle=args.allow_pickle)
        except CheckpointError as error:
            raise ModelFolderError(str(error)) from None
    return Engine(args.model, args.controlnet, device=args.device, dtype=args.dtype, work_size=args.work_size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m misc_worker",
        description="MISC's diffusion worker: serves guided restoration passes over HTTP (docs/RESTORER-PROTOCOL.md).")
    engine_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860; 0 picks a free one)")
    args = parser.parse_args(argv)
    check_arguments(parser, args)

    from .engine import ModelFolderError
    from .server import WorkerFront, listen, uvicorn_server

    try:
        engine = load_engine(args)
    except ModelFolderError as error:
        print(f"misc_worker: error: {error}", file=sys.stderr)
        return 2
    # A parent may have started us with signals blocked (Foundation's Process does): unblock
    # them; uvicorn makes SIGTERM and SIGINT a clean exit.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        sock = listen(args.host, args.port)
    except OSError as error:
        print(f"misc_worker: error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    front = WorkerFront(engine, max_pixels=args.max_pixels, max_queue=args.max_queue)
    host, port = sock.getsockname()[:2]
    info = engine.describe()
    print(f"misc_worker: {info['model']['id']} ({info['pipeline']}, {args.device}, {args.dtype}, "
          f"queue {args.max_queue}) listening on http://{host}:{port}", flush=True)
    try:
        uvicorn_server(front).run(sockets=[sock])
    finally:
        sock.close()
        front.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
