"""The real worker on the tiny random pipeline: protocol, determinism, conditioning, colour fix."""

from __future__ import annotations

import numpy as np
from conftest import png_base64, request_fields, sample_image


def test_health_names_the_model_and_the_set_up(controlnet_worker, tiny_model):
    r = controlnet_worker.request("GET", "/v1/health")
    assert r.status == 200
    info = r.json()
    assert info["status"] == "ok"
    assert info["model"]["path"] == str(tiny_model[0].resolve())
    assert info["controlnet"]["path"] == str(tiny_model[1].resolve())
    assert info["pipeline"] == "controlnet"
    assert info["device"] == "cpu" and info["dtype"] == "float32"
    assert info["max_pixels"] == 8192 and info["size_multiple"] == 16


def test_output_has_the_condition_size_and_timing_headers(controlnet_worker):
    # 60x44 is not a multiple of 16: padded inside, cropped back exactly.
    r = controlnet_worker.restore(**request_fields())
    assert r.status == 200
    assert r.image().shape == (44, 60, 3)
    assert r.headers["x-misc-pipeline"] == "controlnet"
    assert r.headers["x-misc-seed"] == "7"
    assert float(r.headers["x-misc-elapsed-ms"]) > 0
    assert int(r.headers["x-misc-request-id"]) >= 1


def test_same_seed_same_bytes_other_seed_other_image(controlnet_worker):
    a = controlnet_worker.restore(**request_fields(seed=11))
    b = controlnet_worker.restore(**request_fields(seed=11))
    c = controlnet_worker.restore(**request_fields(seed=12))
    assert a.status == b.status == c.status == 200
    assert a.body == b.body
    assert not np.array_equal(a.image(), c.image())


def test_the_condition_drives_the_controlnet(controlnet_worker):
    # From pure noise (strength 1) and without the colour fix, only the ControlNet sees the condition.
    a = controlnet_worker.restore(**request_fields(color_fix=False))
    b = controlnet_worker.restore(**request_fields(color_fix=False, image=png_base64(sample_image(seed=1)[:, ::-1])))
    assert a.status == b.status == 200
    assert np.abs(a.image().astype(int) - b.image().astype(int)).mean() > 1.0


def test_color_fix_takes_low_frequencies_from_the_condition(controlnet_worker):
    condition = sample_image().astype(float)
    off = controlnet_worker.restore(**request_fields(color_fix=False)).image().astype(float)
    on = controlnet_worker.restore(**request_fields(color_fix=True)).image().astype(float)
    assert not np.array_equal(on, off)
    # The mean colour follows the condition once fixed.
    assert np.abs(on.mean((0, 1)) - condition.mean((0, 1))).max() < np.abs(off.mean((0, 1)) - condition.mean((0, 1))).max()


def test_optional_output_size(controlnet_worker):
    r = controlnet_worker.restore(**request_fields(width=40, height=24))
    assert r.status == 200 and r.image().shape == (24, 40, 3)


def test_partial_strength_runs_controlnet_img2img(controlnet_worker):
    r = controlnet_worker.restore(**request_fields(strength=0.5, steps=4))
    assert r.status == 200 and r.image().shape == (44, 60, 3)


def test_img2img_without_controlnet(img2img_worker):
    assert img2img_worker.request("GET", "/v1/health").json()["controlnet"] is None
    a = img2img_worker.restore(**request_fields(color_fix=False, strength=0.6, steps=3))
    b = img2img_worker.restore(**request_fields(color_fix=False, strength=0.6, steps=3))
    c = img2img_worker.restore(**request_fields(color_fix=False, strength=0.6, steps=3,
                                                image=png_base64(sample_image(seed=1)[::-1])))
    assert a.status == 200 and a.headers["x-misc-pipeline"] == "img2img"
    assert a.image().shape == (44, 60, 3)
    assert a.body == b.body
    assert not np.array_equal(a.image(), c.image())
