# The two commands of the README:
#   make run   installs what is missing, builds, and opens FMA Lens on the bundled text model
#              (without a display: runs the same model from the command line instead)
#   make test  installs what is missing, builds, and runs every test through ctest
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: setup build run test bench fuzz clean

setup:
	@tools/setup.sh

build: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

run: build
	@tools/run_default.sh $(BUILD)

# ctest refuses an empty test list; then every skip must be one that tests/expected_skips.txt names.
test: build
	cd $(BUILD) && set -o pipefail && tools_dir=$(CURDIR)/tools ctest --output-on-failure --no-tests=error -j$(JOBS) \
	  | tee ctest-output.log
	tools/check_skips.sh $(BUILD)/ctest-output.log tests/expected_skips.txt

# The README's performance table and plot; the peer (outside the project) runs when present.
PEER ?= ../shared/peers/fma-torch/bench.py
bench: build
	$(BUILD)/app/fmalens bench --peer $(PEER) --json assets/readme/bench.json --plot assets/readme/bench.svg

# Open-ended fuzzing (ctest runs a fixed number of inputs per target instead): FUZZ_SECONDS per
# target, a new libFuzzer seed each time; findings go under $(BUILD)/fuzz/findings.
fuzz: setup
	FUZZ_BUILD=$(CURDIR)/$(BUILD)/fuzz tools/fuzz.sh

clean:
	rm -rf $(BUILD)
