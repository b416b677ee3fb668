# swerve — the two commands a new user needs: `make run` and `make test`.
# Both install what is missing (libyaml-dev, python3) and build first.

SWIFT   ?= swift
CONFIG  ?= config/config.yaml
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# One optimised build serves run, install, the benchmarks and the tests: the
# binary users run is the binary we measure and test. The swerve binary links
# the Swift runtime and Foundation statically (Package.swift), so it runs
# where no toolchain is installed. Not -enable-testing (it cost about a third
# of the request rate): tests reach internals through `package` access. Not
# debug: workers share the listening sockets the master bound, and SwiftNIO's
# debug-only assertion that a readable socket always yields a connection kills
# them (docs/architecture.md). No DWARF debug info: a clean build with tests
# took 418 s instead of 594 s on this 2-core machine (CI has 15 minutes);
# the symbol table stays, so perf and crash backtraces still name functions.
SWIFTFLAGS ?= -c release -debug-info-format none
BIN     := .build/release/swerve

.PHONY: all deps test-deps build run check test clean install uninstall

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
test: deps test-deps
	$(SWIFT) build $(SWIFTFLAGS) --build-tests
	$(SWIFT) test $(SWIFTFLAGS) --skip-build
	/usr/bin/python3 Tests/Browser/gallery_test.py $(BIN) .build/browser-artifacts
	bash Tests/Install/staged_install_test.sh

# What the tests need besides the build, installed when missing: headless
# Chromium, its driver and Debian's python3-selenium (which belongs to
# /usr/bin/python3) for the browser test, which fails rather than skips
# without them; ss (iproute2) and runuser (util-linux) for the integration
# tests; openssl (certificates made at test time, s_client) and curl for the
# TLS tests; pebble and pebble-challtestsrv (Let's Encrypt's test CA and its
# DNS) for the ACME tests; nghttp and h2load (nghttp2-client) and Debian's
# python3-h2 (for /usr/bin/python3) for the HTTP/2 tests.
test-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	{ command -v chromedriver >/dev/null || [ -x /usr/lib/chromium/chromedriver ]; } || missing="$$missing chromium-driver"; \
	/usr/bin/python3 -c 'import selenium' 2>/dev/null || missing="$$missing python3-selenium"; \
	command -v ss >/dev/null || missing="$$missing iproute2"; \
	command -v runuser >/dev/null || missing="$$missing util-linux"; \
	[ -x /usr/bin/openssl ] || missing="$$missing openssl"; \
	[ -x /usr/bin/curl ] || missing="$$missing curl"; \
	{ [ -x /usr/bin/pebble ] && [ -x /usr/bin/pebble-challtestsrv ]; } || missing="$$missing pebble"; \
	{ [ -x /usr/bin/nghttp ] && [ -x /usr/bin/h2load ]; } || missing="$$missing nghttp2-client"; \
	/usr/bin/python3 -c 'import h2' 2>/dev/null || missing="$$missing python3-h2"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

clean:
	rm -rf .build

# ---------------------------------------------------------------------------
# Install as a systemd service (docs/operations.md). DESTDIR stages the whole
# tree elsewhere (packaging, tests); then no user is created, nothing is
# chowned and systemd is not told.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DOCDIR     ?= $(PREFIX)/share/doc/swerve
CONFDIR    ?= /etc/swerve
SITEDIR    ?= /var/www/swerve
# Fixed: the unit's LogsDirectory= and the logrotate snippet name it.
LOGDIR     := /var/log/swerve
UNITDIR    ?= /etc/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
LOGROTATEDIR ?= /etc/logrotate.d

# The shipped config, made absolute for an installed server on port 80.
INSTALLED_CONFIG = sed -e '1s|.*|\# swerve — installed configuration, written by `make install` from config/config.yaml.|' \
	-e '2,$$s|config/config.yaml|$(CONFDIR)/config.yaml|g' -e 's| (config/)||' \
	-e 's|\.\./www/default|$(SITEDIR)|g' \
	-e 's|listen: \[8080\]|listen: [80]|' \
	-e 's|access_log: stdout|access_log: $(LOGDIR)/access.log|' \
	-e 's|^server:$$|server:\n  pid_file: /run/swerve/swerve.pid   \# read by `swerve signal` (logrotate)|' \
	config/config.yaml
# Unit files and the logrotate snippet name the install's paths.
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SITEDIR@|$(SITEDIR)|g' -e 's|@CONFDIR@|$(CONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g'
STAGED = $(if $(DESTDIR),yes,)

# Not `install: build`: under sudo the toolchain may not be on PATH, and a
# root-owned .build would break the next `make test`. Build first, as yourself.
install:
	@[ -x $(BIN) ] || { echo "no $(BIN): run 'make build' first (as yourself), then 'sudo make install'"; exit 1; }
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(CONFDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(LOGROTATEDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/swerve
	install -m 0644 docs/operations.md docs/configuration.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 systemd/swerve.sysusers $(DESTDIR)$(SYSUSERSDIR)/swerve.conf
	@if [ -z "$(STAGED)" ] && ! id swerve >/dev/null 2>&1; then \
		if command -v systemd-sysusers >/dev/null; then systemd-sysusers $(SYSUSERSDIR)/swerve.conf; \
		else useradd --system --user-group --home-dir $(SITEDIR) --shell /usr/sbin/nologin swerve; fi; \
		echo "created the system user 'swerve'"; \
	fi
	$(SUBST) systemd/swerve.service > $(DESTDIR)$(UNITDIR)/swerve.service
	$(SUBST) systemd/swerve.socket > $(DESTDIR)$(UNITDIR)/swerve.socket
	$(SUBST) systemd/swerve.logrotate > $(DESTDIR)$(LOGROTATEDIR)/swerve
	chmod 0644 $(DESTDIR)$(UNITDIR)/swerve.service $(DESTDIR)$(UNITDIR)/swerve.socket $(DESTDIR)$(LOGROTATEDIR)/swerve
	@# Never overwrite an operator's config: the new default goes beside it.
	@$(INSTALLED_CONFIG) > $(DESTDIR)$(CONFDIR)/config.yaml.tmp
	@if [ -e $(DESTDIR)$(CONFDIR)/config.yaml ]; then \
		mv $(DESTDIR)$(CONFDIR)/config.yaml.tmp $(DESTDIR)$(CONFDIR)/config.yaml.new; \
		chmod 0640 $(DESTDIR)$(CONFDIR)/config.yaml.new; \
		echo "kept $(CONFDIR)/config.yaml; the new default is $(CONFDIR)/config.yaml.new (compare: diff $(CONFDIR)/config.yaml $(CONFDIR)/config.yaml.new)"; \
	else \
		mv $(DESTDIR)$(CONFDIR)/config.yaml.tmp $(DESTDIR)$(CONFDIR)/config.yaml; \
		chmod 0640 $(DESTDIR)$(CONFDIR)/config.yaml; \
		echo "installed $(CONFDIR)/config.yaml"; \
	fi
	@if [ -z "$(STAGED)" ]; then chgrp swerve $(CONFDIR)/config.yaml $(CONFDIR)/config.yaml.new 2>/dev/null || true; fi
	@# The demo site only where there is no site yet: content is the operator's.
	@if [ -e $(DESTDIR)$(SITEDIR)/index.html ]; then \
		echo "kept the site in $(SITEDIR)"; \
	else \
		install -d -m 0755 $(DESTDIR)$(SITEDIR); \
		(cd www/default && find . -path ./uploads -prune -o -name __pycache__ -prune -o -type d -print) | \
			while read -r d; do install -d -m 0755 "$(DESTDIR)$(SITEDIR)/$$d"; done; \
		(cd www/default && find . -path ./uploads -prune -o -name __pycache__ -prune -o -type f -print) | \
			while read -r f; do install -m 0644 "www/default/$$f" "$(DESTDIR)$(SITEDIR)/$$f"; done; \
		echo "installed the demo site in $(SITEDIR)"; \
	fi
	install -d -m 0750 $(DESTDIR)$(SITEDIR)/uploads $(DESTDIR)$(LOGDIR)
	@if [ -z "$(STAGED)" ]; then chown swerve:swerve $(SITEDIR)/uploads $(LOGDIR); fi
	@if [ -z "$(STAGED)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "done. Start with: systemctl enable --now swerve (see $(DOCDIR)/operations.md)"

# Removes what install put in place, except the config, the site and the
# logs (the operator's), and the 'swerve' user (which may still own files).
uninstall:
	@if [ -z "$(STAGED)" ] && [ -d /run/systemd/system ]; then \
		systemctl disable --now swerve.socket swerve.service 2>/dev/null || true; fi
	rm -f $(DESTDIR)$(BINDIR)/swerve $(DESTDIR)$(UNITDIR)/swerve.service $(DESTDIR)$(UNITDIR)/swerve.socket \
		$(DESTDIR)$(LOGROTATEDIR)/swerve $(DESTDIR)$(SYSUSERSDIR)/swerve.conf \
		$(DESTDIR)$(DOCDIR)/operations.md $(DESTDIR)$(DOCDIR)/configuration.md
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null
	@if [ -z "$(STAGED)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "kept $(CONFDIR), $(SITEDIR), $(LOGDIR) and the user 'swerve'"
