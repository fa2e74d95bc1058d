#!/usr/bin/env bash
# Fetches the images the thumbnail codec's priors are fitted on: the photographs and textures of
# scikit-image's data folder (public-domain or CC0 images, see scikit-image's data/README), taken
# from the scikit-image 0.26.0 wheel on PyPI. Kodak is never used for training: it is the test set.
#   scripts/fetch-training-images.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64 \
  scikit-image==0.26.0 -d "$tmp" -q
python3 - "$tmp" "$dir" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/scikit_image-*.whl")[0]
names = ["astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png", "grass.png",
         "gravel.png", "moon.png", "motorcycle_left.png", "rocket.jpg", "hubble_deep_field.jpg", "ihc.png", "retina.jpg"]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        with open(f"{sys.argv[2]}/{name}", "wb") as out:
            out.write(z.read("skimage/data/" + name))
print(f"wrote {len(names)} images to {sys.argv[2]}")
PY
