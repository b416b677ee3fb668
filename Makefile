# swerve — the two commands a new user needs: `make run` and `make test`.
# Both install what is missing (libyaml-dev, python3) and build first.

SWIFT   ?= swift
CONFIG  ?= config/config.yaml
BIN     := .build/debug/swerve
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debug builds keep assert() off everywhere. Workers share listening sockets
# (bound once by the master), so several are woken for one connection and all
# but one find nothing to accept; SwiftNIO asserts that never happens, which
# is only true for a socket owned by one process (see docs/architecture.md).
SWIFTFLAGS ?= -Xswiftc -assert-config -Xswiftc Release

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

test: build
	$(SWIFT) test $(SWIFTFLAGS)

clean:
	rm -rf .build
