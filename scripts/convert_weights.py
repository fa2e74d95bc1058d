#!/usr/bin/env python3
"""Converts the official weight files of MISC's network metrics into the safetensors folders MISC reads.

    python scripts/convert_weights.py --out DIR FILE [FILE ...]
    python scripts/convert_weights.py --random DIR [--seed N]

Each FILE is recognised by its tensor names and shapes, never by its file name; a file that matches no
known kind is refused (exit status 2) and nothing is written for it. DIR is the metric models directory
(`misc score --metric-models DIR`, or MISC_METRIC_MODELS). It gets one folder per kind:

  DIR/alexnet/model.safetensors    torchvision AlexNet `features.{0,3,6,8,10}.{weight,bias}`
                                   (from alexnet-owt-7be5be79.pth; the classifier is dropped)
  DIR/vgg16/model.safetensors      torchvision VGG16 `features.{0,2,5,...,28}.{weight,bias}`
                                   (from vgg16-397923af.pth, or from pyiqa's DISTS checkpoint)
  DIR/lpips-alex/model.safetensors the lpips v0.1 linear heads `lin{0..4}.weight` [1, C, 1, 1]
                                   (lpips/weights/v0.1/alex.pth in the lpips wheel)
  DIR/lpips-vgg/model.safetensors  the same for VGG (lpips/weights/v0.1/vgg.pth)
  DIR/dists/model.safetensors      DISTS `alpha` and `beta` [1475] (DISTS_pytorch's weights.pt, or pyiqa's
                                   DISTS_weights-f5e65c96.pth, whose VGG16 also fills DIR/vgg16 when absent)
  DIR/clip-rn50/                   OpenAI CLIP RN50 for CLIP-IQA (RN50.pt, a TorchScript archive): config.json,
                                   model.safetensors (dtypes kept), vocab.json, merges.txt; see
                                   scripts/convert_clip_rn50.py and docs/METRICS.md (--random writes RN50's
                                   shapes in float32, model id "random RN50 (seed N)")

`--random DIR` writes every folder with seeded random values of the right shapes, for benchmarks (speed
does not depend on the weights). Needs: torch, safetensors, numpy.

To add a kind, write one `convert_<kind>(state, source) -> [Output]` function with a `recognise` test
and add it to CONVERTERS.
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_clip_rn50 import clip_rn50_folder, random_clip_rn50_state, recognise_clip_rn50  # noqa: E402

ALEXNET_FEATURES = {  # index in torchvision's `features`: (outputs, inputs, kernel)
    0: (64, 3, 11), 3: (192, 64, 5), 6: (384, 192, 3), 8: (256, 384, 3), 10: (256, 256, 3)}
VGG16_FEATURES = {
    0: (64, 3, 3), 2: (64, 64, 3), 5: (128, 64, 3), 7: (128, 128, 3),
    10: (256, 128, 3), 12: (256, 256, 3), 14: (256, 256, 3),
    17: (512, 256, 3), 19: (512, 512, 3), 21: (512, 512, 3),
    24: (512, 512, 3), 26: (512, 512, 3), 28: (512, 512, 3)}
LPIPS_ALEX_CHANNELS = [64, 192, 384, 256, 256]
LPIPS_VGG_CHANNELS = [64, 128, 256, 512, 512]
DISTS_CHANNELS = 3 + 64 + 128 + 256 + 512 + 512  # 1475: the input image, then the five VGG stages
DISTS_STAGES = {1: range(0, 4), 2: range(5, 9), 3: range(10, 16), 4: range(17, 23), 5: range(24, 30)}


class Output:
    """One folder to write: DIR/<folder>/model.safetensors holding `tensors` (as float32 unless `keep_dtype`),
    and `files` (name -> text) beside it."""

    def __init__(self, folder, kind, tensors, note="", only_if_absent=False, files=None, keep_dtype=False):
        self.folder, self.kind, self.tensors, self.note, self.only_if_absent = folder, kind, tensors, note, only_if_absent
        self.files, self.keep_dtype = files or {}, keep_dtype


def feature_shapes(table):
    shapes = {}
    for index, (outputs, inputs, kernel) in table.items():
        shapes[f"features.{index}.weight"] = (outputs, inputs, kernel, kernel)
        shapes[f"features.{index}.bias"] = (outputs,)
    return shapes


def head_shapes(channels):
    return {f"lin{k}.weight": (1, c, 1, 1) for k, c in enumerate(channels)}


def dists_shapes():
    return {"alpha": (DISTS_CHANNELS,), "beta": (DISTS_CHANNELS,)}


def has_shapes(state, shapes):
    return all(name in state and tuple(state[name].shape) == shape for name, shape in shapes.items())


def extra_keys(state, allowed_prefixes, known):
    return [k for k in state if k not in known and not k.startswith(allowed_prefixes)]


# --- one converter per kind: recognise(state) -> bool, convert(state, source) -> [Output] ---------------

def recognise_alexnet(state):
    shapes = feature_shapes(ALEXNET_FEATURES)
    return has_shapes(state, shapes) and not extra_keys(state, ("classifier.",), shapes)


def convert_alexnet(state, source):
    tensors = {name: state[name] for name in feature_shapes(ALEXNET_FEATURES)}
    dropped = len(state) - len(tensors)
    return [Output("alexnet", "torchvision AlexNet", tensors, f"features only; {dropped} classifier tensors dropped")]


def recognise_vgg16(state):
    shapes = feature_shapes(VGG16_FEATURES)
    return has_shapes(state, shapes) and not extra_keys(state, ("classifier.",), shapes)


def convert_vgg16(state, source):
    tensors = {name: state[name] for name in feature_shapes(VGG16_FEATURES)}
    dropped = len(state) - len(tensors)
    return [Output("vgg16", "torchvision VGG16", tensors, f"features only; {dropped} classifier tensors dropped")]


def lpips_heads(state, channels):
    names = {f"lin{k}.model.1.weight": (1, c, 1, 1) for k, c in enumerate(channels)}
    return has_shapes(state, names) and len(state) == len(names)


def recognise_lpips_alex(state):
    return lpips_heads(state, LPIPS_ALEX_CHANNELS)


def convert_lpips_alex(state, source):
    tensors = {f"lin{k}.weight": state[f"lin{k}.model.1.weight"] for k in range(5)}
    return [Output("lpips-alex", "lpips v0.1 AlexNet heads", tensors)]


def recognise_lpips_vgg(state):
    return lpips_heads(state, LPIPS_VGG_CHANNELS)


def convert_lpips_vgg(state, source):
    tensors = {f"lin{k}.weight": state[f"lin{k}.model.1.weight"] for k in range(5)}
    return [Output("lpips-vgg", "lpips v0.1 VGG heads", tensors)]


def recognise_dists(state):
    shape = (1, DISTS_CHANNELS, 1, 1)
    return set(state) == {"alpha", "beta"} and all(tuple(state[k].shape) == shape for k in ("alpha", "beta"))


def convert_dists(state, source):
    tensors = {k: state[k].reshape(DISTS_CHANNELS) for k in ("alpha", "beta")}
    return [Output("dists", "DISTS alpha/beta (DISTS_pytorch)", tensors)]


def pyiqa_dists_vgg_names():
    """pyiqa's `stage<k>.<i>` -> torchvision's `features.<i>` (the same indices)."""
    names = {}
    for stage, indices in DISTS_STAGES.items():
        for index in indices:
            if index in VGG16_FEATURES:
                for field in ("weight", "bias"):
                    names[f"stage{stage}.{index}.{field}"] = f"features.{index}.{field}"
    return names


def recognise_pyiqa_dists(state):
    if not all(tuple(state.get(k, torch.empty(0)).shape) == (1, DISTS_CHANNELS, 1, 1) for k in ("alpha", "beta")):
        return False
    vgg = feature_shapes(VGG16_FEATURES)
    names = pyiqa_dists_vgg_names()
    if not all(old in state and tuple(state[old].shape) == vgg[new] for old, new in names.items()):
        return False
    # Allowed besides: the L2 pooling filters and the normalisation buffers.
    rest = set(state) - set(names) - {"alpha", "beta", "mean", "std"}
    return all(k.endswith(".filter") for k in rest)


def convert_pyiqa_dists(state, source):
    alpha_beta = {k: state[k].reshape(DISTS_CHANNELS) for k in ("alpha", "beta")}
    vgg = {new: state[old] for old, new in pyiqa_dists_vgg_names().items()}
    return [Output("dists", "DISTS alpha/beta (pyiqa checkpoint)", alpha_beta),
            Output("vgg16", "torchvision VGG16 (from pyiqa's DISTS checkpoint)", vgg, only_if_absent=True)]


def convert_clip_rn50(state, source):
    tensors, _, files, summary = clip_rn50_folder(state, source)
    return [Output("clip-rn50", "OpenAI CLIP ResNet", tensors, summary, files=files, keep_dtype=True)]


# Order matters only where kinds could overlap; none do today.
CONVERTERS = [
    ("torchvision AlexNet", recognise_alexnet, convert_alexnet),
    ("torchvision VGG16", recognise_vgg16, convert_vgg16),
    ("lpips v0.1 AlexNet heads", recognise_lpips_alex, convert_lpips_alex),
    ("lpips v0.1 VGG heads", recognise_lpips_vgg, convert_lpips_vgg),
    ("DISTS_pytorch alpha/beta", recognise_dists, convert_dists),
    ("pyiqa DISTS checkpoint", recognise_pyiqa_dists, convert_pyiqa_dists),
    ("OpenAI CLIP ResNet (RN50.pt)", recognise_clip_rn50, convert_clip_rn50),
]

# The shapes of every folder, for --random.
RANDOM_FOLDERS = {
    "alexnet": feature_shapes(ALEXNET_FEATURES),
    "vgg16": feature_shapes(VGG16_FEATURES),
    "lpips-alex": head_shapes(LPIPS_ALEX_CHANNELS),
    "lpips-vgg": head_shapes(LPIPS_VGG_CHANNELS),
    "dists": dists_shapes(),
}


def load_state(path):
    """A flat name -> tensor dict from a .pth/.pt file, unwrapping a lone 'state_dict' or 'params' entry."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a pickled module, a corrupt file, not a torch file at all
        try:  # a TorchScript archive (OpenAI's CLIP RN50.pt): its parameters and buffers
            state = dict(torch.jit.load(path, map_location="cpu").state_dict())
        except Exception:
            raise ValueError(f"cannot read it as a PyTorch state dict ({type(error).__name__}: {str(error)[:200]})")
    for wrapper in ("state_dict", "params", "params_ema", "model"):
        if isinstance(state, dict) and set(state) == {wrapper} and isinstance(state[wrapper], dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("it is not a dict of tensors")
    return state


def write_folder(out_dir, output, source):
    folder = os.path.join(out_dir, output.folder)
    target = os.path.join(folder, "model.safetensors")
    if output.only_if_absent and os.path.exists(target):
        return f"  kept {target} (already there)"
    os.makedirs(folder, exist_ok=True)
    tensors = {k: (v.detach() if output.keep_dtype else v.detach().to(torch.float32)).contiguous() for k, v in output.tensors.items()}
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(handle)
    # One metadata key: safetensors writes several in a random order, and the fixtures should not churn.
    save_file(tensors, temporary, metadata={"converted_from": f"{os.path.basename(source)} ({output.kind})"})
    os.replace(temporary, target)
    for name, text in output.files.items():
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write(text)
    note = f"; {output.note}" if output.note else ""
    return f"  {output.kind} -> {target} ({len(tensors)} tensors{note})"


def convert(paths, out_dir):
    failures = 0
    for path in paths:
        try:
            state = load_state(path)
        except (OSError, ValueError) as error:
            print(f"{path}: refused: {error}", file=sys.stderr)
            failures += 1
            continue
        matches = [(name, fn) for name, recognise, fn in CONVERTERS if recognise(state)]
        if len(matches) != 1:
            shown = ", ".join(f"{k} {list(v.shape)}" for k, v in list(state.items())[:6])
            known = "; ".join(name for name, _, _ in CONVERTERS)
            print(f"{path}: refused: its {len(state)} tensors ({shown}{', ...' if len(state) > 6 else ''}) match "
                  f"{'no' if not matches else 'more than one'} known kind ({known})", file=sys.stderr)
            failures += 1
            continue
        name, fn = matches[0]
        print(f"{path}: {name}")
        for output in fn(state, path):
            print(write_folder(out_dir, output, path))
    return failures


def write_random(out_dir, seed):
    generator = np.random.default_rng(seed)
    for folder, shapes in RANDOM_FOLDERS.items():
        tensors = {}
        for name, shape in shapes.items():
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            scale = (6.0 / fan_in) ** 0.5 if len(shape) == 4 and folder in ("alexnet", "vgg16") else 0.1
            tensors[name] = torch.from_numpy(generator.uniform(-scale, scale, size=shape).astype(np.float32))
        if folder in ("dists", "lpips-alex", "lpips-vgg"):
            tensors = {k: v.abs() for k, v in tensors.items()}  # like the real ones: non-negative weights
        print(write_folder(out_dir, Output(folder, f"random {folder} (seed {seed})", tensors), f"random seed {seed}"))
    source = f"random seed {seed}"
    tensors, _, files, summary = clip_rn50_folder(random_clip_rn50_state(seed), source, name=f"random RN50 (seed {seed})")
    print(write_folder(out_dir, Output("clip-rn50", f"random clip-rn50 (seed {seed})", tensors, summary, files=files, keep_dtype=True), source))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="official .pth/.pt weight files")
    parser.add_argument("--out", help="the metric models directory to write into")
    parser.add_argument("--random", metavar="DIR", help="write random-weight folders of the right shapes into DIR")
    parser.add_argument("--seed", type=int, default=0, help="seed for --random")
    args = parser.parse_args()
    if args.random:
        if args.files or args.out:
            parser.error("--random takes no files and no --out")
        write_random(args.random, args.seed)
        return 0
    if not args.files or not args.out:
        parser.error("give --out DIR and at least one weight file (or --random DIR)")
    return 2 if convert(args.files, args.out) else 0


if __name__ == "__main__":
    sys.exit(main())
