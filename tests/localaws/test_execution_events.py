"""Executions emit "Step Functions Execution Status Change" events as AWS documents them, and no Catch or Retry
matches States.Runtime."""

from __future__ import annotations

import json

from localaws import stepfunctions
from tests.localaws.conftest import calling, make_function, make_state_machine


def _events_for(emu, execution_arn: str) -> list[dict]:
    def found() -> list[dict]:
        return [e for e in stepfunctions.EMITTED if e["detail"]["executionArn"] == execution_arn]

    with emu.clock.jumping():  # looked at each time the work it started has run (EmulatedClock.look_after)
        emu.wait_for(lambda: len(found()) >= 2, timeout=600)
    return found()


def test_a_failed_execution_sends_running_then_failed_status_change_events_to_matching_rules(emu):
    events = emu.client("events")
    fn = make_function(emu, "probe", "fn_probe")
    arn = make_state_machine(
        emu, "fails", {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "why"}}}
    )
    events.put_rule(
        Name="ended",
        EventPattern=json.dumps(
            {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [arn]},
            }
        ),
    )
    events.put_targets(Rule="ended", Targets=[{"Id": "fn", "Arn": fn}])
    sfn = emu.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=arn, name="doomed", input='{"a": 1}')["executionArn"]
    assert emu.wait_for_execution(execution)["status"] == "FAILED"
    # Both arrive, RUNNING then FAILED, even for an execution that fails at once; EventBridge does not promise
    # their order (and the emitter threads race here), so by status.
    by_status = {e["detail"]["status"]: e for e in _events_for(emu, execution)}
    assert sorted(by_status) == ["FAILED", "RUNNING"]
    assert by_status["RUNNING"]["detail"]["stopDate"] is None and by_status["RUNNING"]["detail"]["error"] is None
    failed = by_status["FAILED"]
    assert failed["source"] == "aws.states"
    assert failed["detail-type"] == "Step Functions Execution Status Change"
    assert failed["resources"] == [execution]
    detail = failed["detail"]
    assert (detail["name"], detail["stateMachineArn"], detail["status"]) == ("doomed", arn, "FAILED")
    assert (detail["error"], detail["cause"], detail["input"], detail["output"]) == ("Boom", "why", '{"a":1}', None)
    assert isinstance(detail["startDate"], int) and detail["stopDate"] >= detail["startDate"]

    def delivered() -> list[str]:  # only this execution's: a previous test's threads may still be winding down
        return [
            i.event["detail"]["status"]
            for i in list(emu.lambdas.invocations)
            if i.function_name == "probe" and i.event.get("detail", {}).get("executionArn") == execution
        ]

    with emu.clock.jumping():
        emu.wait_for(lambda: bool(delivered()), timeout=600)
    assert delivered() == ["FAILED"]


def test_a_stopped_execution_sends_aborted(emu):
    arn = make_state_machine(
        emu, "waits", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    )
    sfn = emu.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=arn, name="stopped")["executionArn"]
    sfn.stop_execution(executionArn=execution)
    assert emu.wait_for_execution(execution)["status"] == "ABORTED"
    assert [e["detail"]["status"] for e in _events_for(emu, execution)] == ["RUNNING", "ABORTED"]


def test_catch_on_states_all_does_not_catch_a_runtime_error(emu):
    fn = make_function(emu, "probe", "fn_probe")
    definition = calling(
        fn,
        {},
        then={"Caught": {"Type": "Succeed"}},
        ResultSelector={"missing.$": "$.Payload.not_there"},
        Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
        End=True,
    )
    arn = make_state_machine(emu, "runtime", definition)
    out = emu.wait_for_execution(emu.client("stepfunctions").start_execution(stateMachineArn=arn)["executionArn"])
    assert (out["status"], out["error"]) == ("FAILED", "States.Runtime")
