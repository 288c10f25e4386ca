"""The last phase of `make demo`: `sleepwake report` over the demo's night, checked against what the emulator and
the demo itself saw (issue 16 item 4).

The report is computed by the command's own code (sleepwake_cli.report.collect, as `sleepwake report --since
<the night>` with its default prices) with the operator's credentials from the demo's deployment file, while the
emulated clock is held so that the report and the ground truth see the same instant. The checks are the figures
that have one right answer:

- failed requests: the demo's product requests that got an error (the first request of the night calls the
  component without the product client, so nothing answers its no-capacity error from the fallback);
- requests served by the fallback: the demo's requests the product client got from the fallback (the control
  plane's own warm-ups of the fallback are not requests; the report leaves them out the same way);
- requests served by the component: every answer the emulated copies gave (the emulator's log of them; warm-up
  requests included, as AWS's Invocations include them);
- misses (requests that found the component asleep): the demo's failed requests and those the fallback answered;
- wakes that reached ready, and the wakes whose waits the control plane wrote: the times the component's
  desired copy count rose from 0 (its history);
- hours awake: from that rise until the copies were all gone, within a poll of the state machines' timing.

The line it prints sets the report's waits for a wake beside the provisioning each wake expected (the control
plane's estimate, which a faster SageMaker beats: it is no floor, though it was printed as one, "waits p50 217.1 s
(floor 240.0 s)") and the provisioning the emulator's SageMaker took (the floors). Not a check: a wake that finds
its copies still there (a wake during a sleep) waits less than any floor.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from localaws.local_stack import LocalStack
from sleepwake.core import defaults

# The report reads a wake's start and a sleep's end from Step Functions; the copy count changes a Lambda step
# after the one and a copy poll before the other (PollIntervalSeconds, 30 s by default), so each awake period
# may differ by up to two polls from the emulator's history.
PERIOD_TOLERANCE_SECONDS = 90.0


def awake_hours(history: list[tuple[datetime, str, int, int]], start: datetime, end: datetime) -> float:
    """The emulator's ground truth of the hours awake in [start, end], from a component's copy-count history
    (time, status, desired, current): from copies asked for (desired rises from 0) until they are all gone
    (desired and current 0)."""
    awake_since: datetime | None = None
    seconds = 0.0
    for at, _, desired, current in history:
        if awake_since is None and desired >= 1:
            awake_since = at
        elif awake_since is not None and desired == 0 and current == 0:
            seconds += max(0.0, (min(at, end) - max(awake_since, start)).total_seconds())
            awake_since = None
    if awake_since is not None:
        seconds += max(0.0, (end - max(awake_since, start)).total_seconds())
    return seconds / 3600


def wakes_from_zero(history: list[tuple[datetime, str, int, int]], start: datetime, end: datetime) -> int:
    """How many times in [start, end] the desired copy count rose from 0 (a wake that asked for copies)."""
    rises, desired_before = 0, None
    for at, _, desired, _ in history:
        if desired_before == 0 and desired >= 1 and start <= at <= end:
            rises += 1
        desired_before = desired
    return rises


def report_of_the_night(
    local: LocalStack, began: datetime, served: list[tuple[datetime, str]], out: Path
) -> tuple[bool, str, dict[str, Any]]:
    """(agrees, what disagreed or the figures, the report's document and table) for the night [began, now]; the
    document goes to `out`/report.json and its chart to `out`/report.png. `served` is the demo's own record of
    its product requests: (when, "component" | "fallback" | "failed")."""
    from sleepwake_cli.command import operator_for
    from sleepwake_cli.report import collect, pricing, table
    from sleepwake_cli.report_chart import chart

    assert local.deployment_file, "the report reads the stack as the operator does, from its deployment file"
    op = operator_for(local.deployment_file)
    with local.emu.clock.paused():
        end = local.now()
        report = collect(op, began, end, pricing(), defaults.SLOW_SECONDS)
        began = datetime.fromisoformat(report.start)  # moved up to the whole minute (collect's docstring)
        ic = local.emu.component(local.outputs["InferenceComponentName"])
        history = list(ic.history)
        floors = [p.seconds for p in ic.provisions if began <= p.asked <= end]
        answered = sum(1 for at, _, _ in ic.served if began <= at <= end)
    document = report.as_dict()
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(document, indent=2) + "\n")
    chart(document, out / "report.png")  # what `sleepwake report --png` draws

    ours = [path for at, path in served if began <= at <= end]
    requests = report.requests
    truth = {
        "failed": (requests["failed"], ours.count("failed")),
        "served_by_fallback": (requests["served_by_fallback"], ours.count("fallback")),
        "served_by_component": (requests["served_by_component"], ours.count("component")),
        # The rest the component answered were the control plane's warm-ups (Sleepwake/ComponentWarmupRequests).
        "component_warmups": (requests["component_warmups"], answered - ours.count("component")),
        "wakes_ready": (sum(w["ready"] for w in report.wakes.values()), wakes_from_zero(history, began, end)),
        # Each wake that reached ready wrote its waits (the control plane's embedded metrics).
        "wakes_measured": (report.waits.get("wakes_measured", 0), wakes_from_zero(history, began, end)),
        # Each request that found it asleep met no capacity: the ones that failed and those the fallback answered.
        "misses": (report.traffic["misses"], ours.count("failed") + ours.count("fallback")),
    }
    wrong = [f"{name} {got} (truth {want})" for name, (got, want) in truth.items() if got != want]
    true_awake = awake_hours(history, began, end)
    allowed = PERIOD_TOLERANCE_SECONDS * max(1, len(report.awake_periods)) / 3600
    if abs(report.awake_hours - true_awake) > allowed:
        wrong.append(f"awake {report.awake_hours:.3f} h (truth {true_awake:.3f} h)")
    waited = report.waits.get("time_to_ready_p50_s")
    took = f"; SageMaker took {min(floors):g}-{max(floors):g} s" if floors else ""
    said = (
        f"{report.awake_hours:.2f} h awake of {report.hours:.2f} (truth {true_awake:.2f}), saving "
        f"{report.saving_vs_always_on_pct:g} %; requests: component {requests['served_by_component']}, fallback "
        f"{requests['served_by_fallback']}, failed {requests['failed']}; "
        f"{truth['wakes_ready'][0]} wakes ready, waits p50 {waited} s "
        f"(expected {report.waits.get('expected_p50_s')} s{took}); every figure as the emulator saw it"
    )
    return (
        not wrong,
        ("disagrees with the ground truth: " + "; ".join(wrong)) if wrong else said,
        {
            "document": document,
            "table": table(report, pricing().instance_per_hour, defaults.SLOW_SECONDS),
        },
    )
