# `sleepwake preflight` (docs/deploy.md): read-only checks of what `sam deploy` would meet, before it runs.
# AWS: samconfig.toml's parameter_overrides, AWS_PROFILE and the region as `sam deploy` reads it (samconfig.toml's,
#   AWS_DEFAULT_REGION or the profile's; not AWS_REGION, docs/deploy.md step 1); PREFLIGHT_ARGS adds flags,
#   e.g. PREFLIGHT_ARGS="--parameter-overrides EndpointName=speech-prod InferenceComponentName=speech-ic --json".
# The running `make local`: PREFLIGHT_ARGS="--deployment-file build/local/deployment.json".
# make's own exit status: 0 for the CLI's 0 (all ok) and 1 (warnings, said on stderr), 2 for its 2 (a failure or a
# bad option): GNU make exits 2 whenever a recipe fails, so passing the CLI's 1 through would read as a failure.
PREFLIGHT_ARGS ?=

.PHONY: preflight
preflight: setup ## read-only checks before `sam deploy`, one line each with its fix (PREFLIGHT_ARGS; make exits 0 ok or warnings, 2 fail)
	@rc=0; $(BIN)/python -m sleepwake_cli preflight $(PREFLIGHT_ARGS) || rc=$$?; \
	if [ $$rc -eq 1 ]; then echo "make preflight: warnings only (sleepwake preflight exited 1): deployable once you have read them" >&2; fi; \
	[ $$rc -le 1 ]
