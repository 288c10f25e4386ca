# The loopback AWS (localaws/): moto 5.2.5 extended in-process, one emulated clock, the real template deployed.
# `make local` / `make demo` (mk/demo.mk) run the whole stack; `python -m localaws --no-stack` runs the services only.

.PHONY: test-local
test-local: setup ## the emulator's tests, including the canary that fails if the moto extensions stop applying
	$(BIN)/pytest tests/localaws -q
