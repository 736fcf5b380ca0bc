# courtroom — common tasks. `make demo` runs a demo hearing on http://127.0.0.1:8080.

CARGO ?= cargo
CARGO_TARGET_DIR ?= /var/cache/courtroom/target
export CARGO_TARGET_DIR

.PHONY: deps build demo test test-browser screenshots bench churn soak fuzz fmt target-dir

target-dir:
	@mkdir -p "$(CARGO_TARGET_DIR)"

deps:
	./scripts/install-deps.sh

build: target-dir
	$(CARGO) build --release

demo: deps target-dir
	$(CARGO) run --release -- demo --listen 127.0.0.1:8080 --data ./data

# Release build: the WebRTC/media stack is too slow unoptimised for the end-to-end test.
test: deps target-dir
	$(CARGO) test --release -- --test-threads=1
	$(MAKE) test-browser
	./scripts/fuzz.sh $(FUZZ_SHORT_SECONDS)

# The participant page in headless Chromium and Firefox (needs node and npm), inside a network
# namespace made for the run (scripts/in-netns.sh: Firefox's media needs a non-loopback address,
# and this one exists only there). Screenshots
# go to a temporary folder (or $(SCREENSHOT_DIR), relative to the repository root if set).
test-browser: target-dir
	$(CARGO) build --release --bin courtroom
	cd tests/browser && npm ci --no-audit --no-fund && \
	SCREENSHOT_DIR="$(SCREENSHOT_DIR)" ../../scripts/in-netns.sh node --test --test-concurrency=1 .

# Refreshes the tracked screenshots in docs/images/ on purpose: the participant page's (browser
# tests) and the clerk portal's (tests/chromium portal test; only portal.png is tracked).
screenshots: target-dir
	$(MAKE) test-browser SCREENSHOT_DIR=docs/images
	shots=$$(mktemp -d) && \
	PORTAL_SCREENSHOT_DIR=$$shots $(CARGO) test --release --test chromium portal:: -- --test-threads=1 && \
	cp $$shots/portal.png docs/images/portal.png && rm -rf "$$shots"

# A local cluster to try: throwaway PostgreSQL, a real S3 server and three nodes on loopback.
cluster: deps build
	./scripts/cluster.sh

# Kill and pause the owner of a recorded hearing in a three-node cluster; prints JSON.
bench-failover: deps build
	$(CARGO_TARGET_DIR)/release/courtroom bench failover --nodes 3

# gnuplot and perf are optional (the scripts go on without them): a failed install is not fatal.
bench: deps target-dir
	-./scripts/install-deps.sh --bench
	$(CARGO) bench
	NOISE=2 $(CARGO) bench --bench compositor_cpu
	$(CARGO) build --release --bin courtroom
	./scripts/keyeval.sh
	./scripts/bench-hearing.sh
	./scripts/profile-hearing.sh
	./benches/encoders.sh 20
	$(CARGO_TARGET_DIR)/release/courtroom bench failover --nodes 3
	$(CARGO_TARGET_DIR)/release/courtroom bench broadcast --viewers 100,1000
	cd tests/browser && npm ci --no-audit --no-fund && node bench-glass.mjs && GLASS_TARGET=broadcast node bench-glass.mjs

# 200 join/leave cycles during one recording (a short version runs in `make test`); prints the
# curve of threads, file descriptors and RSS per cycle and writes it to $(CHURN_CSV).
CHURN_CSV ?= churn.csv
churn: deps target-dir
	CHURN_CYCLES=200 CHURN_CSV="$(abspath $(CHURN_CSV))" $(CARGO) test --release --test reliability churn -- --test-threads=1 --nocapture

# One hearing, five synthetic participants, recording, for an hour at 720p (a five-minute version
# at 640x360 runs in `make test`): sync at the end as at the start, memory, clock drift, and every
# segment verified. Writes the RSS curve to $(SOAK_CSV).
SOAK_SECONDS ?= 3600
SOAK_SIZE ?= 1280x720
SOAK_CSV ?= soak.csv
soak: deps target-dir
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_SIZE=$(SOAK_SIZE) SOAK_CSV="$(abspath $(SOAK_CSV))" $(CARGO) test --release --test reliability soak -- --test-threads=1 --nocapture

# Coverage-guided fuzzing of the input boundaries (signalling, SDP offers, WHIP bodies,
# invitation tokens, the configuration, verify's manifest): libFuzzer on the stable toolchain,
# each target for FUZZ_SECONDS (`make test` runs each for FUZZ_SHORT_SECONDS). Fails on any
# crash, keeping the input in fuzz/artifacts/; prints runs and exec/s per target as JSON.
FUZZ_SECONDS ?= 600
FUZZ_SHORT_SECONDS ?= 15
fuzz: deps target-dir
	./scripts/fuzz.sh $(FUZZ_SECONDS)

fmt:
	$(CARGO) fmt --all
