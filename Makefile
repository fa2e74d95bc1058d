# MISC: the two commands of the quick start are `make demo` and `make test`.
SWIFT ?= swift
RELEASE := .build/release
OUT := out
## The shared data (Kodak, the caption corpus): beside the checkout, else the workplace's copy.
MISC_DATA ?= $(abspath $(firstword $(wildcard ../shared/data /work/shared/data) ../shared/data))

.PHONY: demo test build deps bench-deps bench eval clean worker-deps worker-test

deps:
	@scripts/install-deps.sh build

bench-deps:
	@scripts/install-deps.sh bench

build: deps
	$(SWIFT) build -c release --product misc

## Install misc, its man page (swift-argument-parser's generate-manual plugin) and its bash, zsh
## and fish completions under PREFIX: `make install PREFIX=$$HOME/.local`. DESTDIR stages a package.
PREFIX ?= /usr/local
CONFIGURATION ?= release
SHARE = $(DESTDIR)$(PREFIX)/share
.PHONY: install
install: deps
	$(SWIFT) build -c $(CONFIGURATION) --product misc
	$(SWIFT) package plugin generate-manual --configuration $(CONFIGURATION)
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/man/man1 $(SHARE)/bash-completion/completions $(SHARE)/zsh/site-functions $(SHARE)/fish/vendor_completions.d
	install -m 755 "$$($(SWIFT) build -c $(CONFIGURATION) --show-bin-path)/misc" $(DESTDIR)$(PREFIX)/bin/misc
	install -m 644 .build/plugins/GenerateManual/outputs/MISCTool/misc.1 $(SHARE)/man/man1/misc.1
	$(DESTDIR)$(PREFIX)/bin/misc --generate-completion-script bash > $(SHARE)/bash-completion/completions/misc
	$(DESTDIR)$(PREFIX)/bin/misc --generate-completion-script zsh > $(SHARE)/zsh/site-functions/_misc
	$(DESTDIR)$(PREFIX)/bin/misc --generate-completion-script fish > $(SHARE)/fish/vendor_completions.d/misc.fish
	@echo "installed misc $$($(DESTDIR)$(PREFIX)/bin/misc --version | cut -d' ' -f2) under $(DESTDIR)$(PREFIX)"

## Encode the shipped example with its semantics, show the bit budget, decode it.
demo: build
	@mkdir -p $(OUT)
	$(RELEASE)/misc encode examples/astronaut.png --semantics examples/astronaut.json -o $(OUT)/astronaut.misc
	$(RELEASE)/misc inspect $(OUT)/astronaut.misc
	$(RELEASE)/misc decode $(OUT)/astronaut.misc -o $(OUT)/astronaut.png

## Every test: unit, parity, integration, CLI; the slow reproducibility checks included; the
## diffusion worker's pytest suite, and the Swift decode through the real worker (MISC_WORKER_PYTHON);
## the worker pool's fault test (misc decode --jobs 2 through Ray Serve, a replica killed mid-batch);
## a smoke run of every fuzz target (FUZZ_SECONDS each; 0 skips it; CI's .ci/run sets 60).
FUZZ_SECONDS ?= 10
test: deps bench-deps worker-test
	MISC_SLOW_TESTS=1 MISC_DATA=$(MISC_DATA) MISC_WORKER_PYTHON=$(CURDIR)/$(WORKER_PYTHON) $(SWIFT) test
	cd worker && MISC_BINARY="$$(cd .. && $(SWIFT) build --show-bin-path)/misc" ../$(WORKER_PYTHON) -m pytest -q -s tests/test_pool.py
	@if [ "$(FUZZ_SECONDS)" != 0 ]; then Fuzz/fuzz.sh $(FUZZ_SECONDS); fi

## The diffusion worker's Python environment (.venv): made when missing, and reinstalled when
## worker/pyproject.toml changes. torch comes from the CPU wheel index when it has a matching build
## (about 200 MB), else from PyPI (the CUDA build, about 5 GB, which also runs on a CPU).
VENV := .venv
WORKER_PYTHON := $(VENV)/bin/python
WORKER_STAMP := $(VENV)/.misc-worker-deps
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

worker-deps: $(WORKER_STAMP)

$(WORKER_STAMP): worker/pyproject.toml
	@test -x $(WORKER_PYTHON) || python3 -m venv $(VENV) || { echo "error: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
	$(WORKER_PYTHON) -m pip install -q --upgrade pip
	$(WORKER_PYTHON) -c "import tomllib; p = tomllib.load(open('worker/pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['test']))" > $(VENV)/worker-requirements.txt
	$(WORKER_PYTHON) -c "import torch" 2>/dev/null \
	  || $(WORKER_PYTHON) -m pip install -q --retries 0 --timeout 15 --index-url $(TORCH_CPU_INDEX) "$$(grep '^torch' $(VENV)/worker-requirements.txt)" \
	  || echo "note: no matching torch on the CPU wheel index (or it is unreachable); torch comes from PyPI" >&2
	$(WORKER_PYTHON) -m pip install -q -r $(VENV)/worker-requirements.txt
	@touch $@

## The worker's tests: the real server on a tiny random SD + ControlNet pipeline, on the CPU.
worker-test: worker-deps
	cd worker && ../$(WORKER_PYTHON) -m pytest -q

## The benchmarks of the README (Kodak from $(MISC_DATA)/kodak by default).
KODAK ?= $(MISC_DATA)/kodak
bench: build bench-deps
	$(RELEASE)/misc bench thumbnails --dataset $(KODAK) --sizes 16,32,64
	$(RELEASE)/misc bench rate --dataset $(KODAK) --bpp 0.02

## The weight-free Table III on Kodak (docs/EVALUATION.md): MISC levels 1-3 with the bicubic
## decode (no LMM, no CLIP, no worker: thumbnails only) and every reference codec at full size and
## downscaled, at 0.02 and 0.05 bpp -> eval/kodak/report.html. A rerun resumes; EVAL_FLAGS=--fresh
## starts over. NIQE reads its pristine model from $(MISC_DATA)/niqe.
EVAL_METRICS ?= psnr,msssim,niqe
EVAL_BPP ?= 0.02,0.05
EVAL_CODECS ?= misc1,misc2,misc3,jpeg,webp,avif,jxl,heic
EVAL_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
EVAL_FLAGS ?=
eval: build bench-deps
	MISC_DATA=$(MISC_DATA) MISC_RESTORER_URL= MISC_LMM_MODEL= MISC_CLIP_MODEL= $(RELEASE)/misc eval --dataset kodak=$(KODAK) \
	  --codec $(EVAL_CODECS) --bpp $(EVAL_BPP) --metrics $(EVAL_METRICS) --jobs $(EVAL_JOBS) --out eval/kodak $(EVAL_FLAGS)

clean:
	rm -rf .build $(OUT)

## libFuzzer targets (Fuzz/README.md): build them with -sanitize=fuzzer,address and run each for
## SECONDS from its seed corpus; a crash fails and prints its reproducer. `make fuzz SECONDS=600`.
SECONDS ?= 60
.PHONY: fuzz
fuzz: deps
	Fuzz/fuzz.sh $(SECONDS)
