# The local stack as people use it: `make local` (foreground), `make demo` (a whole night), `make bench-wake`.
LOCAL_PORT ?= 5000
API_PORT ?= 3000
SPEED ?= 1
LOCAL_ARGS ?=

.PHONY: local demo demo-planner bench-wake
local: setup ## the control plane on loopback until Ctrl-C: emulator :5000, wake API :3000 (LOCAL_PORT, API_PORT, SPEED, LOCAL_ARGS)
	$(BIN)/python -m localaws.make_local --port $(LOCAL_PORT) --api-port $(API_PORT) --speed $(SPEED) $(LOCAL_ARGS)

demo: setup ## a whole night on the local stack, checked phase by phase; timeline + build/demo/timeline.png
	$(BIN)/python -m localaws.demo

demo-planner: setup ## the learned schedule on the local stack: two weeks of history, the plan job, a planned pre-wake (~1 min)
	$(BIN)/python -m localaws.demo_planner

bench-wake: setup ## time-to-ready vs floor, first-request/steady ratio, /wake p50/p99 under a burst, 300 wakes over 64 connections
	$(BIN)/python scripts/bench_wake.py
