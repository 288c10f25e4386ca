# Cost and waiting simulator (issue 5): replay a week of traffic through every policy.
# Extra flags: make simulate SIMULATE_ARGS="--idle-minutes 60 --trace my.csv"
SIMULATE_ARGS ?=

.PHONY: simulate test-simulate
simulate: setup ## cost and waits per policy on a week of traffic (table; build/simulate/simulate.json and .png)
	$(BIN)/python -m sleepwake_cli simulate $(SIMULATE_ARGS)

test-simulate: setup ## the simulator's tests only
	$(BIN)/pytest tests/simulate -q
