"""`make bench-wake`: the wake path's figures from one run of the local stack.

1. time-to-ready against the provisioning floor in each phase (emulated seconds; goal <= 1.05 x floor plus
   the warm-up): a wake while the endpoint still has its instance (within ~10 min of the copies reaching 0)
   and a wake after the instance went, with the check invocations each wake made,
2. the first request after the wake against steady, per provisioning phase (goal <= 1.2 in the model's CPU
   time, median over the cycles, the worst cycle beside it: one request's CPU time still varies with the host's
   state, make bench-model's last line; the wall-clock ratio, which the shared host's load moves far more),
3. /wake handler latency p50/p99 under a 300-request burst while asleep (wall ms), and how many wake
   executions and scale-ups the burst caused (must be 1 and 1),
4. the same burst over 64 simultaneous keep-alive connections opened at one instant: answers, connections
   reset or refused (must be 0), p50/p99 (wall ms).
Emulated time runs at --speed; the emulator pauses it during model work, so host speed does not leak into
provisioning (see localaws/clock.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from localaws.burst import BurstResult, burst
from localaws.demo import FIRST_REQUEST_GOAL, first_to_steady
from localaws.local_stack import LocalStack, sign

PT = ZoneInfo("America/Los_Angeles")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def sleep_now(local: LocalStack) -> None:
    code = local.emu.client("stepfunctions").start_execution(
        stateMachineArn=local.outputs["SleepStateMachineArn"],
        input=json.dumps({"trigger": "manual", "force": True}),
        name=f"bench-sleep-{time.time_ns()}",
    )
    local.emu.wait_for_execution(code["executionArn"], timeout=1800)
    local.wait_for_state("asleep", timeout=600)


PHASES = ("instance there", "new instance")


def first_request(local: LocalStack, execution_arn: str, steady: int) -> tuple[float, float]:
    """(wall ratio, model CPU ratio) of the first request after a wake against the median of the next `steady`.
    Sent once the wake execution has ended, as a product would after /status says ready."""
    sfn = local.emu.client("stepfunctions")
    deadline = time.monotonic() + 60
    while sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    ic = local.emu.component(local.outputs["InferenceComponentName"])
    before = len(ic.served)
    walls = [local.invoke().latency_ms for _ in range(steady + 1)]
    cpu = [c for _, _, c in ic.served[before:]]
    assert len(cpu) == steady + 1 and min(cpu) > 0, f"expected {steady + 1} answered requests, got {len(cpu)}"
    return walls[0] / statistics.median(walls[1:]), first_to_steady(cpu)


def measure_phase(local: LocalStack, phase: str, cycles: int, steady: int) -> dict[str, float]:
    """Medians over `cycles` wakes in one phase: time-to-ready, its floor, warm-up, check invocations, and the
    first request after the wake over steady (wall and model CPU time).

    "instance there": woken right after a sleep (AWS keeps the instance ~10 min); "new instance": the clock
    is moved past the release first. The floor is what the emulator planned for that scale-up."""
    ic = local.emu.component(local.outputs["InferenceComponentName"])
    samples: list[tuple[float, ...]] = []
    for _ in range(cycles):
        sleep_now(local)
        if phase == "new instance":
            local.clock.advance(local.emu.sagemaker.switches.release_seconds + 60)
        calls_before = len(local.emu.lambdas.invocations)
        code, body = local.wake(reason=f"bench: {phase}")
        assert code == 202, (code, body)
        ready = datetime.fromisoformat(local.wait_for_state("ready", timeout=1800, poll=0.5)["since"])
        execution = local.emu.client("stepfunctions").describe_execution(executionArn=body["execution"])
        payload = json.loads(execution["input"])
        requested = datetime.fromisoformat(payload["requested_at"])
        provision = next(p for p in reversed(ic.provisions) if p.asked >= requested)
        assert provision.new_instance == (phase == "new instance"), (phase, provision)
        checks = float(
            sum(
                1 for r in local.emu.lambdas.invocations[calls_before:] if r.function_name.endswith("CheckCopyFunction")
            )
        )
        warmup = (ready - local.entered(body["execution"])["Warm Up"]).total_seconds()
        wall_ratio, cpu_ratio = first_request(local, body["execution"], steady)
        samples.append(
            (
                (ready - requested).total_seconds(),
                provision.seconds,
                warmup,
                checks,
                payload["first_poll_seconds"],
                wall_ratio,
                cpu_ratio,
            )
        )
    keys = ("ttr", "floor", "warmup", "checks", "first_poll", "first_wall_ratio", "first_cpu_ratio")
    medians = {key: float(statistics.median(sample[i] for sample in samples)) for i, key in enumerate(keys)}
    # One first request carries the host's noise (make bench-model's last line): the goal is judged on the median,
    # the worst cycle is printed beside it.
    firsts = [sample[-1] for sample in samples]
    return medians | {
        "first_cpu_ratio_max": max(firsts),
        "first_cpu_over_goal": float(sum(r > FIRST_REQUEST_GOAL for r in firsts)),
        "cycles": float(len(samples)),
    }


def print_phases(phases: dict[str, dict[str, float]], out: TextIO) -> bool:
    met = True
    for phase, f in phases.items():
        ok = (f["ttr"] - f["warmup"]) / f["floor"] <= 1.05
        met = met and ok
        print(
            f"  time to ready       {phase:15s} {f['ttr']:6.1f} s emulated; floor {f['floor']:.1f} s -> "
            f"{f['ttr'] / f['floor']:.3f}x, {(f['ttr'] - f['warmup']) / f['floor']:.3f}x without the "
            f"{f['warmup']:.1f} s warm-up (goal <= 1.05: {'MET' if ok else 'MISSED'}); first poll at "
            f"{f['first_poll']:.0f} s, {f['checks']:.0f} check invocations per wake",
            file=out,
        )
    for phase, f in phases.items():
        ok = f["first_cpu_ratio"] <= FIRST_REQUEST_GOAL
        met = met and ok
        print(
            f"  first request       {phase:15s} {f['first_cpu_ratio']:.2f}x steady in model CPU time (goal <= "
            f"{FIRST_REQUEST_GOAL}: {'MET' if ok else 'MISSED'}; median of {f['cycles']:.0f} wakes, "
            f"{f['first_cpu_over_goal']:.0f} over it, worst {f['first_cpu_ratio_max']:.2f}x); "
            f"{f['first_wall_ratio']:.2f}x in wall time "
            "(the shared host's load included)",
            file=out,
        )
    return met


def connection_burst(local: LocalStack, requests: int, connections: int) -> tuple[BurstResult, int]:
    """Section 4: `requests` POST /wake over `connections` connections while asleep; (result, wakes started)."""
    sleep_now(local)
    before = len(local.executions("Wake"))
    body = b'{"reason": "connection burst"}'
    assert local.operator_keys is not None
    headers = sign(local.operator_keys, "POST", f"{local.api_url}/wake", body, {}, local.emu.region)
    headers["Content-Type"] = "application/json"
    result = burst(local.api_url, body=body, requests=requests, connections=connections, headers=headers)
    local.wait_for_state("ready", timeout=1800)
    return result, len(local.executions("Wake")) - before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make bench-wake", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speed", type=float, default=10.0, help="emulated seconds per wall second (default 10)")
    parser.add_argument("--burst", type=int, default=300, help="concurrent /wake calls (default 300)")
    parser.add_argument("--threads", type=int, default=32, help="client threads for the burst (default 32)")
    parser.add_argument(
        "--connections", type=int, default=64, help="simultaneous connections for the connection burst (default 64)"
    )
    parser.add_argument("--steady", type=int, default=20, help="requests for the steady latency (default 20)")
    # 9: one first request's CPU time carries the host's noise (make bench-model's last line); a median of 3 is
    # over the goal from noise alone in up to a quarter of runs where one sample in three is, a median of 9 rarely.
    parser.add_argument("--cycles", type=int, default=9, help="sleep/wake cycles measured (default 9; medians)")
    args = parser.parse_args(argv)
    out = sys.stdout
    log = Path("build/bench/lambda.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 11, 25, 0, 30, tzinfo=PT).astimezone(UTC)
    with (
        open(log, "w") as sink,
        contextlib.redirect_stdout(sink),
        LocalStack(start=start, speed=args.speed, port=0, api_port=0, deployment_file=None) as local,
    ):
        phases = {phase: measure_phase(local, phase, args.cycles, args.steady) for phase in PHASES}
        sleep_now(local)

        # 3: a burst of /wake calls while asleep.
        before = len(local.executions("Wake"))
        calls_before = len(local.emu.lambdas.invocations)

        def one(_: int) -> tuple[int, float]:
            t0 = time.perf_counter()
            status, _body = local.wake(reason="burst")
            return status, (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            results = list(pool.map(one, range(args.burst)))
        burst_wall = time.perf_counter() - t0
        latencies = [ms for _, ms in results]
        codes = {c: sum(1 for s, _ in results if s == c) for c in sorted({s for s, _ in results})}
        started = len(local.executions("Wake")) - before
        handler_ms = [
            r.handler_seconds * 1000
            for r in local.emu.lambdas.invocations[calls_before:]
            if r.function_name.endswith("WakeApiFunction")
        ]
        local.wait_for_state("ready", timeout=1800)

        # 4: the same burst over simultaneous keep-alive connections (the server's accept queue included).
        held, held_started = connection_burst(local, args.burst, args.connections)

    print("sleepwake bench-wake (local stack, one run)", file=out)
    phases_met = print_phases(phases, out)
    print(
        f"  /wake burst         {args.burst} calls on {args.threads} threads in {burst_wall:.1f} s: "
        f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms",
        file=out,
    )
    print(
        f"    inside the handler: p50 {percentile(handler_ms, 50):.1f} ms, p99 {percentile(handler_ms, 99):.1f} ms "
        f"({len(handler_ms)} invocations, each in an execution environment of its own as on AWS; the client "
        f"figures above add the local stack's HTTP servers and this host's {os.cpu_count()} CPUs)",
        file=out,
    )
    print(f"    answers {codes}; wake executions started: {started} (must be 1)", file=out)
    print(f"  /wake connections   {held.line()}", file=out)
    print(
        f"    {held.answers}/{held.requests} answered, {held.resets} reset or refused (must be 0); "
        f"wake executions started: {held_started} (must be 1)",
        file=out,
    )
    summary = {
        "phases": {
            phase: {k: round(v, 3) for k, v in f.items()} | {"ttr_over_floor": round(f["ttr"] / f["floor"], 3)}
            for phase, f in phases.items()
        },
        "phases_met": phases_met,
        "wake_p50_ms": round(percentile(latencies, 50), 1),
        "wake_p99_ms": round(percentile(latencies, 99), 1),
        "burst_executions": started,
        "burst_codes": codes,
        "connections": held.connections,
        "connection_burst_answers": held.answers,
        "connection_burst_resets": held.resets,
        "connection_burst_p50_ms": round(held.percentile(50), 1),
        "connection_burst_p99_ms": round(held.percentile(99), 1),
    }
    print(json.dumps(summary), file=out)
    held_ok = held.resets == 0 and set(held.codes) <= {200, 202} and held_started == 1
    return 0 if started == 1 and set(codes) <= {200, 202} and held_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
