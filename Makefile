# MISC: the two commands of the quick start are `make demo` and `make test`.
SWIFT ?= swift
RELEASE := .build/release
OUT := out

.PHONY: demo test build deps bench-deps bench clean

deps:
	@scripts/install-deps.sh build

bench-deps:
	@scripts/install-deps.sh bench

build: deps
	$(SWIFT) build -c release --product misc

## Encode the shipped example with its semantics, show the bit budget, decode it.
demo: build
	@mkdir -p $(OUT)
	$(RELEASE)/misc encode examples/astronaut.png --semantics examples/astronaut.json -o $(OUT)/astronaut.misc
	$(RELEASE)/misc inspect $(OUT)/astronaut.misc
	$(RELEASE)/misc decode $(OUT)/astronaut.misc -o $(OUT)/astronaut.png

## Every test: unit, parity, integration, CLI; the slow reproducibility checks included.
test: deps bench-deps
	MISC_SLOW_TESTS=1 $(SWIFT) test

## The benchmarks of the README (Kodak from ../shared/data/kodak by default).
KODAK ?= ../shared/data/kodak
bench: build bench-deps
	$(RELEASE)/misc bench thumbnails --dataset $(KODAK) --sizes 16,32,64
	$(RELEASE)/misc bench rate --dataset $(KODAK) --bpp 0.02

clean:
	rm -rf .build $(OUT)
