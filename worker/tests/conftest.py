"""Fixtures: the tiny random pipeline written to a temp folder, and the real worker served on it."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

WORKER_ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 300


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    def image(self) -> np.ndarray:
        assert self.headers.get("content-type") == "image/png", self.body[:200]
        return np.asarray(Image.open(io.BytesIO(self.body)).convert("RGB"))


class Worker:
    """A running `python -m misc_worker` subprocess and a small client for it."""

    def __init__(self, args: list[str]):
        env = dict(os.environ, PYTHONPATH=str(WORKER_ROOT), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen([sys.executable, "-m", "misc_worker", "--port", "0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.log: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        line = self._first_stdout_line()
        assert "listening on http://" in line, f"worker did not start: {line!r}\n" + "".join(self.log[-40:])
        self.url = line.strip().rsplit(" ", 1)[-1]

    def _drain_stderr(self) -> None:
        for line in self.process.stderr:
            self.log.append(line)

    def _first_stdout_line(self) -> str:
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(STARTUP_SECONDS)
        return result[0] if result else ""

    def request(self, method: str, path: str, body: bytes | None = None, timeout: float = 300) -> Response:
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers={"Content-Type": "application/json"} if body is not None else {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())

    def restore(self, **fields) -> Response:
        return self.request("POST", "/v1/restore", json.dumps(fields).encode())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def png_base64(pixels: np.ndarray) -> str:
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="RGB").save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def sample_image(width: int = 60, height: int = 44, seed: int = 0) -> np.ndarray:
    """A smooth colour gradient with a few random blocks: low and high frequencies both."""
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    base = np.stack([x * 255 / width, y * 255 / height, np.full_like(x, 128.0)], axis=-1)
    blocks = rng.integers(0, 255, size=(height // 8 + 1, width // 8 + 1, 3)).repeat(8, 0).repeat(8, 1)[:height, :width]
    return (0.6 * base + 0.4 * blocks).astype(np.uint8)


def request_fields(**overrides) -> dict:
    fields = dict(image=png_base64(sample_image()), prompt="a red car", negative_prompt="blurry",
                  steps=2, guidance_scale=3.5, strength=1.0, seed=7)
    fields.update(overrides)
    return fields


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> tuple[Path, Path]:
    sys.path.insert(0, str(WORKER_ROOT))
    from misc_worker import tiny

    return tiny.write(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def controlnet_worker(tiny_model):
    model, controlnet = tiny_model
    worker = Worker(["--model", str(model), "--controlnet", str(controlnet), "--max-pixels", "8192", "--threads", "1",
                     "--work-size", "0"])
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def img2img_worker(tiny_model):
    model, _ = tiny_model
    # A working size above the test images: passes run upscaled, then come back to the request size.
    worker = Worker(["--model", str(model), "--threads", "1", "--work-size", "96"])
    yield worker
    worker.stop()
