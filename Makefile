# swerve — the two commands a new user needs: `make run` and `make test`.
# Both install what is missing (libyaml-dev, python3) and build first.

SWIFT   ?= swift
CONFIG  ?= config/config.yaml
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# One optimised build serves run and test (testable, so unit tests can reach
# internals). Why not debug: workers share the listening sockets the master
# bound, and SwiftNIO's debug-only assertion that a readable socket always
# yields a connection kills them (docs/architecture.md); and the upload tests
# stream 1 GiB, which unoptimised multipart parsing takes minutes to do.
SWIFTFLAGS ?= -c release -Xswiftc -enable-testing
BIN     := .build/release/swerve

.PHONY: all deps build run check test clean

all: build

# System packages the build and the tests rely on; installed only when missing.
deps:
	@missing=""; \
	{ command -v pkg-config >/dev/null && pkg-config --exists yaml-0.1; } || missing="$$missing libyaml-dev pkg-config"; \
	command -v python3 >/dev/null || missing="$$missing python3"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

build: deps
	$(SWIFT) build $(SWIFTFLAGS)

check: build
	$(BIN) check -c $(CONFIG)

run: check
	$(BIN) serve -c $(CONFIG)

# Build the tests with the same flags, then run without building again
# (letting `swift test` build would compile the dependencies a second time).
test: deps
	$(SWIFT) build $(SWIFTFLAGS) --build-tests
	$(SWIFT) test $(SWIFTFLAGS) --skip-build
	$(BROWSER_PYTHON) Tests/Browser/gallery_test.py $(BIN) .build/browser-artifacts

# The browser test (headless Chromium through selenium) wants Debian's
# python3-selenium, which belongs to /usr/bin/python3; it skips itself, with
# a message, where Chromium or selenium is missing (.ci/run installs them).
BROWSER_PYTHON ?= $(shell for p in /usr/bin/python3 python3; do $$p -c 'import selenium' 2>/dev/null && { echo $$p; exit; }; done; echo python3)

clean:
	rm -rf .build
