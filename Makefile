# Pendulum — the user's entry points. Every target installs what it needs.
#   make drill   rehearse a regional outage, failover and failback locally
#   make test    everything CI runs
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO        ?= go
FUZZTIME  ?= 10s
# The size budget of one Lambda bootstrap (linux/arm64, stripped).
MAX_BOOTSTRAP_BYTES ?= 15000000
FUNCTIONS := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
ASL       := $(wildcard statemachines/*.asl.json)
NPM_STAMP := tools/node_modules/.package-lock.json
NODE_BIN  := tools/node_modules/.bin
# The Lambda runtime interface emulator, for the bootstrap test (functions/functions_test.go).
RIE       := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d

# The CDK CLI and jsii make no network attempt and print no Node end-of-life banner.
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: snapshot all build cli test unit vet fmt-check bench bench-compile fuzz lint asl synth cdk-synth drill drills scale-drill deps clean crosscheck crosscheck-bench \
	bootstrap deploy diff destroy verify-deploy deployer-policy chromium html-test

all: build

## deps: Go modules, the Lambda runtime interface emulator and the pinned npm tools (CDK CLI, asl-validator)
deps: $(NPM_STAMP)
	$(GO) mod download
	CGO_ENABLED=0 $(GO) install $(RIE)

$(NPM_STAMP): tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --loglevel=error
	@touch $@

## build: every functions/* to dist/<name>/bootstrap for Lambda (provided.al2023, arm64)
build:
	@for f in $(FUNCTIONS); do \
	  echo "build dist/$$f/bootstrap"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o dist/$$f/bootstrap ./functions/$$f; \
	done
	@# Every bootstrap stays within MAX_BOOTSTRAP_BYTES: a dependency that
	@# defeats the linker's dead-code elimination (see go.mod) shows up here.
	@over=0; for f in $(FUNCTIONS); do \
	  size=$$(stat -c %s dist/$$f/bootstrap); \
	  printf '  %-14s %10d bytes\n' $$f $$size; \
	  if [ $$size -gt $(MAX_BOOTSTRAP_BYTES) ]; then echo "dist/$$f/bootstrap is $$size bytes, over $(MAX_BOOTSTRAP_BYTES)" >&2; over=1; fi; \
	done; exit $$over

## cli: the command-line tools to bin/: pendulum, and pendulum-drill, which `pendulum drill` runs
## (static: no dynamic loader at start-up)
cli:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ ./cmd/pendulum ./cmd/pendulum-drill

## drill: deploy cdk.out into simulated regions (IAM enforced) and rehearse a regional outage, failover and
## failback (DRILL_ARGS=--json …); cdk.out is synthesized first when the CDK app's inputs changed
## (`make -s drill DRILL_ARGS=--json > report.json`: stdout is the report only, all else goes to stderr)
drill: cli cdk.out/manifest.json
	bin/pendulum drill --assembly cdk.out $(DRILL_ARGS)

## drills: every scenario of the drill catalogue on cdk.out (`pendulum drill --list`), one per CPU at a time
## (new-primary deploys cdk.out.new-primary over it); exits non-zero if any fails (its whole report is printed).
## The scale scenario runs here at a tenth of its default size (SCALE_ARGS); `make scale-drill` runs it whole.
SCALE_ARGS ?= --scale-records 100000 --scale-objects 10000
drills: cli cdk.out/manifest.json cdk.out.new-primary/manifest.json
	bin/pendulum drill --assembly cdk.out --scenario all --quiet $(SCALE_ARGS) $(DRILL_ARGS)

## scale-drill: the scale scenario at its default size (10^6 records in 10^5 objects delivered in B
## during a day's failover); its report gives failback's predicted duration, histories, wall time and peak RSS
scale-drill: cli cdk.out/manifest.json
	bin/pendulum drill --assembly cdk.out --scenario scale $(DRILL_ARGS)

# What the templates are made from — the CDK app's own packages (infra and what it imports from
# this module), the state machines, the functions' directories and cdk.json: an unchanged app is
# not synthesized again.
ASSEMBLY_DIRS   := $(shell $(GO) list -deps -f '{{if not .Standard}}{{.Dir}}{{end}}' ./infra 2>/dev/null | grep '^$(CURDIR)/')
ASSEMBLY_INPUTS := $(filter-out %_test.go,$(wildcard $(addsuffix /*.go,$(ASSEMBLY_DIRS)))) $(shell find statemachines functions -name '*.go' -o -name '*.json' 2>/dev/null) cdk.json go.mod go.sum

cdk.out/manifest.json: $(ASSEMBLY_INPUTS)
	@echo "drill: the CDK app changed since cdk.out was synthesized: building the Lambdas and running cdk synth (minutes on a cold machine)" >&2
	$(MAKE) --no-print-directory synth >&2
	@touch $@

# synth writes both assemblies; one synthesized before there were two is
# completed here.
cdk.out.new-primary/manifest.json: cdk.out/manifest.json
	@test -f $@ || $(MAKE) --no-print-directory synth >&2
	@touch $@

# The second configuration the app is synthesized in: the backup region made
# the primary, protected by a new backup region (docs/dr.md "When the primary
# is lost for good"), which the new-primary drill deploys over the first.
# Its assembly is cdk.out.new-primary (assembly.NewPrimarySuffix).
NEW_PRIMARY_CONTEXT := -c pendulum:primaryRegion=us-east-2 -c pendulum:backupRegion=us-west-1

## synth: the CDK app synthesized offline into cdk.out (every stack, both regions, cdk-nag checks), and
## into cdk.out.new-primary with $(NEW_PRIMARY_CONTEXT)
synth: cdk-synth
	@# The templates `go test` deploys (pkg/assembly/testdata/cdk.out*) are this synth's.
	PENDULUM_FRESH_ASSEMBLY=$(CURDIR)/cdk.out $(GO) test -count=1 -run TestSnapshotMatchesSynth ./pkg/assembly

## snapshot: refresh pkg/assembly/testdata/cdk.out and cdk.out.new-primary from a fresh synth (commit the result)
snapshot: cdk-synth
	PENDULUM_FRESH_ASSEMBLY=$(CURDIR)/cdk.out $(GO) test -count=1 -run TestSnapshotMatchesSynth ./pkg/assembly -update

# cdk-synth is synth without the snapshot check, which snapshot replaces
# with the update (a stale snapshot is what it is run for): one synth per
# configuration.
cdk-synth: build deps
	$(NODE_BIN)/cdk synth --no-notices --quiet -o cdk.out $(CDK_ARGS)
	$(NODE_BIN)/cdk synth --no-notices --quiet -o cdk.out.new-primary $(NEW_PRIMARY_CONTEXT)

# --- Deploying to AWS (docs/deploy.md) -------------------------------------
# Credentials: AWS_PROFILE (`make deploy AWS_PROFILE=prod`) or the default
# credential chain (environment variables, SSO, instance or container role).
# CDK_ARGS is added to every cdk command (e.g. CDK_ARGS='-c pendulum:account=123456789012').
# Each target synthesizes cdk.out from cdk.json first and acts on exactly its stacks;
# deployplan (infra/deployplan) reads them from cdk.out/manifest.json and says what will happen.
CDK       := $(NODE_BIN)/cdk --no-notices
# broadening: cdk deploy asks before widening IAM or security groups; `APPROVAL=never` for CI.
APPROVAL  ?= broadening
PLAN      := $(GO) run ./infra/deployplan -assembly cdk.out
VERIFY_OUT ?= readiness-report.json

## bootstrap: cdk bootstrap every environment the app deploys to (P, B and us-west-2), as an administrator, once
bootstrap: cdk-synth
	@echo "bootstrap: $$($(PLAN) environments)"
	$(CDK) bootstrap --app cdk.out $(CDK_ARGS) $$($(PLAN) environments)

## deploy: deploy every stack of cdk.out, in its dependency order (cdk deploy --all)
deploy: cdk-synth
	@$(PLAN) plan
	$(CDK) deploy --app cdk.out --all --require-approval $(APPROVAL) $(CDK_ARGS)

## diff: what deploy would change in every stack
diff: cdk-synth
	$(CDK) diff --app cdk.out --all $(CDK_ARGS)

## destroy: delete every stack, B's dormant workload first (each asks; FORCE=--force does not); what the stacks retain
## is listed, and docs/deploy.md "Teardown" removes it
destroy: cdk-synth
	@$(PLAN) destroy-plan
	for stack in $$($(PLAN) destroy-order); do $(CDK) destroy --app cdk.out $(FORCE) $(CDK_ARGS) "$$stack"; done

## verify-deploy: run the deployed readiness check once (aws lambda invoke) and print its report; fails unless ready
## (reads the function's name from the cdk.out `make deploy` synthesized)
verify-deploy:
	@read -r fn region <<< "$$($(PLAN) readiness)"; \
	echo "aws lambda invoke --region $$region --function-name $$fn --payload '{}' $(VERIFY_OUT)"; \
	aws lambda invoke --region "$$region" --function-name "$$fn" --cli-binary-format raw-in-base64-out --payload '{}' $(VERIFY_OUT) > /dev/null
	$(GO) run ./infra/deployplan verify $(VERIFY_OUT)

## deployer-policy: the least-privilege IAM policy of who runs deploy, diff and verify-deploy, for cdk.out's account and regions
deployer-policy: cdk-synth
	@$(PLAN) deployer-policy

## test: what CI runs
test: deps fmt-check vet unit bench-compile asl synth drills
	@echo "make test: all checks passed"

# The HTML report tests render pages in headless Chromium and must run, not
# skip (PENDULUM_HTML_TEST=require; pkg/reportpage/pagetest).
unit: chromium
	PENDULUM_HTML_TEST=require PENDULUM_CHROMIUM=$(CHROMIUM) $(GO) test -count=1 ./...

# Headless Chromium for the HTML report tests: Debian's chromium package.
CHROMIUM ?= /usr/bin/chromium

## chromium: install headless Chromium (apt-get install -y chromium) when $(CHROMIUM) is missing
chromium:
	@if [ -x "$(CHROMIUM)" ]; then echo "chromium: $(CHROMIUM) is installed"; \
	else \
	  echo "chromium: $(CHROMIUM) is missing: installing Debian's chromium package (the HTML report tests render in it)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y chromium; \
	  [ -x "$(CHROMIUM)" ] || { echo "chromium: still no $(CHROMIUM) after apt-get install" >&2; exit 1; }; \
	fi

## html-test: the drill and execution reports' HTML pages rendered in headless Chromium (installed first when missing)
html-test: chromium
	PENDULUM_HTML_TEST=require PENDULUM_CHROMIUM=$(CHROMIUM) $(GO) test -count=1 -run 'Chromium|HTML' ./pkg/reportpage/ ./cmd/pendulum/ ./cmd/pendulum-drill/

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## bench-compile: every benchmark runs once, so none rots
bench-compile:
	$(GO) test -count=1 -run='^$$' -bench=. -benchtime=1x ./... > /dev/null

## bench: the performance figures (see docs and the drill report)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

## fuzz: every fuzz target for $(FUZZTIME)
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

## lint: gofmt and go vet; staticcheck too where the module proxy serves it
lint: fmt-check vet
	@if $(GO) install honnef.co/go/tools/cmd/staticcheck@2025.1.1 2>/dev/null; then \
	  "$$($(GO) env GOPATH)/bin/staticcheck" ./...; \
	else echo "lint: staticcheck is not served by the module proxy here; ran gofmt and go vet"; fi

## asl: validate every state machine with our validator and with asl-validator (npm)
asl: $(NPM_STAMP)
	$(GO) run ./cmd/pendulum states validate $(ASL)
	$(NODE_BIN)/asl-validator $(foreach f,$(ASL),--json-path $(f))

## crosscheck: pkg/states against aws-local-stepfunctions 3.0.0 (Node 22 from npm); fails on a
## disagreement not explained in tools/crosscheck/known.json (see docs/states-crosscheck.md)
crosscheck:
	cd tools/crosscheck && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && $(GO) run -mod=mod .

## crosscheck-bench: whole-process speed of `pendulum states run` against aws-local-stepfunctions (needs hyperfine)
crosscheck-bench:
	cd tools/crosscheck && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && sh bench/bench.sh

clean:
	rm -rf dist cdk.out cdk.out.new-primary bin
