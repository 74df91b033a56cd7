# The two commands of the README: `make demo` and `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
# go-md2man renders the man pages (without it the build goes on without them);
# dpkg-dev and file are what `make package` (CPack DEB, dpkg-shlibdeps) runs.
DEBS = libgit2-dev libyaml-dev libyaml-cpp-dev libcli11-dev doctest-dev libvalijson-dev \
       nlohmann-json3-dev libunistring-dev libcpp-httplib-dev libcurl4-openssl-dev libssl-dev cmake g++ pkg-config git \
       go-md2man dpkg-dev file
# Only for the end-to-end suites (the pre-commit framework, signing, the HTTP server,
# rsync for gitlab-ci-local's shell jobs, and for envflow serve's page: a headless
# browser driven by selenium behind an nginx that authenticates).
TEST_DEBS = pre-commit gnupg openssh-client lighttpd apache2-utils rsync \
            chromium chromium-driver python3-selenium nginx \
            man-db bash-completion zsh
# (man-db, bash-completion, zsh: tests/e2e/test_package.sh reads the installed
# package's pages and completes with it.)

# `make fuzz`: the libFuzzer targets (docs/reliability.md, "Fuzzing"), FUZZ_SECONDS each
# (FUZZ_JOBS at once), findings in $(FUZZ_BUILD)/findings/. Needs clang's libFuzzer.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_JOBS ?= 1
FUZZ_DEBS = clang libclang-rt-dev

# CI's Release build (`make release-build`, run by `make test` under CI): what
# users and distributions build, with -Werror; only the binary, so it costs one
# more compile of src/ (through ccache when it is installed, as every build:
# CMakeLists.txt).
RELEASE_BUILD ?= build-release

.PHONY: all deps test-deps build test test-asan release-build demo install package clean bench fuzz

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

# Correctness tests first, then the stress suites (ctest label `stress`) on their own;
# both always run, and either failing fails `make test`.
test: build test-deps
	cd $(BUILD) && { ctest --output-on-failure -j $(JOBS) -LE stress; rc=$$?; \
	  ctest --output-on-failure -j $(JOBS) -L stress || rc=1; exit $$rc; }
ifneq ($(CI),)
	$(MAKE) test-asan
	$(MAKE) release-build
endif

release-build: deps
	cmake -S . -B $(RELEASE_BUILD) -DCMAKE_BUILD_TYPE=Release -DENVFLOW_WERROR=ON \
	  -DENVFLOW_E2E=OFF -DENVFLOW_MAN=OFF
	cmake --build $(RELEASE_BUILD) -j $(JOBS) --target envflow

# Unit tests under address+undefined sanitizers (run by CI through `make test`), and a
# short smoke run of every fuzz target (tests/fuzz/driver.cpp, 8 s each). Batched like
# the normal build; `envflow_include_check` then compiles every source file on its own
# (front end only), so CI still finds a file that misses an #include (docs/performance.md,
# "Build cost", says why here and not a build of files alone).
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DENVFLOW_SANITIZE=ON -DENVFLOW_E2E=OFF -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target envflow_unit fuzz_smoke envflow_include_check
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

fuzz: deps
	@bash .ci/install-debs $(FUZZ_DEBS)
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DENVFLOW_FUZZ=ON -DENVFLOW_E2E=OFF \
	  -DENVFLOW_WERROR=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g"
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) \
	  bash tests/fuzz/run.sh $(FUZZ_TARGETS)

demo: build
	@bash docs/demo.sh $(abspath $(BUILD))/envflow

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# The Debian package (docs/install.md): $(BUILD)/envflow_VERSION_ARCH.deb.
package: build
	cmake --build $(BUILD) --target package

bench: build
	@bash bench/run.sh $(abspath $(BUILD))/envflow

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(RELEASE_BUILD)
