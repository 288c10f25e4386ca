"""After a deploy (the PostDeployWarmup custom resource): record what the copies say, and check that the
endpoint lets its instances go at 0 copies, so GET /status says what is wrong until a deploy finds it fixed."""

from __future__ import annotations

from typing import Any

from sleepwake.adapters.state_table import Change
from sleepwake.control.plane import ControlPlane
from sleepwake.core import StateRecord, settled_state
from sleepwake.core.endpoint import instance_scaling_warnings
from sleepwake.core.model import State
from sleepwake.observability import logger


def settle(plane: ControlPlane, *, reason: str, latencies_ms: list[float] | None = None) -> StateRecord:
    """Record what the copies say after something outside a wake or sleep moved them (the post-deploy warm-up:
    a created component comes up serving), so /status has a `since`; a no-op while a wake or sleep owns the
    record."""

    def settled(record: StateRecord) -> Change[State | None]:
        state = settled_state(record, plane.aws.components.observe(plane.ic))
        if state is None:
            return Change(None, None)
        update: dict[str, Any] = {"state": state, "since": plane.now(), "reason": reason, "op_id": None}
        update |= {"op_kind": None, "execution_name": None, "op_started": None}
        if state == State.READY:
            update["last_error"] = None
            if latencies_ms is not None:
                update["warmup_latencies_ms"] = latencies_ms
        return Change(record.model_copy(update=update), record.state)

    before, new = plane.aws.table.update(plane.ic, settled, what="settle the state")
    if before is not None:
        logger.info("state settled", extra={"from": before.value, "to": new.state.value, "reason": reason})
    return new


def check_endpoint(plane: ControlPlane) -> list[str]:
    """Check that the endpoint lets its instances go at 0 copies, and record what is wrong so /status says it
    until a deploy finds it fixed. Never raises: a failed read is itself a warning, and a check must not fail
    the deploy it runs in."""
    endpoint = plane.settings.endpoint_name
    try:
        warnings = instance_scaling_warnings(endpoint, plane.aws.components.endpoint_instance_scaling(endpoint))
    except Exception as error:
        logger.warning("could not read the endpoint's instance scaling", exc_info=True)
        warnings = [f"could not check that {endpoint} scales its instances to 0: {error}"]
    for warning in warnings:
        logger.warning("endpoint check", extra={"warning": warning})
    if not warnings:
        logger.info("endpoint check: instances may scale to 0", extra={"endpoint": endpoint})

    def record(current: StateRecord) -> Change[None]:
        # Only the warnings change, so a wake or sleep that owns the record is not disturbed.
        return Change(None if current.warnings == warnings else current.model_copy(update={"warnings": warnings}), None)

    try:
        plane.aws.table.update(plane.ic, record, what="record the endpoint check")
    except Exception:
        logger.exception("could not record the endpoint check", extra={"warnings": warnings})
    return warnings
