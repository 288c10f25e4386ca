"""The control plane's use cases, one module each: core decisions applied through the adapters, each logged
with its reason. Handlers stay thin: they parse their event, call one function here and shape the answer; the
operator CLI calls the same functions, so there is one way of doing each thing.

- plane.py          ControlPlane: settings, policy, adapters, clock, and the reads several use cases share
- ports.py          the adapters' typed Protocols and `Adapters`, the one place the real ones are built
- status.py         GET /status: the `Status` document (API and CLI) and whether a copy serves
- wake.py           start or join a wake (API, schedules, alarm, CLI)
- sleep.py          decide whether to sleep now and claim the record
- steps.py          the state machines' steps: poll the copies, record a transition
- warmup.py         warm the serving copy with real requests
- fallback.py       pre-warm and warm the serverless fallback
- plan.py           the plan job: learn the day's windows, store them, schedule the planned wakes
- execution_end.py  a wake or sleep that ended without succeeding: record, re-arm, notify once
- deploy.py         after a deploy: settle the record, check the endpoint's instance scaling
"""
