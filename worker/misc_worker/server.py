"""The HTTP front of the worker (docs/RESTORER-PROTOCOL.md): request validation, a bounded queue in
front of one engine (one pass at a time), JSON errors; an ASGI app (Starlette) served by uvicorn.

The serving layer knows nothing of diffusion: it hands a validated `RestoreRequest` to the engine
and encodes the pixels it gets back. `misc_worker.serve` puts the same handlers on Ray Serve."""

from __future__ import annotations

import base64
import binascii
import io
import json
import asyncio
import math
import os
import socket
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np
from PIL import Image

from .engine import RestoreRequest, RestoreResult, UnsupportedRequest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_STEPS = 1000
MAX_PROMPT_CHARS = 10_000
MAX_SEED = 2**32 - 1
DEFAULT_MAX_PIXELS = 2048 * 2048
# At most this much of an oversized body is read (and dropped) before the connection closes.
DRAIN_LIMIT = 64 << 20
# Requests waiting behind the running pass before the worker answers 503 (`--max-queue`).
DEFAULT_MAX_QUEUE = 16
# Bounds of the Retry-After of a 503, in seconds.
RETRY_AFTER_MIN, RETRY_AFTER_MAX = 1, 120


class BadRequest(Exception):
    """The request is malformed; the message says which field and why (HTTP `status`)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class RestoreEngine(Protocol):
    def describe(self) -> dict: ...
    def restore(self, request: RestoreRequest) -> RestoreResult: ...


_FIELDS = {"image", "prompt", "negative_prompt", "steps", "guidance_scale", "strength", "seed",
           "width", "height", "color_fix"}


def _integer(body: dict, name: str, low: int, high: int, default: int | None = None) -> int | None:
    if name not in body or body[name] is None:
        if default is None and name not in ("width", "height"):
            raise BadRequest(f"missing field '{name}'")
        return default
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        raise BadRequest(f"'{name}' must be an integer, got {json.dumps(value)[:40]}")
    value = int(value)
    if not low <= value <= high:
        raise BadRequest(f"'{name}' must be in {low}...{high}, got {value}")
    return value


def _number(body: dict, name: str, low: float, high: float, default: float | None = None,
            low_open: bool = False) -> float:
    if name not in body or body[name] is None:
        if default is None:
            raise BadRequest(f"missing field '{name}'")
        return default
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"'{name}' must be a number, got {json.dumps(value)[:40]}")
    value = float(value)
    if not (low < value if low_open else low <= value) or not value <= high:
        interval = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
        raise BadRequest(f"'{name}' must be in {interval}, got {value}")
    return value


def _string(body: dict, name: str, default: str | None = None) -> str:
    if name not in body or body[name] is None:
        if default is None:
            raise BadRequest(f"missing field '{name}'")
        return default
    value = body[name]
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string, got {type(value).__name__}")
    if len(value) > MAX_PROMPT_CHARS:
        raise BadRequest(f"'{name}' is longer than {MAX_PROMPT_CHARS} characters")
    return value


def decode_png(encoded: str, max_pixels: int) -> Image.Image:
    """The base64 PNG of a request as an RGB image; its size is checked before any pixel is decoded."""
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadRequest(f"'image' is not valid base64: {error}") from None
    if not data.startswith(PNG_SIGNATURE):
        raise BadRequest("'image' is not a PNG (bad signature)")
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        width, height = image.size
        if width < 1 or height < 1 or width * height > max_pixels:
            raise BadRequest(f"'image' is {width}x{height}, more than the worker's {max_pixels} pixels")
        image.load()
        return image.convert("RGB")
    except BadRequest:
        raise
    except Exception as error:  # PIL raises many types on broken files
        raise BadRequest(f"'image' is not a readable PNG: {error}") from None


def parse_restore(raw: bytes, max_pixels: int) -> RestoreRequest:
    """Validates a /v1/restore body; raises BadRequest with the first problem found."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"the body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    if "image" not in body:
        raise BadRequest("missing field 'image'")
    if not isinstance(body["image"], str):
        raise BadRequest("'image' must be a base64 string")
    prompt = _string(body, "prompt")
    negative_prompt = _string(body, "negative_prompt", "")
    steps = _integer(body, "steps", 1, MAX_STEPS)
    guidance_scale = _number(body, "guidance_scale", 0.0, 100.0)
    strength = _number(body, "strength", 0.0, 1.0, default=1.0, low_open=True)
    seed = _integer(body, "seed", 0, MAX_SEED)
    width = _integer(body, "width", 1, max_pixels)
    height = _integer(body, "height", 1, max_pixels)
    color_fix = body.get("color_fix", True)
    if not isinstance(color_fix, bool):
        raise BadRequest("'color_fix' must be true or false")
    if int(steps * strength) < 1:
        raise BadRequest(f"steps x strength must be at least 1 (got {steps} x {strength})")
    if width is not None and height is not None and width * height > max_pixels:
        raise BadRequest(f"the output size {width}x{height} is more than the worker's {max_pixels} pixels")
    image = decode_png(body["image"], max_pixels)
    if width is not None or height is not None:
        size = (width or image.width, height or image.height)
        if size[0] * size[1] > max_pixels:
            raise BadRequest(f"the output size {size[0]}x{size[1]} is more than the worker's {max_pixels} pixels")
        if size != image.size:
            image = image.resize(size, Image.BICUBIC)
    return RestoreRequest(image=image, prompt=prompt, negative_prompt=negative_prompt, steps=steps,
                          guidance_scale=guidance_scale, strength=strength, seed=seed, color_fix=color_fix)


def encode_png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(out, format="PNG", optimize=False)
    return out.getvalue()


class WorkerFront:
    """The protocol over one engine, for any ASGI host (uvicorn here, Ray Serve in `serve.py`).

    At most one pass runs at a time, on one engine thread. Requests that find `max_queue` others
    waiting get a 503 with `Retry-After` (the expected wait) before their body is kept, so memory
    stays bounded by `max_queue + 1` bodies whatever the load."""

    def __init__(self, engine: RestoreEngine, max_pixels: int = DEFAULT_MAX_PIXELS,
                 max_queue: int = DEFAULT_MAX_QUEUE, log=sys.stderr):
        self.engine = engine
        self.max_pixels = max_pixels
        self.max_queue = max_queue
        # Worst case: 3 bytes a pixel plus PNG filter bytes, 4/3 for base64, and the prompts.
        self.max_body_bytes = 5 * max_pixels + (1 << 20)
        self.log = log
        self.requests = 0
        self.busy = 0  # 503s answered
        self.admitted = 0  # requests holding a place: being read, waiting or running
        self.pass_seconds = 1.0  # moving average of a pass, for Retry-After
        self._engine_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="misc-pass")
        self._lock = threading.Lock()

    def note(self, line: str) -> None:
        if self.log is not None:
            print(line, file=self.log, flush=True)

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the queue ahead times the mean pass."""
        return max(RETRY_AFTER_MIN, min(RETRY_AFTER_MAX, math.ceil(self.admitted * self.pass_seconds)))

    @staticmethod
    def _json(status: int, value: Any, headers: dict[str, str] | None = None):
        from starlette.responses import Response
        return Response(json.dumps(value).encode(), status_code=status, media_type="application/json", headers=headers)

    def _error(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None):
        return self._json(status, {"error": {"message": message, "type": kind}}, headers)

    async def _drain(self, request, limit: int) -> None:
        """Reads and drops (a bounded part of) a body, so that the client reads the answer
        instead of a reset connection."""
        seen = 0
        try:
            async for chunk in request.stream():
                seen += len(chunk)
                if seen >= limit:
                    break
        except Exception:
            pass

    async def health(self, request=None):
        try:
            info = {"status": "ok", **self.engine.describe(), "max_pixels": self.max_pixels,
                    "requests": self.requests,
                    "queue": {"waiting": max(0, self.admitted - 1), "max": self.max_queue, "busy_answers": self.busy},
                    "pid": os.getpid()}
        except Exception as error:
            return self._error(500, f"health check failed: {type(error).__name__}: {error}", "internal")
        return self._json(200, info)

    async def not_found(self, request):
        return self._error(404, f"no such endpoint: {request.method} {request.url.path}", "not_found",
                           {"Connection": "close"} if request.method == "POST" else None)

    async def restore(self, request):
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            return self._error(411, "the request needs a Content-Length", "invalid_request", {"Connection": "close"})
        length = int(length)
        if length > self.max_body_bytes:
            await self._drain(request, min(length, DRAIN_LIMIT))
            return self._error(413, f"the body is {length} bytes, more than the worker's {self.max_body_bytes}",
                               "invalid_request", {"Connection": "close"})
        with self._lock:
            self.requests += 1
            request_id = self.requests
            full = self.admitted > self.max_queue  # one running, max_queue waiting
            if full:
                self.busy += 1
            else:
                self.admitted += 1
        if full:
            retry = self.retry_after()
            await self._drain(request, length)
            self.note(f"restore #{request_id}: busy ({self.max_queue} waiting): 503, Retry-After {retry}")
            return self._error(503, f"the worker is busy: {self.max_queue} requests are waiting; retry in {retry} s",
                               "busy", {"Retry-After": str(retry)})
        try:
            return await self._admitted(request, request_id, length)
        finally:
            with self._lock:
                self.admitted -= 1

    async def _admitted(self, request, request_id: int, length: int):
        from starlette.responses import Response

        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > length:
                return self._error(400, "the body is longer than its Content-Length", "invalid_request",
                                   {"Connection": "close"})
        loop = asyncio.get_running_loop()
        try:
            # Base64 and PNG decoding run off the event loop, beside the pass.
            parsed = await loop.run_in_executor(None, parse_restore, bytes(raw), self.max_pixels)
        except BadRequest as error:
            self.note(f"restore #{request_id}: rejected: {error}")
            return self._error(error.status, str(error), "invalid_request")
        del raw
        queued = time.perf_counter()
        try:
            result, png, waited = await loop.run_in_executor(
                self._engine_thread, self._run, parsed, queued)
        except UnsupportedRequest as error:
            self.note(f"restore #{request_id}: rejected: {error}")
            return self._error(400, str(error), "invalid_request")
        except Exception as error:
            self.note(f"restore #{request_id}: failed:\n{traceback.format_exc()}")
            return self._error(500, f"the pass failed: {type(error).__name__}: {error}", "internal")
        self.pass_seconds = 0.7 * self.pass_seconds + 0.3 * max(result.seconds, 0.01)
        width, height = parsed.image.size
        self.note(
            f"restore #{request_id}: {width}x{height} {result.pipeline} steps={parsed.steps} "
            f"cfg={parsed.guidance_scale:g} strength={parsed.strength:g} seed={parsed.seed} "
            f"color_fix={'on' if parsed.color_fix else 'off'} {result.seconds:.2f}s prompt={parsed.prompt[:60]!r}")
        return Response(png, media_type="image/png", headers={
            "X-MISC-Request-Id": str(request_id),
            "X-MISC-Pipeline": result.pipeline,
            "X-MISC-Seed": str(parsed.seed),
            "X-MISC-Elapsed-Ms": f"{result.seconds * 1000:.1f}",
            "X-MISC-Queue-Ms": f"{waited * 1000:.1f}",
        })

    def _run(self, parsed: RestoreRequest, queued: float) -> tuple[RestoreResult, bytes, float]:
        """On the engine thread: one pass and its PNG."""
        waited = time.perf_counter() - queued
        result = self.engine.restore(parsed)
        return result, encode_png(result.pixels), waited

    def close(self) -> None:
        self._engine_thread.shutdown(wait=False, cancel_futures=True)


def create_app(front: WorkerFront):
    """The Starlette app of `front`: GET /v1/health, POST /v1/restore, JSON 404s elsewhere."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def fallback(request):
        return await front.not_found(request)

    app = Starlette(routes=[
        Route("/v1/health", front.health, methods=["GET"]),
        Route("/v1/restore", front.restore, methods=["POST"]),
        Route("/{path:path}", fallback, methods=["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]),
    ])
    return app


def listen(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one), bound before the server starts so that its port
    can be printed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_server(front: WorkerFront, connections: int | None = None):
    """uvicorn on the app of `front`. Past `connections` open connections uvicorn itself answers
    503 (a backstop far above the queue: each open connection costs a few kB, never a body)."""
    import uvicorn

    config = uvicorn.Config(create_app(front), log_level="warning", access_log=False, lifespan="off",
                            limit_concurrency=connections or (front.max_queue + 1024),
                            timeout_keep_alive=30, timeout_graceful_shutdown=5, http="h11")
    return uvicorn.Server(config)


def serve_in_thread(front: WorkerFront, host: str = "127.0.0.1", port: int = 0):
    """Tests: the app on a thread; returns (url, stop)."""
    sock = listen(host, port)
    server = uvicorn_server(front)
    server.install_signal_handlers = lambda: None  # uvicorn < 0.29
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        sock.close()
        front.close()

    return f"http://{host}:{sock.getsockname()[1]}", stop
