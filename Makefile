# Every target runs through scripts/toolchain.sh, which installs what is missing (Node 24, npm
# dependencies, Envoy) into the git-ignored .tools/ and puts it first on PATH.
SHELL := bash
TOOLCHAIN := ./scripts/toolchain.sh

.PHONY: help install dev traffic chart-readmes mutation test test-unit test-integration test-e2e test-packaging images test-images test-browser security bench chaos rotate-key lint format format-check typecheck render-gateway api-docs contract-types new-service clean \
	chart-deps up down tilt helm-test compose-up compose-down compose-smoke k8s-wait k8s-forward k8s-smoke k8s-logs

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

install: ## Install the toolchain and dependencies only
	@$(TOOLCHAIN) true

dev: ## Run the platform locally: services + Envoy on http://localhost:8080 (Ctrl-C stops)
	@$(TOOLCHAIN) node scripts/dev.ts

traffic: ## A gentle mix of the seed's calls through the gateway of make dev, so dashboards and traces fill up (TRAFFIC_RATE=1 cycle/s, TRAFFIC_DURATION_S=0: until Ctrl-C)
	@GATEWAY_URL=$${GATEWAY_URL:-http://localhost:8080} sh charts/platform/files/traffic.sh

test: ## Unit, integration, end-to-end and packaging tests, then the browser tests if Chromium is present and the image tests if a container engine is (needs Postgres and Redis)
	@$(TOOLCHAIN) mocha
	@if [ -n "$${MRP_CHROMIUM:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then \
	  $(MAKE) --no-print-directory test-browser; \
	else echo "[test] browser tests not run: no Chromium (Debian: apt-get install chromium; or set MRP_CHROMIUM)"; fi
	@if [ "$${MRP_IMAGE_TESTS:-1}" = 0 ]; then echo "[test] image tests not run: MRP_IMAGE_TESTS=0"; \
	elif scripts/containers.sh engine >/dev/null 2>&1; then $(MAKE) --no-print-directory test-images; \
	else echo "[test] image tests not run: no container engine (scripts/containers.sh engine says what to install)"; fi

test-unit: ## Unit tests only
	@MOCHA_SPEC='libs/*/test/**/*.test.ts services/*/test/**/*.test.ts' $(TOOLCHAIN) mocha

test-integration: ## Integration tests (services in-process, real Postgres)
	@MOCHA_SPEC='tests/integration/**/*.test.ts' $(TOOLCHAIN) mocha

test-e2e: ## End-to-end tests through the real Envoy (and gateway tests)
	@MOCHA_SPEC='envoy/test/**/*.test.ts tests/e2e/**/*.test.ts' $(TOOLCHAIN) mocha

test-packaging: ## Images, Helm charts, compose, Skaffold and Tilt files, checked offline with real tools
	@MOCHA_SPEC='tests/packaging/**/*.test.ts' $(TOOLCHAIN) mocha

images: ## Build every service image with docker (buildx) or podman, offline too (local base images): mrp/<service>:local
	@$(TOOLCHAIN) scripts/containers.sh images

test-browser: ## The API reference at /docs in headless Chromium through the real Envoy (screenshot in test-results/)
	@MOCHA_SPEC='tests/browser/**/*.test.ts' $(TOOLCHAIN) mocha

test-images: ## Build the images, then run each as the chart runs it against the real Postgres and Redis
	@MOCHA_SPEC='tests/images/**/*.test.ts' $(TOOLCHAIN) mocha

security: ## semgrep (committed rules), checkov (rendered charts, Dockerfiles), hadolint, CycloneDX SBOMs, npm audit where reachable (SECURITY.md)
	@$(TOOLCHAIN) scripts/security.sh

chaos: ## Faults under load: kills each service, Envoy, Redis and Postgres connections in turn; proves nothing acknowledged is lost or doubled (CHAOS_DURATION_S=120)
	@$(TOOLCHAIN) node scripts/chaos.ts

bench: ## Load benchmark through Envoy on its own ports, databases and Redis db (docs/benchmarks.md)
	@$(TOOLCHAIN) node scripts/bench.ts

rotate-key: ## Rotate the signing key of make dev's auth-service without a failed request (STEP=status|prepare|wait|switch|retire; default all)
	@$(TOOLCHAIN) node scripts/rotate-signing-key.ts $(or $(STEP),rotate) $(ROTATE_ARGS)

lint: ## ESLint (type-aware) and Prettier check
	@$(TOOLCHAIN) bash -c 'tsc --build && eslint . --max-warnings 0 && prettier --check . --log-level warn'

format: ## Format everything with Prettier
	@$(TOOLCHAIN) prettier --write . --log-level warn

mutation: ## Mutation testing (StrykerJS) of the libraries' pure modules against their unit tests: a report, not a gate (tens of minutes; MUTATE=<file> for one)
	@MUTATION_SPEC="$(SPEC)" $(TOOLCHAIN) bash scripts/mutation.sh $(if $(MUTATE),--mutate $(MUTATE))

chart-readmes: ## Write each chart's README (its parameter table) from the comments of its values.yaml
	@$(TOOLCHAIN) node scripts/chart-readme.ts

new-service: ## Scaffold a service and register it everywhere the platform lists services: NAME=<name>-service [PORT=<port>] [DB=yes|no] (docs/adding-a-service.md)
	@$(TOOLCHAIN) node scripts/new-service.ts NAME="$(NAME)" PORT="$(PORT)" DB="$(DB)"

contract-types: ## Write the TypeScript types of the JSON Schemas in libs/schemas/json (libs/schemas/src/contracts.generated.ts)
	@$(TOOLCHAIN) node scripts/contract-types.ts

render-gateway: ## Write the committed gateway renderings again (Helm chart template, docker-compose config)
	@$(TOOLCHAIN) node envoy/src/committed-renderings.ts

api-docs: ## Write the gateway's merged OpenAPI document (charts/gateway/files/docs/openapi.json) from every registered service's own (needs Postgres and Redis)
	@MRP_WRITE_API_DOCS=1 MOCHA_SPEC='tests/integration/openapi.test.ts' $(TOOLCHAIN) mocha --grep 'as committed'

typecheck: ## TypeScript strict, all projects
	@$(TOOLCHAIN) tsc --build

# ---- Kubernetes (kind) and Compose: these need Docker and the tools each names (scripts/require.sh says
# how to get a missing one); helm and kubectl come from the toolchain when you have none.
KIND_CLUSTER := mrp
NAMESPACE ?= mrp
RELEASE ?= mrp
K8S_ARGS = --namespace $(NAMESPACE) --release $(RELEASE)
MRPCTL := $(TOOLCHAIN) node libs/operator/src/cli.ts

chart-deps: ## Vendor the Helm charts' file:// dependencies (helm install, Skaffold and Tilt need them)
	@$(TOOLCHAIN) bash scripts/chart-deps.sh

up: ## Create the kind cluster (kind-config.yaml) and deploy the platform with Skaffold; Envoy on localhost:8080
	@$(TOOLCHAIN) bash -c 'scripts/require.sh docker kind kubectl helm skaffold && node scripts/k8s-tools.ts check && \
	  { kind get clusters | grep -qx $(KIND_CLUSTER) || kind create cluster --config kind-config.yaml; } && \
	  skaffold run --kube-context kind-$(KIND_CLUSTER) && \
	  node libs/operator/src/cli.ts wait $(K8S_ARGS) --context kind-$(KIND_CLUSTER) && \
	  echo "The platform is up: http://localhost:8080 (make k8s-smoke runs the seed flow; make down removes it)"'

down: ## Delete the kind cluster and everything in it
	@$(TOOLCHAIN) bash -c 'scripts/require.sh kind && kind delete cluster --name $(KIND_CLUSTER)'

tilt: ## The inner loop on the kind cluster: live update of the TypeScript services (make up creates the cluster)
	@$(TOOLCHAIN) bash -c 'scripts/require.sh docker kind kubectl helm tilt && tilt up'

helm-test: ## Run the chart's helm test (the seed flow through Envoy, in the cluster)
	@$(TOOLCHAIN) bash -c 'scripts/require.sh helm && helm test $(RELEASE) --namespace $(NAMESPACE) --logs'

k8s-wait: ## Wait until the release's workloads are ready, naming what is stuck (NAMESPACE=, RELEASE=)
	@$(MRPCTL) wait $(K8S_ARGS)

k8s-forward: ## Forward http://127.0.0.1:8080 to a ready gateway pod until Ctrl-C (not needed on kind)
	@$(MRPCTL) port-forward $(K8S_ARGS)

k8s-smoke: ## Run the seed flow through the release's gateway, PASS/FAIL per step (or SMOKE_URL=http://...)
	@$(MRPCTL) smoke $(if $(SMOKE_URL),--url $(SMOKE_URL),$(K8S_ARGS))

k8s-logs: ## One request's log lines from every pod, in time order (REQUEST_ID=<x-request-id>)
	@$(MRPCTL) logs $(REQUEST_ID) $(K8S_ARGS)

compose-up: ## The whole platform with Docker Compose (no Kubernetes); Envoy on localhost:8080
	@scripts/require.sh docker && docker compose --profile observability up --build --wait

compose-down: ## Stop the Compose platform (docker compose down -v also drops its data)
	@scripts/require.sh docker && docker compose --profile observability down

compose-smoke: ## docker-compose.yml for real (docker or podman, offline too): up, the seed flow through Envoy, down -v
	@$(TOOLCHAIN) scripts/compose-smoke.sh

clean: ## Remove build output and dev state (keeps the toolchain)
	rm -rf dist libs/*/dist services/*/dist envoy/dist tests/dist .dev charts/*/charts charts/*/Chart.lock
