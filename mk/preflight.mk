# `sleepwake preflight` (docs/deploy.md): read-only checks of what `sam deploy` would meet, before it runs.
# AWS: samconfig.toml's parameter_overrides and the usual AWS_PROFILE / AWS_REGION; PREFLIGHT_ARGS adds flags,
#   e.g. PREFLIGHT_ARGS="--parameter-overrides EndpointName=speech-prod InferenceComponentName=speech-ic --json".
# The running `make local`: PREFLIGHT_ARGS="--deployment-file build/local/deployment.json".
PREFLIGHT_ARGS ?=

.PHONY: preflight
preflight: setup ## read-only checks before `sam deploy`, one line each with its fix (PREFLIGHT_ARGS; exit 0 ok, 1 warn, 2 fail)
	$(BIN)/python -m sleepwake_cli preflight $(PREFLIGHT_ARGS)
