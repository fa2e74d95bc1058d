#!/usr/bin/env bash
# Installs the Debian packages MISC needs, only when they are missing.
#   scripts/install-deps.sh build   libpng and TurboJPEG headers (to build and test)
#   scripts/install-deps.sh bench   the reference codec CLIs and text compressors (for benchmarks)
set -euo pipefail

need=()
case "${1:-build}" in
  build)
    pkg-config --exists libpng16 2>/dev/null || need+=(libpng-dev)
    pkg-config --exists libturbojpeg 2>/dev/null || need+=(libturbojpeg0-dev)
    pkg-config --exists openblas 2>/dev/null || need+=(libopenblas-dev)
    command -v pkg-config >/dev/null || need+=(pkg-config)
    ;;
  bench)
    command -v cwebp >/dev/null || need+=(webp)
    command -v avifenc >/dev/null || need+=(libavif-bin)
    command -v cjxl >/dev/null || need+=(libjxl-tools)
    command -v cjpeg >/dev/null || need+=(libjpeg-turbo-progs)
    command -v heif-enc >/dev/null || need+=(libheif-examples)
    command -v brotli >/dev/null || need+=(brotli)
    command -v zstd >/dev/null || need+=(zstd)
    ;;
  *) echo "usage: $0 build|bench" >&2; exit 2 ;;
esac

[ ${#need[@]} -eq 0 ] && exit 0
echo "installing: ${need[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
