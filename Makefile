# The two commands of the README: `make demo` and `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
DEBS = libgit2-dev libyaml-dev libyaml-cpp-dev libcli11-dev doctest-dev libvalijson-dev \
       nlohmann-json3-dev cmake g++ pkg-config git
# Only for the end-to-end suites (the pre-commit framework, signing, the HTTP server,
# rsync for gitlab-ci-local's shell jobs).
TEST_DEBS = pre-commit gnupg openssh-client lighttpd apache2-utils rsync

.PHONY: all deps test-deps build test test-asan demo install clean bench

all: build

deps:
	@bash .ci/install-debs $(DEBS)

test-deps:
	@bash .ci/install-debs $(TEST_DEBS)
	@bash tests/e2e/ci/install-node-tools

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build test-deps
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
ifneq ($(CI),)
	$(MAKE) test-asan
endif

# Unit tests under address+undefined sanitizers (run by CI through `make test`).
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DENVFLOW_SANITIZE=ON -DENVFLOW_E2E=OFF -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target envflow_unit
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

demo: build
	@bash docs/demo.sh $(abspath $(BUILD))/envflow

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

bench: build
	@bash bench/run.sh $(abspath $(BUILD))/envflow

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
