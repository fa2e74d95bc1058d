"""The diffbir kind against DiffBIR v1's own code (fixtures from scripts/fixtures/make_diffbir_fixtures.py),
its checkpoint handling, and the worker serving it."""

from __future__ import annotations

import gzip
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import Worker, png_base64, request_fields, sample_image

FIXTURES = Path(__file__).parent / "fixtures"
TOLERANCE = 1e-4


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("diffbir")
    path = root / "tiny_diffbir_v1.ckpt"
    path.write_bytes(gzip.decompress((FIXTURES / "tiny_diffbir_v1.ckpt.gz").read_bytes()))
    shutil.copy(FIXTURES / "tiny_diffbir_v1.json", str(path) + ".json")
    return path


@pytest.fixture(scope="session")
def reference() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "tiny_diffbir_v1_outputs.npz"))


@pytest.fixture(scope="session")
def engine(tiny_ckpt):
    from misc_worker.__main__ import _heads
    from misc_worker.diffbir.pipeline import DiffBIREngine

    return DiffBIREngine(str(tiny_ckpt), heads=_heads(str(tiny_ckpt)))


def _max_error(a, b) -> float:
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


def test_swinir_stage_matches_diffbir(engine, reference):
    with torch.no_grad():
        out = engine.model.swinir(torch.from_numpy(reference["lq"]))
    assert _max_error(out, reference["swinir"]) < TOLERANCE


def test_text_and_condition_latent_match_diffbir(engine, reference):
    with torch.no_grad():
        context = engine.model.encode_text(torch.from_numpy(reference["tokens"][:1]))
        latent = engine.model.condition_latent(torch.from_numpy(reference["swinir"]))
    assert _max_error(context, reference["c_txt"]) < TOLERANCE
    assert _max_error(latent, reference["c_latent"]) < TOLERANCE


def test_controlnet_unet_forward_matches_diffbir(engine, reference):
    with torch.no_grad():
        eps = engine.model.eps(torch.from_numpy(reference["x_noisy"]), torch.from_numpy(reference["t"]),
                               torch.from_numpy(reference["c_latent"]), torch.from_numpy(reference["c_txt"]))
    assert _max_error(eps, reference["eps"]) < TOLERANCE


def test_four_step_sample_with_colour_fix_matches_diffbir(engine, reference):
    from misc_worker.diffbir.sampler import respaced_timesteps

    meta = json.loads((FIXTURES / "tiny_diffbir_v1.json").read_text())
    assert respaced_timesteps(meta["steps"]) == reference["sample_timesteps"].tolist()
    tokens = torch.from_numpy(reference["tokens"])
    out = engine.sr_pipe(torch.from_numpy(reference["lq"]), tokens[:1], tokens[1:2], meta["steps"], meta["cfg"],
                         meta["seed"], color_fix=True)
    assert _max_error(out, reference["sample"]) < TOLERANCE


def test_respaced_timesteps_follow_iddpm():
    from misc_worker.diffbir.sampler import respaced_timesteps

    assert respaced_timesteps(1) == [0]
    assert respaced_timesteps(3) == [0, 500, 999]  # round(499.5) is 500 (half to even)
    assert len(respaced_timesteps(40)) == 40 and respaced_timesteps(40)[-1] == 999


def _split_v2(full: dict, root: Path) -> tuple[Path, Path, Path]:
    """The tiny checkpoint as DiffBIR v2 ships v1: ControlNet alone, SD 2.1 checkpoint, SwinIR checkpoint."""
    control = {k[len("control_model."):]: v for k, v in full.items() if k.startswith("control_model.")}
    sd = {k: v for k, v in full.items() if k.startswith(("model.diffusion_model.", "first_stage_model.", "cond_stage_model."))}
    swinir = {k[len("preprocess_model."):]: v for k, v in full.items() if k.startswith("preprocess_model.")}
    paths = root / "v1_general.pth", root / "sd21.ckpt", root / "swinir.ckpt"
    torch.save(control, paths[0])
    torch.save({"state_dict": sd}, paths[1])
    torch.save({"params": {"module." + k: v for k, v in swinir.items()}}, paths[2])
    return paths


def test_v2_split_files_load_into_the_same_model(tiny_ckpt, reference, tmp_path):
    from misc_worker.__main__ import _heads
    from misc_worker.diffbir.convert import read_state_dict
    from misc_worker.diffbir.pipeline import DiffBIREngine

    control, sd, swinir = _split_v2(read_state_dict(tiny_ckpt), tmp_path)
    engine = DiffBIREngine(str(control), str(sd), str(swinir), heads=_heads(str(tiny_ckpt)))
    with torch.no_grad():
        eps = engine.model.eps(torch.from_numpy(reference["x_noisy"]), torch.from_numpy(reference["t"]),
                               torch.from_numpy(reference["c_latent"]), torch.from_numpy(reference["c_txt"]))
        out = engine.model.swinir(torch.from_numpy(reference["lq"]))
    assert _max_error(eps, reference["eps"]) < TOLERANCE
    assert _max_error(out, reference["swinir"]) < TOLERANCE
    # v2 has no separate condition encoder: the VAE's encoder makes the condition latent.
    assert engine.model.cond_vae is engine.model.vae


def test_wrong_files_say_which_keys_were_expected(tiny_ckpt, tmp_path):
    from misc_worker.diffbir.convert import CheckpointError, assemble, read_state_dict

    with pytest.raises(CheckpointError, match="control_model.input_blocks.0.0.weight.*zero_convs.0.0.weight"):
        assemble({"foo.weight": torch.zeros(1)})
    full = read_state_dict(tiny_ckpt)
    control, sd, swinir = _split_v2(full, tmp_path)
    with pytest.raises(CheckpointError, match=r"lack UNet, VAE, OpenCLIP text encoder, SwinIR.*give --diffbir|--sd and --swinir"):
        assemble(read_state_dict(control))
    with pytest.raises(CheckpointError, match="--sd is not a Stable Diffusion 2.1 checkpoint.*model.diffusion_model"):
        assemble(read_state_dict(control), read_state_dict(swinir), read_state_dict(swinir))
    with pytest.raises(CheckpointError, match="--swinir is not DiffBIR's SwinIR.*conv_first.1.weight"):
        assemble(read_state_dict(control), read_state_dict(sd), read_state_dict(sd))
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(CheckpointError, match="not a torch checkpoint"):
        read_state_dict(bad)


def test_worker_refuses_a_wrong_file_with_the_keys_expected(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "sd.ckpt"
    torch.save({"state_dict": {"model.diffusion_model.x": torch.zeros(1)}}, bad)
    tokenizer = tmp_path / "tok"
    from misc_worker.tiny import write_tokenizer
    write_tokenizer(tokenizer)
    run = subprocess.run([sys.executable, "-m", "misc_worker", "--diffbir", str(bad), "--tokenizer", str(tokenizer)],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert run.returncode == 2
    assert "is not a DiffBIR checkpoint" in run.stderr and "control_model.input_blocks.0.0.weight" in run.stderr


@pytest.fixture(scope="session")
def diffbir_worker(tiny_ckpt, tmp_path_factory):
    from misc_worker.tiny import write_tokenizer

    tokenizer = tmp_path_factory.mktemp("tokenizer")
    write_tokenizer(tokenizer)
    worker = Worker(["--diffbir", str(tiny_ckpt), "--tokenizer", str(tokenizer), "--work-size", "128",
                     "--max-pixels", str(4000 * 3000), "--threads", "2"])
    yield worker
    worker.stop()


def test_health_reports_the_diffbir_kind(diffbir_worker):
    health = diffbir_worker.request("GET", "/v1/health").json()
    assert health["pipeline"] == "diffbir"
    assert health["work_size"] == 128 and health["size_multiple"] == 64
    assert "fixed_small" in health["scheduler"]


def test_diffbir_pass_is_deterministic_and_keeps_the_size(diffbir_worker):
    fields = request_fields(steps=3, guidance_scale=3.5)
    first, second = diffbir_worker.restore(**fields), diffbir_worker.restore(**fields)
    assert first.status == 200, first.body[:300]
    assert first.headers["x-misc-pipeline"] == "diffbir"
    assert first.body == second.body
    assert first.image().shape == (44, 60, 3)
    other = diffbir_worker.restore(**request_fields(steps=3, guidance_scale=3.5, seed=8))
    assert other.body != first.body


def test_diffbir_refuses_a_strength_below_one(diffbir_worker):
    response = diffbir_worker.restore(**request_fields(strength=0.5))
    assert response.status == 400
    assert "strength" in response.json()["error"]["message"]


def test_full_size_result_keeps_the_condition_low_frequencies(diffbir_worker):
    """At 240x176 the pass runs at 128x94 and comes back by bicubic plus the colour fix."""
    from misc_worker.colorfix import low_frequency

    image = sample_image(240, 176, seed=3)
    response = diffbir_worker.restore(**request_fields(image=png_base64(image), steps=2))
    assert response.status == 200
    out = response.image().astype(np.float64) / 255
    assert out.shape == (176, 240, 3)
    error = np.abs(low_frequency(out) - low_frequency(image.astype(np.float64) / 255)).mean()
    assert error < 0.03, error


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS is read from /proc")
def test_a_twelve_megapixel_pass_stays_within_memory_bounds(diffbir_worker):
    """4000x3000: the pass runs at the working size, the answer comes back at full size."""
    image = sample_image(4000, 3000, seed=5)
    start = time.perf_counter()
    response = diffbir_worker.restore(**request_fields(image=png_base64(image), steps=2))
    seconds = time.perf_counter() - start
    assert response.status == 200, response.body[:300]
    assert response.image().shape == (3000, 4000, 3)
    peak = _peak_rss_mib(diffbir_worker.process.pid)
    print(f"12 MP pass: {seconds:.1f} s, worker peak RSS {peak:.0f} MiB")
    assert peak < 2048, f"peak RSS {peak:.0f} MiB"


def test_half_precision_runs_the_same_pass(tiny_ckpt, reference):
    """The dtype path of --dtype float16 on a GPU, checked on the CPU with bfloat16."""
    from misc_worker.__main__ import _heads
    from misc_worker.diffbir.pipeline import DiffBIREngine

    engine = DiffBIREngine(str(tiny_ckpt), heads=_heads(str(tiny_ckpt)), dtype="bfloat16")
    assert engine.model.unet.dtype == torch.bfloat16 and engine.model.swinir.conv_last.weight.dtype == torch.bfloat16
    tokens = torch.from_numpy(reference["tokens"])
    out = engine.sr_pipe(torch.from_numpy(reference["lq"]), tokens[:1], tokens[1:2], 4, 3.5, 1234, color_fix=True)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert float((out.numpy() - reference["sample"]).__abs__().mean()) < 0.1


def test_the_real_v1_checkpoint_layout_converts_completely():
    """Every tensor of DiffBIR v1's general_full_v1.ckpt (names and shapes from cldm.yaml, no
    weights) goes into the worker's modules, in both file layouts, with SD 2.1-base's sizes."""
    from misc_worker.diffbir import convert

    shapes = json.loads(gzip.decompress((FIXTURES / "diffbir_v1_shapes.json.gz").read_bytes()))
    with torch.device("meta"):
        full = convert.assemble({k: torch.empty(s) for k, s in shapes.items()})
        model = convert.build_control_ldm(full)
        unet = model.unet.config
        assert tuple(unet.block_out_channels) == (320, 640, 1280, 1280) and tuple(unet.attention_head_dim) == (5, 10, 20, 20)
        assert unet.cross_attention_dim == 1024 and unet.use_linear_projection
        assert model.controlnet.conv_in.in_channels == 8
        assert len(model.controlnet.controlnet_down_blocks) + 1 == 13
        text = model.text_encoder.config
        assert (text.hidden_size, text.num_attention_heads, text.num_hidden_layers) == (1024, 16, 23)
        assert model.swinir.config.embed_dim == 180 and model.swinir.config.depths == (6,) * 8
        assert model.cond_vae is not model.vae
        control = {k[len("control_model."):]: v for k, v in full.items() if k.startswith("control_model.")}
        sd = {k: v for k, v in full.items() if k.startswith(("model.diffusion_model.", "first_stage_model.", "cond_stage_model."))}
        swinir = {k[len("preprocess_model."):]: v for k, v in full.items() if k.startswith("preprocess_model.")}
        split = convert.build_control_ldm(convert.assemble(control, sd, swinir))
        assert split.cond_vae is split.vae
