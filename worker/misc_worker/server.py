"""The HTTP front of the worker (docs/RESTORER-PROTOCOL.md): request validation, one pass at a
time through the engine, JSON errors. Standard library only."""

from __future__ import annotations

import base64
import binascii
import io
import json
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class WorkerServer(ThreadingHTTPServer):
    """Serves one engine; passes run one at a time under a lock, requests queue behind it."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], engine: RestoreEngine, max_pixels: int = DEFAULT_MAX_PIXELS,
                 log=sys.stderr):
        super().__init__(address, Handler)
        self.engine = engine
        self.max_pixels = max_pixels
        # Worst case: 3 bytes a pixel plus PNG filter bytes, 4/3 for base64, and the prompts.
        self.max_body_bytes = 5 * max_pixels + (1 << 20)
        self.lock = threading.Lock()
        self.counter_lock = threading.Lock()
        self.requests = 0
        self.log = log

    def next_request_id(self) -> int:
        with self.counter_lock:
            self.requests += 1
            return self.requests

    def note(self, line: str) -> None:
        if self.log is not None:
            print(line, file=self.log, flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: WorkerServer
    server_version = "misc-worker"

    def log_message(self, format: str, *args: Any) -> None:  # the worker logs its own lines
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(value).encode(), "application/json", headers)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._json(status, {"error": {"message": message, "type": kind}})

    def _discard(self, count: int) -> None:
        try:
            self.connection.settimeout(10)
            while count > 0:
                chunk = self.rfile.read(min(count, 1 << 16))
                if not chunk:
                    break
                count -= len(chunk)
        except OSError:
            pass

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/v1/health":
            return self._error(404, f"no such endpoint: GET {self.path}", "not_found")
        try:
            info = {"status": "ok", **self.server.engine.describe(), "max_pixels": self.server.max_pixels,
                    "requests": self.server.requests}
        except Exception as error:
            return self._error(500, f"health check failed: {type(error).__name__}: {error}", "internal")
        self._json(200, info)

    def do_POST(self) -> None:
        if self.path.split("?")[0] != "/v1/restore":
            self.close_connection = True
            return self._error(404, f"no such endpoint: POST {self.path}", "not_found")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            return self._error(411, "the request needs a Content-Length", "invalid_request")
        if int(length) > self.server.max_body_bytes:
            self.close_connection = True
            self._error(413, f"the body is {length} bytes, more than the worker's {self.server.max_body_bytes}",
                        "invalid_request")
            # Read (a bounded part of) what the client is still sending, so that it gets to read
            # the answer instead of a reset connection.
            self._discard(min(int(length), DRAIN_LIMIT))
            return
        raw = self.rfile.read(int(length))
        request_id = self.server.next_request_id()
        try:
            request = parse_restore(raw, self.server.max_pixels)
        except BadRequest as error:
            self.server.note(f"restore #{request_id}: rejected: {error}")
            return self._error(error.status, str(error), "invalid_request")
        queued = time.perf_counter()
        try:
            with self.server.lock:
                waited = time.perf_counter() - queued
                result = self.server.engine.restore(request)
            png = encode_png(result.pixels)
        except UnsupportedRequest as error:
            self.server.note(f"restore #{request_id}: rejected: {error}")
            return self._error(400, str(error), "invalid_request")
        except Exception as error:
            self.server.note(f"restore #{request_id}: failed:\n{traceback.format_exc()}")
            return self._error(500, f"the pass failed: {type(error).__name__}: {error}", "internal")
        width, height = request.image.size
        self.server.note(
            f"restore #{request_id}: {width}x{height} {result.pipeline} steps={request.steps} "
            f"cfg={request.guidance_scale:g} strength={request.strength:g} seed={request.seed} "
            f"color_fix={'on' if request.color_fix else 'off'} {result.seconds:.2f}s prompt={request.prompt[:60]!r}")
        self._send(200, png, "image/png", {
            "X-MISC-Request-Id": str(request_id),
            "X-MISC-Pipeline": result.pipeline,
            "X-MISC-Seed": str(request.seed),
            "X-MISC-Elapsed-Ms": f"{result.seconds * 1000:.1f}",
            "X-MISC-Queue-Ms": f"{waited * 1000:.1f}",
        })
