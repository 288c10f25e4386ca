"""`make demo`: one whole night of the real control plane on the local stack, checked phase by phase.

preflight (`sleepwake preflight`'s checks, as the deployer, before anything is deployed) -> deploy + post-deploy
warm-up -> 00:00 PT sleep -> a product request meets no capacity -> the product calls
/wake (and the no-capacity alarm fires) -> waking -> warming -> ready -> the next request is warm -> idle
-> back to sleep -> a request through the product's client (sleepwake_client) while asleep is answered by the
serverless fallback, its wake runs, later requests go to the component -> 07:00 ET wake -> ready before the
first user -> `sleepwake report` of the night, checked against the emulator's ground truth (localaws.demo_report).
Prints a timeline in emulated time, writes build/demo/timeline.png (which marks the path that served each
request: component, fallback, or failed), build/demo/report.json and report.png, exits non-zero if any phase
misbehaves, and ends with a one-line JSON summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from localaws.cfn_template import REPO_ROOT
from localaws.clock import EmulatedClock
from localaws.local_stack import SAMPLE, LocalStack
from sleepwake.core import iso

PT, ET = ZoneInfo("America/Los_Angeles"), ZoneInfo("America/New_York")
OUT = REPO_ROOT / "build" / "demo"
# Its own deployment file: a `make local` running beside the demo keeps build/local/deployment.json (and every
# line it printed keeps working).
DEPLOYMENT = OUT / "deployment.json"
# Tuesday night, 24 Nov 2026, 23:20 PT: 40 minutes before the nightly sleep.
START = datetime(2026, 11, 24, 23, 20, tzinfo=PT).astimezone(UTC)
ACTIVE_SPEED = 20.0  # emulated seconds per wall second while things happen
# The first request after a wake against steady, in the model's CPU time (issue 14 item 3): the goal, judged on
# the median over wakes in `make bench-wake`. make demo has one such request, and one request's CPU time carries
# this host's noise (`make bench-model`'s last line: a warm copy's request after the host idled, against a copy
# whose warm-up was skipped), so the demo prints its ratio and fails the phase on what makes a copy warm instead:
# the handler's warm-up ran as the copy loaded and the wake's Warm Up step's requests reached the copy before the
# first user's.
FIRST_REQUEST_GOAL = 1.2


def first_to_steady(cpu_ms: Sequence[float]) -> float:
    """The first request's model CPU time over the median of the ones after it (inf when one is missing)."""
    if len(cpu_ms) < 2 or min(cpu_ms) <= 0:
        return float("inf")
    return cpu_ms[0] / statistics.median(cpu_ms[1:])


class PhaseFailed(Exception):
    pass


@dataclass
class Timeline:
    out: TextIO
    events: list[tuple[datetime, str, str]] = field(default_factory=list)
    samples: list[tuple[datetime, str, int]] = field(default_factory=list)
    phases: list[dict[str, Any]] = field(default_factory=list)
    served: list[tuple[datetime, str]] = field(default_factory=list)  # (when, "component" | "fallback" | "failed")

    def request(self, at: datetime, path: str, text: str) -> None:
        self.served.append((at, path))
        self.say(at, "request", text)

    def say(self, at: datetime, kind: str, text: str) -> None:
        self.events.append((at, kind, text))
        print(f"  {_t(at)}  {kind:<9} {text}", file=self.out, flush=True)

    def sample(self, at: datetime, state: str, copies: int) -> None:
        if not self.samples or self.samples[-1][1:] != (state, copies):
            self.samples.append((at, state, copies))


def _t(at: datetime) -> str:
    """The API's ISO 8601 Z, then the wall-clock times the schedules are written in."""
    return f"{iso(at, 'seconds')} ({at.astimezone(PT):%a %H:%M:%S} PT / {at.astimezone(ET):%H:%M} ET)"


def phase(tl: Timeline, name: str, check: bool, detail: str) -> None:
    tl.phases.append({"phase": name, "ok": bool(check), "detail": detail})
    mark = "ok " if check else "FAIL"
    print(f"[{mark}] {name}: {detail}", file=tl.out, flush=True)
    if not check:
        raise PhaseFailed(f"{name}: {detail}")


def skip_to(clock: EmulatedClock, moment: datetime) -> None:
    """Nobody comes until `moment`: emulated time jumps over the idle time up to it (EmulatedClock.jumping). Every
    schedule fires at its own time and its work finishes before time moves on: a keep-warm ping is never late for
    the fallback's idle eviction however busy the host is (one `advance()` over the hours fired the pings only
    after the jump, all at once, when the container had been idle for hours and gone cold)."""
    with clock.jumping():
        clock.wait_until(moment)


def preflight_phase(local: LocalStack, tl: Timeline) -> None:
    """The first phase: what `sleepwake preflight` says about deploying the demo's parameters into the fresh
    emulator (its table goes to the log); the deploy goes ahead unless a check fails."""
    from localaws.preflight_local import preflight
    from sleepwake_cli.preflight_rules import Status, exit_status

    checks = preflight(local.emu, local.parameters, local.stack_name)
    for check in checks:
        fix = f" (fix: {check.fix})" if check.fix else ""
        print(f"preflight {check.status.value:<4} {check.name}: {check.detail}{fix}")
    counts = {s.value: sum(c.status is s for c in checks) for s in Status}
    failed = [f"{c.name}: {c.detail}" for c in checks if c.status is Status.FAIL]
    detail = f"{counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail before the deploy"
    phase(tl, "preflight", exit_status(checks) < 2, detail + (f"; {'; '.join(failed)}" if failed else ""))


class Night:
    def __init__(self, local: LocalStack, timeline: Timeline) -> None:
        self.local = local
        self.tl = timeline
        self.figures: dict[str, Any] = {}
        self.began: datetime | None = None  # the night's start (after the deploy): the report's window
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        # Held by the watcher while it calls /status, and by a measurement that must not share the process with it.
        self._watching = threading.Lock()

    # Samples /status continuously (for the plot and to catch every state change).
    def _watch(self) -> None:
        clock = self.local.clock
        with clock.held():  # a driver: while it samples, the clock does not jump (EmulatedClock.look_after)
            self._watch_held()

    def _watch_held(self) -> None:
        last, seen = None, None
        clock = self.local.clock
        while not self._stop.is_set():
            if clock.jumps_when_idle:
                # While time jumps over idle hours: a sample each time the clock is about to jump after something
                # ran, which is when the state can have changed (a sample is kept only when it did). A /status call
                # every 50 ms of wall time would leave the clock never idle long enough to jump, and cost a whole
                # core; a deadline of its own every minute (as before) added a jump and a /status call per idle
                # emulated minute, half the night's jumps and 15 s of its wall time in the e2e test, for samples
                # that could not differ. The hour is a backstop only.
                seen = clock.look_after(self.local.now() + timedelta(hours=1), seen, stop=self._stop.is_set)
            elif self._stop.wait(0.05):
                return
            with self._watching, contextlib.suppress(Exception):
                s = self.local.status()
                now = self.local.now()
                self.tl.sample(now, s["state"], s["current_copies"])
                now = self.local.now()
                if s["state"] != last:
                    # The record says when the state began; the sample may come a poll later.
                    at = datetime.fromisoformat(s["since"]) if s.get("since") else now
                    self.tl.say(at, "state", f"{s['state']} ({s['current_copies']}/{s['desired_copies']} copies)")
                    last = s["state"]

    def _wake_finished(self, execution_arn: str, wall_timeout: float = 60.0) -> None:
        """Wait until the wake execution has ended (its Mark Ready step records ready before the step returns)."""
        sfn = self.local.emu.client("stepfunctions")
        deadline = time.monotonic() + wall_timeout
        while sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.1)

    def phase(self, name: str, check: bool, detail: str) -> None:
        phase(self.tl, name, check, detail)

    def skip_to(self, moment: datetime) -> None:
        """Nobody comes until `moment`: emulated time jumps over the idle time up to it, schedules and alarms
        firing meanwhile, each at its time."""
        skip_to(self.local.clock, moment)

    def idle_until_asleep(self) -> tuple[dict[str, Any], float]:
        """Nobody comes: time jumps over the idle time until the idle check puts the component to sleep. Its
        status then, and the minutes from now to its sleep."""
        last = self.local.now()
        with self.local.clock.jumping():
            asleep = self.local.wait_for_state("asleep", timeout=90 * 60, poll=10.0)
        return asleep, (datetime.fromisoformat(asleep["since"]) - last).total_seconds() / 60

    def run(self) -> None:
        local, clock = self.local, self.local.clock
        out = local.outputs
        self.began = local.now()
        self.phase(
            "deploy",
            out["PostDeployWarmup"].startswith(tuple("0123456789")),
            f"stack deployed, post-deploy warm-up: {out['PostDeployWarmup']}",
        )
        self._watcher.start()

        # 1. The nightly sleep at 00:00 PT.
        clock.advance_to(datetime(2026, 11, 24, 23, 59, 30, tzinfo=PT))
        self.tl.say(local.now(), "clock", "30 s before the nightly sleep schedule")
        asleep = local.wait_for_state("asleep", timeout=15 * 60)
        self.phase("00:00 PT sleep", asleep["current_copies"] == 0, f"asleep at {_t(local.now())}, 0 copies")

        # 2. A therapist opens the app at 00:40 PT: the first request meets no capacity.
        self.skip_to(datetime(2026, 11, 25, 0, 40, tzinfo=PT))
        first = local.invoke()
        self.tl.request(first.at, "component" if first.ok else "failed", f"{'ok' if first.ok else first.error}")
        self.phase(
            "request while asleep",
            not first.ok and first.no_capacity,
            "failed at once with the no-capacity ValidationError",
        )

        # 3. The product shows intent: POST /wake.
        wakes_before = len(local.executions("Wake"))
        code, body = local.wake(reason="therapist opened the practice screen")
        called = local.now()
        self.tl.say(called, "api", f"POST /wake -> {code} {body['state']} eta {body['eta_seconds']}s")
        self.phase(
            "/wake accepted",
            code == 202 and body["state"] in ("waking", "warming"),
            f"{code} {body['state']}, eta {body['eta_seconds']} s",
        )
        ready = local.wait_for_state("ready", timeout=20 * 60, poll=1.0)
        record_ready = datetime.fromisoformat(ready["since"])
        wakes = local.executions("Wake")[: len(local.executions("Wake")) - wakes_before]
        execution = local.emu.client("stepfunctions").describe_execution(executionArn=wakes[0]["executionArn"])
        started = datetime.fromisoformat(json.loads(execution["input"])["requested_at"])
        ttr = (record_ready - started).total_seconds()
        # The floor of the scale-up this wake made: a copy on the instance still there, or a new instance first.
        provisions = local.emu.component(local.outputs["InferenceComponentName"]).provisions
        floor = next((p.seconds for p in reversed(provisions) if p.asked >= started), provisions[-1].seconds)
        entered = local.entered(wakes[0]["executionArn"])
        warming = [entered["Warm Up"]] if "Warm Up" in entered else []
        warmup_s = (record_ready - warming[0]).total_seconds() if warming else 0.0
        self.figures |= {
            "night_time_to_ready_s": round(ttr, 1),
            "provisioning_floor_s": floor,
            "night_warmup_s": round(warmup_s, 1),
            "night_wake_executions": len(wakes),
        }
        self.phase(
            "waking -> warming -> ready",
            bool(warming) and len(wakes) == 1,
            f"ready {ttr:.0f} s after the wake began (floor {floor:.0f} s, warm-up {warmup_s:.0f} s); "
            f"{len(wakes)} wake execution for the /wake call and the alarm together",
        )

        # 4. The product's next requests are warm. Measured with the demo's /status watcher held off: the local
        # stack runs every Lambda and the model in one process, and a /status call running beside the first
        # request once made it read 1.9x steady while the copy itself was warm (its CPU time was 1.0x).
        self._wake_finished(wakes[0]["executionArn"])
        ic = local.emu.component(local.outputs["InferenceComponentName"])
        with self._watching:
            served_before = len(ic.served)
            after = local.invoke()
            steady = [local.invoke() for _ in range(10)]
        for r in (after, *steady):
            self.tl.served.append((r.at, "component" if r.ok else "failed"))
        steady_ms = statistics.median(r.latency_ms for r in steady)
        ratio = after.latency_ms / steady_ms
        cpu = [c for _, _, c in ic.served[served_before:]]
        cpu_ratio = first_to_steady(cpu) if len(cpu) == 11 else float("inf")
        self.figures |= {
            "first_request_ms": round(after.latency_ms, 1),
            "steady_ms": round(steady_ms, 1),
            "first_to_steady": round(ratio, 2),
            "first_to_steady_cpu": round(cpu_ratio, 2),
        }
        self.tl.say(after.at, "request", f"first after wake {after.latency_ms:.0f} ms; steady {steady_ms:.0f} ms")
        # What warmed the copy before the first user: the wake's Warm Up requests it served, and the handler's own
        # warm-up as it loaded (model_fn's LoadedModel says how many; the stand-in model has none to say).
        warm_ups = sum(1 for at, _, _ in ic.served[:served_before] if warming and at >= warming[0])
        loaded = getattr(getattr(ic.server, "model", None), "warmup_iterations", None)
        self.figures |= {"night_warmup_requests": warm_ups, "model_warmup_iterations": loaded}
        self.phase(
            "next request warm",
            after.ok and all(r.ok for r in steady) and warm_ups >= 1 and (loaded is None or loaded >= 1),
            f"the copy served {warm_ups} warm-up request(s) before the first user's"
            + ("" if loaded is None else f", after {loaded} warm-up iteration(s) as it loaded")
            + f"; first request's model CPU time {cpu_ratio:.2f}x steady (one sample: make bench-model measures "
            f"this host's noise; the {FIRST_REQUEST_GOAL}x goal is make bench-wake's median over wakes); wall "
            f"{after.latency_ms:.0f} ms vs steady {steady_ms:.0f} ms ({ratio:.2f}x, the shared host's load included)",
        )

        # 5. Nobody else comes: the idle check puts it back to sleep.
        asleep, idle_for = self.idle_until_asleep()
        self.figures["idle_sleep_after_min"] = round(idle_for, 1)
        params = local.stack.params if local.stack else {}
        idle_setting = "NapIdleMinutes" if local.outputs.get("FallbackEndpointName") else "IdleMinutes"
        self.phase(
            "idle -> asleep",
            asleep["current_copies"] == 0,
            f"asleep {idle_for:.0f} min after the last request ({idle_setting} "
            f"{params.get(idle_setting, '?')}, checks every 15 min)",
        )

        # 6. With the product's client, a request while asleep is answered by the serverless fallback.
        if local.outputs.get("FallbackEndpointName"):
            self._fallback_phase()

        # 7. The morning wake at 07:00 ET, ready before the first user.
        self.skip_to(datetime(2026, 11, 25, 6, 59, 30, tzinfo=ET))
        self.tl.say(local.now(), "clock", "30 s before the morning wake schedule")
        ready = local.wait_for_state("ready", timeout=20 * 60, poll=1.0)
        ready_at = datetime.fromisoformat(ready["since"])
        first_user_at = datetime(2026, 11, 25, 7, 10, tzinfo=ET)
        self.figures["morning_ready_et"] = f"{ready_at.astimezone(ET):%H:%M:%S}"
        self.phase(
            "07:00 ET wake",
            ready_at < first_user_at,
            f"ready at {ready_at.astimezone(ET):%H:%M:%S} ET, before the first user at 07:10 ET",
        )
        clock.advance_to(first_user_at)
        user = local.invoke()
        self.tl.request(
            user.at,
            "component" if user.ok else "failed",
            f"first user of the day: {'ok' if user.ok else user.error} {user.latency_ms:.0f} ms",
        )
        self.phase("first user served", user.ok, f"{user.latency_ms:.0f} ms")

    def _fallback_phase(self) -> None:
        """03:00 PT: the product's client meets no capacity, answers from the fallback, signals /wake; the wake
        runs and the requests after it go to the component."""
        local = self.local
        client = local.product_client()
        self.skip_to(datetime(2026, 11, 25, 3, 0, tzinfo=PT))
        wakes_before = len(local.executions("Wake"))
        at, started = local.now(), time.perf_counter()
        try:
            answer = client.invoke(SAMPLE.read_bytes())
        except Exception as error:  # FallbackFailed, or any other error the product would see
            self.tl.request(at, "failed", f"via sleepwake_client: {error}")
            self.phase("request while asleep: fallback", False, f"the product got an error: {error}")
            return
        ms = (time.perf_counter() - started) * 1000
        emulated_s = (local.now() - at).total_seconds()
        self.tl.request(
            at,
            answer.served_by,
            f"via sleepwake_client: served by the {answer.served_by} after {emulated_s:.0f} s emulated "
            f"({ms:.0f} ms wall, with the real model load)",
        )
        fallback = local.emu.serverless_endpoint(local.outputs["FallbackEndpointName"])
        cold = any(was_cold for when, _, was_cold in fallback.requests if when >= at)
        self.figures |= {
            "fallback_request_emulated_s": round(emulated_s, 1),
            "fallback_request_wall_ms": round(ms),
            "fallback_request_cold": cold,
        }
        self.phase(
            "request while asleep: fallback",
            answer.served_by == "fallback" and answer.wake_signalled,
            f"200 from {local.outputs['FallbackEndpointName']} after {emulated_s:.0f} s "
            f"({'a cold start' if cold else 'warm: the keep-warm pings kept it'}); the client signalled /wake",
        )
        ready = local.wait_for_state("ready", timeout=20 * 60, poll=1.0)
        wakes = len(local.executions("Wake")) - wakes_before
        later = []
        for _ in range(3):
            at = local.now()
            result = client.invoke(SAMPLE.read_bytes())
            self.tl.request(at, result.served_by, f"via sleepwake_client: served by the {result.served_by}")
            later.append(result.served_by)
        self.phase(
            "wake runs, later requests on the component",
            wakes == 1 and later == ["component"] * 3,
            f"{wakes} wake, ready at {_t(datetime.fromisoformat(ready['since']))}; the next 3 requests: {later}",
        )
        # With the fallback the idle check naps it again (here in the quiet hours; tests/e2e/test_fallback.py
        # shows naps in the evening).
        asleep, nap_after = self.idle_until_asleep()
        self.phase("idle -> nap", asleep["current_copies"] == 0, f"asleep {nap_after:.0f} min after the last request")

    def report(self, out: Path) -> None:
        """The last phase: `sleepwake report` of the night, its table printed, its JSON in `out`/report.json."""
        from localaws.demo_report import report_of_the_night

        assert self.began is not None, "the night has not run"
        with self._watching:  # the report and the ground truth at one held instant, without /status beside them
            agrees, detail, got = report_of_the_night(self.local, self.began, self.tl.served, out)
        print("\n" + got["table"] + "\n", file=self.tl.out, flush=True)
        self.figures |= {
            "report_saving_pct": got["document"]["saving_vs_always_on_pct"],
            "report_awake_hours": got["document"]["awake_hours"],
        }
        self.phase("report of the night", agrees, detail)

    def stop(self) -> None:
        self._stop.set()


def plot(timeline: Timeline, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    colours = {
        "asleep": "#9e9e9e",
        "waking": "#f4a261",
        "warming": "#e9c46a",
        "ready": "#2a9d8f",
        "sleeping": "#8d99ae",
        "failed": "#e63946",
    }
    samples = timeline.samples
    if not samples:
        return
    fig, ax = plt.subplots(figsize=(13, 4.2))
    times = [float(mdates.date2num(s[0])) for s in samples]
    end = float(mdates.date2num(samples[-1][0] + timedelta(minutes=5)))
    for (_, state, _), t0, t1 in zip(samples, times, [*times[1:], end], strict=True):
        ax.axvspan(t0, t1, color=colours.get(state, "white"), alpha=0.35, lw=0)
    ax.step(
        [*times, end],
        [s[2] for s in samples] + [samples[-1][2]],
        where="post",
        color="black",
        lw=1.5,
        label="serving copies",
    )
    for at, kind, _text in timeline.events:
        if kind in ("request", "api"):
            ax.axvline(float(mdates.date2num(at)), color="#264653", ls=":", lw=1)
    served_by = {"component": ("#2a9d8f", "o"), "fallback": ("#7b2cbf", "s"), "failed": ("#e63946", "x")}
    markers = []
    for who, (colour, marker) in served_by.items():
        xs = [float(mdates.date2num(t)) for t, p in timeline.served if p == who]
        markers.append(ax.scatter(xs, [1.4] * len(xs), color=colour, marker=marker, s=36, zorder=3))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.35) for c in colours.values()]
    ax.legend(
        [*handles, ax.lines[0], *markers],
        [*colours, "serving copies", *(f"request: {p}" for p in served_by)],
        loc="upper center",
        ncol=10,
        fontsize=8,
        bbox_to_anchor=(0.5, 1.18),
    )
    ax.set_ylim(-0.1, 1.6)
    ax.set_ylabel("copies")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=PT))
    ax.set_xlabel("emulated time, America/Los_Angeles (dotted: product requests and /wake; markers: who served)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_logged(title: str, log: str, timeline: Timeline, play: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """`play(summary)` with this process's stdout (the functions' JSON logs) going to `log`; a failed phase, a
    timeout or a stack that did not start ends it with its message. Returns the summary: ok, error, what `play`
    put in it, phases_ok, phases and wall_seconds (`make demo`, `make demo-planner`)."""
    out = sys.stdout
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"ok": False}
    wall = time.monotonic()
    print(f"{title} (emulated time; logs in {log})", file=out, flush=True)
    with open(log, "w") as handle, contextlib.redirect_stdout(handle):
        try:
            play(summary)
            summary["ok"] = True
        except (PhaseFailed, TimeoutError, RuntimeError) as error:
            print(f"demo failed: {error}", file=out, flush=True)
            summary["error"] = str(error)
    return summary | {
        "phases_ok": sum(p["ok"] for p in timeline.phases),
        "phases": len(timeline.phases),
        "wall_seconds": round(time.monotonic() - wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=0, help="emulator port (default: a free one)")
    parser.add_argument("--api-port", type=int, default=0, help="wake API port (default: a free one)")
    parser.add_argument("--log", default=str(OUT / "lambda.log"), help="where the functions' JSON logs go")
    args = parser.parse_args(argv)
    out = sys.stdout
    timeline = Timeline(out)

    def play(summary: dict[str, Any]) -> None:
        with LocalStack(
            start=START,
            speed=ACTIVE_SPEED,
            port=args.port,
            api_port=args.api_port,
            deployment_file=DEPLOYMENT,
            before_deploy=lambda local: preflight_phase(local, timeline),
        ) as local:
            print(
                f"  emulator {local.emu.endpoint_url}, wake API {local.api_url}, deployment file "
                f"{DEPLOYMENT.relative_to(REPO_ROOT)}",
                file=out,
                flush=True,
            )
            night = Night(local, timeline)
            try:
                night.run()
                night.report(OUT)
            finally:
                night.stop()
                summary |= night.figures

    summary = run_logged("sleepwake demo: one night on the local stack", args.log, timeline, play)
    png = OUT / "timeline.png"
    plot(timeline, png)
    summary["timeline_png"] = str(png.relative_to(REPO_ROOT))
    summary["report_json"] = str((OUT / "report.json").relative_to(REPO_ROOT))
    if summary.get("night_time_to_ready_s"):
        ttr, floor = summary["night_time_to_ready_s"], summary["provisioning_floor_s"]
        print(
            f"\ntime to ready {ttr:.0f} s vs provisioning floor {floor:.0f} s = {ttr / floor:.2f}x "
            f"({(ttr - summary['night_warmup_s']) / floor:.2f}x without the {summary['night_warmup_s']:.0f} s "
            f"warm-up); first request after wake {summary.get('first_to_steady_cpu', '?')}x steady in model CPU "
            f"time ({summary.get('first_to_steady', '?')}x wall)",
            flush=True,
        )
    print(f"timeline plot: {png}", flush=True)
    print(json.dumps(summary), flush=True)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
