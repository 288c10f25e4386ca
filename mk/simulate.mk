# Cost and waiting simulator (issues 5 and 14): replay a week of traffic through every policy.
# Extra flags: make simulate SIMULATE_ARGS="--idle-minutes 60 --trace my.csv"
SIMULATE_ARGS ?=

.PHONY: simulate simulate-frontier simulate-goals test-simulate
simulate: setup ## cost, waits and the latency tail per policy on a week of traffic (table; build/simulate/simulate.json and .png)
	$(BIN)/python -m sleepwake_cli simulate $(SIMULATE_ARGS)

simulate-frontier: setup ## also sweep the planner's and the hybrid peer's knobs: frontier.json and frontier.png (minutes)
	$(BIN)/python -m sleepwake_cli simulate --frontier --no-variants $(SIMULATE_ARGS)

simulate-goals: setup ## issue 14's goals: a setting chosen on the built-in week, checked on seeds 8-10 and the held-out trace (~20 min)
	$(BIN)/python scripts/simulate_goals.py --frontier-held-out

test-simulate: setup ## the simulator's tests only
	$(BIN)/pytest tests/simulate -q
