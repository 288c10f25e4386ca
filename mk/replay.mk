# A trace through the real control plane on the local stack, against the simulator (issue 16 item 3).
# make replay TRACE=build/traces/built-in-week.csv [REPLAY_OUT=build/replay] [REPLAY_HISTORY_WEEKS=3]
TRACE ?=
REPLAY_OUT ?= build/replay
REPLAY_HISTORY_WEEKS ?= 0

.PHONY: replay replay-traces
replay: setup ## replay TRACE=file.csv through the local stack, then the report and the simulator on it: $(REPLAY_OUT)/replay.json, .png; fails when a goal against the simulator is missed
	@test -n "$(TRACE)" || { echo "make replay: give TRACE=file.csv (e.g. make replay-traces, then TRACE=build/traces/built-in-week.csv)" >&2; exit 2; }
	$(BIN)/python -m localaws.replay_compare $(TRACE) --out $(REPLAY_OUT) --history-weeks $(REPLAY_HISTORY_WEEKS) --check

replay-traces: setup ## write the replay's traces: build/traces/built-in-week.csv, holiday-week.csv, built-in-4-weeks.csv (3 weeks of history first)
	$(BIN)/python scripts/make_trace.py --profile built-in-week build/traces/built-in-week.csv
	$(BIN)/python scripts/make_trace.py --profile built-in-week --history-weeks 3 build/traces/built-in-4-weeks.csv
	$(BIN)/python scripts/make_trace.py --profile holiday-week build/traces/holiday-week.csv
