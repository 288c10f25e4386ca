"""localaws: the AWS services sleepwake uses, emulated on loopback (moto 5.2.5 extended in-process).

    from datetime import UTC, datetime
    from localaws import EmulatedClock, Emulator
    from localaws.cfn_stack import Stack

    clock = EmulatedClock(start=datetime(2025, 3, 10, 6, 50, tzinfo=UTC), speed=600)  # 10 emulated min per s
    with Emulator(clock, port=0, provisioning_seconds=210) as emu:      # AWS_ENDPOINT_URL now points at it
        stack = Stack(emu, "template.yaml", parameters={"DeploymentMode": "create", ...}).deploy()
        stack.outputs["WakeStateMachineArn"]; stack.call_api("POST", "/wake", {"reason": "demo"})
        emu.fail_next_provisioning(ic_name, "reason"); emu.throttle("DescribeInferenceComponent", ic_name)
        emu.fire_schedule(stack.outputs["SleepScheduleName"]); emu.clock.advance(3600)
        emu.on_alarm_state_change(callback); emu.wait_for(predicate, timeout=emulated_seconds)

Each module's docstring says what it emulates and where it differs from AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localaws.clock import EmulatedClock
    from localaws.emulator import Emulator, install_extensions

__all__ = ["EmulatedClock", "Emulator", "install_extensions"]


def __getattr__(name: str) -> Any:
    # Imported on first use: moto takes seconds to import, and `make local` checks its ports before that.
    if name == "EmulatedClock":
        from localaws.clock import EmulatedClock

        return EmulatedClock
    if name in ("Emulator", "install_extensions"):
        from localaws import emulator

        return getattr(emulator, name)
    raise AttributeError(f"module 'localaws' has no attribute {name!r}")
