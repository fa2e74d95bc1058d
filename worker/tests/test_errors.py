"""Bad requests get a 4xx with a message naming the problem; failures a 500; the worker lives on."""

from __future__ import annotations

import base64
import json
import numpy as np
import pytest
from conftest import Worker, png_base64, request_fields, sample_image

from misc_worker.engine import RestoreResult
from misc_worker.server import WorkerFront, serve_in_thread

BAD = [
    ({"image": None}, "image"),
    ({"prompt": None}, "missing field 'prompt'"),
    ({"steps": None}, "missing field 'steps'"),
    ({"seed": None}, "missing field 'seed'"),
    ({"steps": 0}, "'steps' must be in 1...1000"),
    ({"steps": 1001}, "'steps' must be in 1...1000"),
    ({"steps": "3"}, "'steps' must be an integer"),
    ({"steps": True}, "'steps' must be an integer"),
    ({"steps": 2.5}, "'steps' must be an integer"),
    ({"guidance_scale": "high"}, "'guidance_scale' must be a number"),
    ({"guidance_scale": -1}, "'guidance_scale' must be in"),
    ({"strength": 0}, "'strength' must be in"),
    ({"strength": 1.5}, "'strength' must be in"),
    ({"strength": 0.1, "steps": 3}, "steps x strength"),
    ({"seed": -1}, "'seed' must be in"),
    ({"seed": 2**32}, "'seed' must be in"),
    ({"prompt": 5}, "'prompt' must be a string"),
    ({"color_fix": "yes"}, "'color_fix' must be true or false"),
    ({"guidance": 7}, "unknown field(s): guidance"),
    ({"image": "***not base64***"}, "not valid base64"),
    ({"image": base64.b64encode(b"GIF89a....").decode()}, "not a PNG"),
    ({"image": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40).decode()}, "not a readable PNG"),
    ({"image": png_base64(np.zeros((100, 100, 3), np.uint8))}, "more than the worker's 8192 pixels"),
    ({"width": 200, "height": 100}, "more than the worker's 8192 pixels"),
    ({"width": 0}, "'width' must be in"),
]


@pytest.mark.parametrize("override,message", BAD, ids=[m for _, m in BAD])
def test_bad_fields_get_400_with_a_message(controlnet_worker, override, message):
    fields = request_fields()
    for key, value in override.items():
        if value is None:
            fields.pop(key)
        else:
            fields[key] = value
    r = controlnet_worker.restore(**fields)
    assert r.status == 400, r.body
    assert r.headers["content-type"] == "application/json"
    assert message in r.json()["error"]["message"]


@pytest.mark.parametrize("body,message", [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b"\xff\xfe", "not JSON"),
])
def test_malformed_bodies(controlnet_worker, body, message):
    r = controlnet_worker.request("POST", "/v1/restore", body)
    assert r.status == 400 and message in r.json()["error"]["message"]


def test_unknown_endpoints_and_huge_bodies(controlnet_worker):
    assert controlnet_worker.request("GET", "/v1/nothing").status == 404
    assert controlnet_worker.request("POST", "/v1/health", b"{}").status == 404
    r = controlnet_worker.request("POST", "/v1/restore", b" " * (5 * 8192 + (1 << 20) + 1))
    assert r.status == 413 and "more than the worker's" in r.json()["error"]["message"]


def test_the_worker_survives_bad_requests(controlnet_worker):
    for _ in range(3):
        assert controlnet_worker.restore(**request_fields(steps=0)).status == 400
    assert controlnet_worker.request("GET", "/v1/health").status == 200
    assert controlnet_worker.restore(**request_fields()).status == 200
    assert controlnet_worker.process.poll() is None


def test_missing_model_folder_is_a_clear_startup_error(tmp_path):
    with pytest.raises(AssertionError, match="has no model_index.json"):
        Worker(["--model", str(tmp_path)])


class FlakyEngine:
    """Fails its first pass, then returns the condition: the server must answer 500, then 200."""

    def __init__(self):
        self.calls = 0

    def describe(self) -> dict:
        return {"model": {"id": "fake"}, "pipeline": "fake"}

    def restore(self, request):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("CUDA out of memory (simulated)")
        return RestoreResult(np.asarray(request.image), "fake", request.image.size, 0.0)


def test_internal_failure_is_500_and_the_server_keeps_serving():
    url, stop = serve_in_thread(WorkerFront(FlakyEngine(), max_pixels=8192, log=None))
    try:
        client = Worker.__new__(Worker)
        client.url = url
        first = client.restore(**request_fields())
        assert first.status == 500
        assert "RuntimeError: CUDA out of memory (simulated)" in first.json()["error"]["message"]
        second = client.restore(**request_fields(color_fix=False))
        assert second.status == 200
        assert np.array_equal(second.image(), sample_image())
    finally:
        stop()
