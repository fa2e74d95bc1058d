#!/usr/bin/env python3
"""PyTorch CPU reference for `misc bench metrics`: images per second of each metric through the
package the Swift metric equals (pytorch_msssim, pyiqa, lpips), on the same images and threads.

Full-reference metrics compare each image with the same distortion the Swift side uses (every
sample quantised to steps of 16). Network metrics use random weights (pretrained=False,
torchvision weights=None): speed does not depend on weight values, and nothing is downloaded.
Each metric runs once on the first image as a warm-up, then once on every image; wall and process
CPU time (all threads) are both reported.

    python Benchmarks/metrics/bench_torch.py --dataset ../shared/data/kodak --threads 1 \
        --metrics psnr,ssim,msssim,niqe --niqe-params ../shared/data/niqe/niqe_pris_params.json --json
    misc bench metrics --dataset ../shared/data/kodak --python /work/refenv/bin/python   # runs this beside the Swift side
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image


def load(dataset, limit):
    names = sorted(n for n in os.listdir(dataset) if n.lower().endswith((".png", ".jpg", ".jpeg")))[:limit or None]
    images = []
    for name in names:
        a = np.array(Image.open(os.path.join(dataset, name)).convert("RGB"))
        ref = torch.from_numpy(a).permute(2, 0, 1)[None].float().div(255)
        dist = torch.from_numpy((a // 16 * 16 + 8).astype(np.uint8)).permute(2, 0, 1)[None].float().div(255)
        images.append((name, ref, dist))
    return images


def version(package):
    from importlib.metadata import version as installed
    try:
        return installed(package)
    except Exception:
        return "?"


def builders(args):
    """metric id -> (package label, function(ref, dist) -> score); ids as MISC's MetricID."""
    def psnr():
        import pyiqa
        m = pyiqa.create_metric("psnr", device="cpu")
        return f"pyiqa {pyiqa.__version__} psnr", lambda r, d: m(d, r)

    def ssim():
        import pytorch_msssim
        return f"pytorch_msssim {version('pytorch_msssim')} ssim", lambda r, d: pytorch_msssim.ssim(r, d, data_range=1, size_average=True)

    def msssim():
        import pytorch_msssim
        return f"pytorch_msssim {version('pytorch_msssim')} ms_ssim", lambda r, d: pytorch_msssim.ms_ssim(r, d, data_range=1)

    def niqe():
        import pyiqa
        import scipy.io
        from pyiqa.archs.niqe_arch import NIQE
        params = json.load(open(args.niqe_params))
        mat = os.path.join(tempfile.mkdtemp(), "niqe_pris.mat")
        scipy.io.savemat(mat, {"mu_prisparam": np.array(params["mu_pris_param"])[None],
                               "cov_prisparam": np.array(params["cov_pris_param"])})
        m = NIQE(pretrained_model_path=mat).eval()
        return f"pyiqa {pyiqa.__version__} niqe", lambda r, d: m(d)

    def lpips_net(net):
        def build():
            import lpips
            m = lpips.LPIPS(net=net, pretrained=False, pnet_rand=True, verbose=False).eval()
            return f"lpips {version('lpips')} {net} (random weights)", lambda r, d: m(r * 2 - 1, d * 2 - 1)
        return build

    def dists():
        import pyiqa
        import torchvision
        import pyiqa.archs.dists_arch as arch
        import types
        vgg16 = torchvision.models.vgg16
        arch.models = types.SimpleNamespace(vgg16=lambda weights=None: vgg16(weights=None))
        m = arch.DISTS(pretrained=False).eval()
        return f"pyiqa {pyiqa.__version__} dists (random weights)", lambda r, d: m(r, d)

    def clipsim():
        from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
        config = CLIPVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                                  image_size=224, patch_size=16, projection_dim=512, hidden_act="quick_gelu")
        m = CLIPVisionModelWithProjection(config).eval()

        def score(r, d):
            x = torch.nn.functional.interpolate(torch.cat([r, d]), size=(224, 224), mode="bicubic", antialias=True)
            e = m(pixel_values=x).image_embeds
            return torch.nn.functional.cosine_similarity(e[:1], e[1:])
        return f"transformers {version('transformers')} CLIP ViT-B/16 (random weights)", score

    def clipiqa():
        import pyiqa
        import pyiqa.archs.clipiqa_arch as arch
        from pyiqa.archs.clip_model import CLIP
        # OpenAI RN50's shapes with random weights, in place of pyiqa's download.
        rn50 = CLIP(embed_dim=1024, image_resolution=224, vision_layers=(3, 4, 6, 3), vision_width=64, vision_patch_size=None,
                    context_length=77, vocab_size=49408, transformer_width=512, transformer_heads=8, transformer_layers=12).eval()
        arch.load = lambda backbone, device: rn50
        m = arch.CLIPIQA(pretrained=False).eval()
        return f"pyiqa {pyiqa.__version__} clipiqa RN50 (random weights)", lambda r, d: m(d)

    return {"psnr": psnr, "clipiqa": clipiqa, "ssim": ssim, "msssim": msssim, "niqe": niqe, "lpips": lpips_net("alex"),
            "lpips-vgg": lpips_net("vgg"), "dists": dists, "clipsim": clipsim}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--metrics", default="psnr,ssim,msssim,niqe")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="only the first N images (0: all)")
    parser.add_argument("--niqe-params", default=os.path.join(os.environ.get("MISC_DATA", "../shared/data"), "niqe/niqe_pris_params.json"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = load(args.dataset, args.limit)
    table = builders(args)
    results = {}
    for metric in args.metrics.split(","):
        if metric not in table:
            results[metric] = {"error": f"no PyTorch reference wired for {metric}"}
            continue
        try:
            label, fn = table[metric]()
            with torch.inference_mode():
                fn(images[0][1], images[0][2])
                start, cpu_start = time.perf_counter(), time.process_time()
                for _, ref, dist in images:
                    float(fn(ref, dist).mean())
                seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            results[metric] = {"package": label, "images": len(images), "seconds": seconds, "images_per_s": len(images) / seconds,
                               "cpu_s": cpu, "images_per_cpu_s": len(images) / cpu}
        except Exception as error:  # report and go on with the other metrics
            results[metric] = {"error": f"{type(error).__name__}: {error}"}
    report = {"torch": torch.__version__, "threads": torch.get_num_threads(), "metrics": results}
    if args.json:
        print(json.dumps(report))
    else:
        for metric, r in results.items():
            print(f"{metric:10s} " + (f"{r['images_per_s']:8.2f} images/s  {r['package']}" if "error" not in r else r["error"]))


if __name__ == "__main__":
    sys.exit(main())
