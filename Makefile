# Every target runs through scripts/toolchain.sh, which installs what is missing (Node 24, npm
# dependencies, Envoy) into the git-ignored .tools/ and puts it first on PATH.
SHELL := bash
TOOLCHAIN := ./scripts/toolchain.sh

.PHONY: help install dev test test-unit test-integration test-e2e test-packaging bench lint format format-check typecheck render-gateway clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

install: ## Install the toolchain and dependencies only
	@$(TOOLCHAIN) true

dev: ## Run the platform locally: services + Envoy on http://localhost:8080 (Ctrl-C stops)
	@$(TOOLCHAIN) node scripts/dev.ts

test: ## Unit, integration and end-to-end tests (needs Postgres and Redis)
	@$(TOOLCHAIN) mocha

test-unit: ## Unit tests only
	@MOCHA_SPEC='libs/*/test/**/*.test.ts services/*/test/**/*.test.ts' $(TOOLCHAIN) mocha

test-integration: ## Integration tests (services in-process, real Postgres)
	@MOCHA_SPEC='tests/integration/**/*.test.ts' $(TOOLCHAIN) mocha

test-e2e: ## End-to-end tests through the real Envoy (and gateway tests)
	@MOCHA_SPEC='envoy/test/**/*.test.ts tests/e2e/**/*.test.ts' $(TOOLCHAIN) mocha

test-packaging: ## Images, Helm charts, compose, Skaffold and Tilt files, checked offline with real tools
	@MOCHA_SPEC='tests/packaging/**/*.test.ts' $(TOOLCHAIN) mocha

bench: ## Load benchmark through Envoy on its own ports, databases and Redis db (docs/benchmarks.md)
	@$(TOOLCHAIN) node scripts/bench.ts

lint: ## ESLint (type-aware) and Prettier check
	@$(TOOLCHAIN) bash -c 'tsc --build && eslint . --max-warnings 0 && prettier --check . --log-level warn'

format: ## Format everything with Prettier
	@$(TOOLCHAIN) prettier --write . --log-level warn

render-gateway: ## Write the committed gateway renderings again (Helm chart template, docker-compose config)
	@$(TOOLCHAIN) node envoy/src/committed-renderings.ts

typecheck: ## TypeScript strict, all projects
	@$(TOOLCHAIN) tsc --build

clean: ## Remove build output and dev state (keeps the toolchain)
	rm -rf dist libs/*/dist services/*/dist envoy/dist tests/dist .dev
