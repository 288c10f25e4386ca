"""Issue 14's goals, measured: choose the planner's settings on the built-in week, check them elsewhere.

1. Sweep the planner's and the hybrid peer's knobs on the built-in week (seed 7), as `sleepwake simulate
   --frontier` does, and take the planner setting with the best saving among those with 0 failed requests,
   0 answers over 3 s and at most 5 % of requests on the fallback (or, when none qualifies, the one with the
   fewest requests on the fallback among those with 0 failed and 0 slow answers); the idle check every 1, 5 or
   15 minutes, each priced as the Lambda-first check the template deploys (simulate/base.py ControlPlanePrices).
2. Replay that setting, unchanged, on seeds 8, 9 and 10 (each with its own three earlier weeks) and on the
   held-out trace (`scripts/make_trace.py --profile held-out`: warmed on its first three weeks, scored on the
   last two), and print each goal's figure: saving (keep-warm and idle checks counted), failed, answers over
   3 s, share on the fallback, keep-warm cost; and, per trace, the reactive bound (sleepwake_cli.simulate.bounds):
   the best saving any policy could reach with at most 3/5/8/10 % on the fallback knowing every gap's length but
   not when the user who ends it comes, and the same with each nap as late as the chosen setting's (its idle
   minutes and half an idle check after the last request). Where it is below 70 % at 5 %, no schedule meets the
   goals there. And the share of requests no history foresees (`unforeseen_share`).
3. With --frontier-held-out, also sweep the held-out trace and print which policy's frontier is above where.
4. With --in-sample, also sweep the planner's settings (the idle check every minute) on seeds 8, 9 and 10 and print
   the best each week allows when chosen on that week itself: where even that misses a goal, no choice made on
   another week meets it there.
With --chosen KNOBS, step 1 replays that planner setting instead of sweeping (an earlier run's choice, or another
setting of its sweep, e.g. the best with a margin under the bar, from --out's frontier.json).
5. With --what-it-takes, instead of 2-4: what the product's /wake intents would have to do for the goals on the
   held-out trace and seeds 9 and 10, the same arrivals each time. Every intent moved to --leads minutes before
   its request (`Trace.with_intent_lead`, as the simulator's intent-lead variants), then, at --share-lead
   minutes, --shares of the sessions announced (`SyntheticWeek.announced_share`, the same sessions first). Each
   row: the chosen setting replayed, the best the planner's settings (the 1-minute check) reach on that trace
   itself with the goals, the share on the fallback 70 % costs there, and the reactive bound at 5 %.

    .venv/bin/python scripts/simulate_goals.py                       # 8-14 minutes at load 9-13 on 2 cores
    .venv/bin/python scripts/simulate_goals.py --frontier-held-out   # ~15 minutes more
    .venv/bin/python scripts/simulate_goals.py --in-sample           # ~10 minutes more
    .venv/bin/python scripts/simulate_goals.py --what-it-takes       # ~30 min of CPU (90 at load 5)
    .venv/bin/python scripts/simulate_goals.py --out build/goals     # also each sweep's frontier.json
    .venv/bin/python scripts/simulate_goals.py --chosen "$KNOBS"     # one setting ('Chosen on' line) replayed, no sweep
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.make_trace import announced, relead, write_csv
from sleepwake_cli.simulate import frontier
from sleepwake_cli.simulate.base import SimulationSettings, SleepwakeSettings
from sleepwake_cli.simulate.bounds import reactive_bound, unforeseen_share
from sleepwake_cli.simulate.cli import HISTORY_WEEKS
from sleepwake_cli.simulate.engine import PolicyResult
from sleepwake_cli.simulate.policies import simulate
from sleepwake_cli.simulate.trace import SyntheticWeek, Trace, load_csv

BOUND_SHARES = (3.0, 5.0, 8.0, 10.0)
# --in-sample sweeps the planner's settings with this idle check only (the template's Lambda-first check is cheapest
# per nap at every minute, and the sweep is a third as long).
IN_SAMPLE_CHECK_MINUTES = 1


# --what-it-takes: intent leads (minutes; None: as the trace was made) and announced shares (None: the trace's own).
LEADS = (1.0, 2.0, 3.0, 5.0, 10.0)
SHARES = (0.2, 0.4, 0.6, 0.8, 1.0)
SHARE_LEAD = 5.0


def built_in(seed: int, share: float | None = None, lead: float | None = None) -> tuple[Trace, SimulationSettings]:
    """Seed's week (`share` of its sessions announced, every intent `lead` minutes ahead: None, as generated) and
    its planner history."""
    week = SyntheticWeek(seed=seed, announced_share=share)
    settings = SimulationSettings(
        history=week.earlier_weeks(HISTORY_WEEKS), seed=seed, sleepwake=SleepwakeSettings.from_template()
    )
    return relead(week.build(), lead), settings


def held_out(share: float | None = None, lead: float | None = None) -> tuple[Trace, SimulationSettings]:
    """The held-out trace's scored fortnight and its three warm-up weeks as history (`share`, `lead`: built_in)."""
    trace = relead(announced("held-out", 11, share).build(), lead)
    with tempfile.TemporaryDirectory() as folder:  # through the CSV, as `sleepwake simulate --trace` reads it
        path = Path(folder) / "held-out.csv"
        write_csv(trace, path)
        history, scored = load_csv(path).split(HISTORY_WEEKS * 7)
    return scored, SimulationSettings(history=history, seed=7, sleepwake=SleepwakeSettings.from_template())


def row(name: str, label: str, r: PolicyResult) -> str:
    share = 100 * r.served_by_fallback / max(r.requests, 1)
    return (
        f"{name:<9} {label:<33} {r.saving_pct:5.1f} %  failed {r.failed:<3} over 3 s {r.slow_answers:<3} "
        f"fallback {share:4.1f} %  keep-warm ${r.keep_warm_cost:.2f}  "
        + ("all goals met" if meets_goals(r) else "goal missed")
    )


def runs(name: str, r: PolicyResult) -> str:
    """How many users met the component not serving (runs of fallback answers), and how many the 5 % bar allows
    at the same answers per run: only fewer runs lower the share much (a run is the wake's 2-4 minutes)."""
    fallback = r.details["fallback"]
    assert isinstance(fallback, dict)
    count = fallback["runs"]
    each = r.served_by_fallback / max(count, 1)
    allowed = frontier.GOAL_FALLBACK_PCT / 100 * r.requests / max(each, 1)
    label = "  users who met it not serving"
    return f"{name:<9} {label:<33} {count} runs, {each:.1f} answers each; <= 5 % allows {allowed:.0f}"


def own_best(own: list[frontier.Point]) -> str:
    """The best of a trace's own sweep with the goals, and what 70 % costs there."""
    best = frontier.best_meeting_goals(own)
    at_70 = [p.fallback_pct for p in frontier.nobody_waits(own) if p.saving_pct >= 70]
    verdict = "all goals met" if best and best.saving_pct >= 70 else "goal missed"  # 69.96 % prints as 70.0
    found = f"{best.saving_pct:.2f} % at {best.fallback_pct:.1f} %, {verdict} ({best.knobs})" if best else ""
    return (found or "none at <= 5 %") + (
        f"; >= 70 % needs {min(at_70):.1f} % on the fallback" if at_70 else "; no setting reaches 70 %"
    )


def in_sample(name: str, own: list[frontier.Point]) -> str:
    """The best a week allows when its setting is chosen on the week itself, and what 70 % costs there."""
    return f"{name:<9} {'best chosen on this week itself':<33} " + own_best(own)


def meets_goals(r: PolicyResult) -> bool:
    share = 100 * r.served_by_fallback / max(r.requests, 1)
    return r.saving_pct >= 70 and r.failed == 0 and r.slow_answers == 0 and share <= frontier.GOAL_FALLBACK_PCT


def choose(points: list[frontier.Point]) -> frontier.Point:
    """The best saving with 0 failed, 0 slow answers and at most 5 % on the fallback; when none qualifies, the
    fewest requests on the fallback among those with 0 failed and 0 slow answers."""
    best = frontier.best_meeting_goals(points)
    return best or min(frontier.nobody_waits(points), key=lambda p: p.fallback_pct)


Cases = dict[str, SimulationSettings]


def apply(cases: Cases, base: SimulationSettings, knobs: str) -> SimulationSettings:
    """`base` (a trace's history and seed) with the planner setting `knobs` of the seed-7 sweep."""
    case = cases[knobs]
    return replace(base, planner=case.planner, sleepwake=case.sleepwake, control_plane=case.control_plane)


def own_sweep(tr: Trace, base: SimulationSettings, cases: Cases) -> list[frontier.Point]:
    """The planner's settings with the 1-minute idle check, replayed on the trace itself."""
    return [
        frontier.Point.of(knobs, simulate(tr, apply(cases, base, knobs), keys=(frontier.PLANNER,))[0])
        for knobs, case in cases.items()
        if case.sleepwake.idle_check_minutes == IN_SAMPLE_CHECK_MINUTES
    ]


def what_it_takes(
    name: str,
    make: Callable[[float | None, float | None], tuple[Trace, SimulationSettings]],
    cases: Cases,
    chosen: str,
    nap_delay: float,
    args: argparse.Namespace,
) -> None:
    """One trace's rows of --what-it-takes: as made, each of args.leads at the trace's own share, then each of
    args.shares at args.share_lead. `make(share, lead)` builds the trace; `chosen` is the seed-7 setting."""
    variants = [(None, None), *((None, x) for x in args.leads), *((s, args.share_lead) for s in args.shares)]
    for share, lead in variants:
        tr, base = make(share, lead)
        r = simulate(tr, apply(cases, base, chosen), keys=(frontier.PLANNER,))[0]
        fallback = 100 * r.served_by_fallback / max(r.requests, 1)
        intents = sum(q.wake_lead_seconds is not None for q in tr.requests)
        tz = base.sleepwake.wake_tz
        bound = dict(reactive_bound(tr, base, (frontier.GOAL_FALLBACK_PCT,), tz))[frontier.GOAL_FALLBACK_PCT]
        late = dict(reactive_bound(tr, base, (frontier.GOAL_FALLBACK_PCT,), tz, nap_delay))[frontier.GOAL_FALLBACK_PCT]
        print(
            f"{name:<9} lead {'as made' if lead is None else f'{lead:g} min':<8} "
            f"announced {'as made' if share is None else f'{share:g}':<7} ({intents} intents)  "
            f"chosen: {r.saving_pct:.1f} %, {fallback:.1f} % on the fallback, failed {r.failed}, "
            f"over 3 s {r.slow_answers}, {'all goals met' if meets_goals(r) else 'goal missed'}"
        )
        print(f"{'':<9} {'':<13} best on this trace: {own_best(own_sweep(tr, base, cases))}")
        print(f"{'':<9} {'':<13} reactive bound at 5 %: {bound:.1f} % (napping as chosen {late:.1f} %)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frontier-held-out", action="store_true", help="also sweep the held-out trace")
    parser.add_argument(
        "--in-sample",
        action="store_true",
        help="also sweep the planner (idle check every minute) on seeds 8-10 themselves: the best each week allows",
    )
    parser.add_argument(
        "--what-it-takes",
        action="store_true",
        help="instead of the checks: the goals with every intent --leads minutes ahead, and --shares announced",
    )
    parser.add_argument("--leads", type=_numbers, default=LEADS, help="minutes, comma-separated")
    parser.add_argument("--shares", type=_numbers, default=SHARES, help="shares of sessions, comma-separated")
    parser.add_argument("--share-lead", type=float, default=SHARE_LEAD, help="minutes: the lead of the --shares rows")
    parser.add_argument(
        "--chosen",
        metavar="KNOBS",
        help="a planner setting (an earlier run's 'Chosen on' line, or any of frontier.json's planner knobs) replayed "
        "instead of sweeping the built-in week to choose one",
    )
    parser.add_argument(
        "--traces", type=lambda t: t.split(","), default=["held-out", "9", "10"], help="held-out and/or seeds"
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write each full sweep's frontier.json (every setting's figures) to DIR/seed-7 and DIR/held-out",
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows as it runs

    trace, settings = built_in(7)
    cases = dict(frontier.planner_settings(settings))
    if args.chosen and args.chosen not in cases:
        parser.error(f"--chosen {args.chosen!r}: not one of the planner's settings (give a 'Chosen on' line)")
    if args.chosen:  # replayed once: what the sweep chose in an earlier run, or another setting of its sweep
        replayed = simulate(trace, cases[args.chosen], keys=(frontier.PLANNER,))[0]
        points = {frontier.PLANNER: [frontier.Point.of(args.chosen, replayed)]}
    elif args.what_it_takes:  # the planner alone chooses
        points = {
            frontier.PLANNER: [
                frontier.Point.of(k, simulate(trace, c, keys=(frontier.PLANNER,))[0]) for k, c in cases.items()
            ]
        }
    else:
        points = frontier.sweep(trace, settings)
        print("Built-in week (seed 7), every setting swept:")
        report(trace, settings, points, args.out and args.out / "seed-7")
    chosen = choose(points[frontier.PLANNER])
    print(f"\nChosen on the built-in week: {chosen.knobs} ({chosen.saving_pct:.1f} % at {chosen.fallback_pct:.1f} %)")

    # The chosen setting's nap comes its idle minutes after the last request, then at the next idle check (half a
    # period later on average): the bound with that delay is what a policy napping so could reach at best.
    sw = cases[chosen.knobs].sleepwake
    nap_delay = 60 * (sw.unplanned_idle_minutes + sw.idle_check_minutes / 2)

    if args.what_it_takes:
        print("\nWhat the intents would have to do (the same arrivals; planner + fallback, keep-warm ping):")
        for name in args.traces:
            make = held_out if name == "held-out" else partial(built_in, int(name))
            label = name if name == "held-out" else f"seed {name}"
            what_it_takes(label, make, cases, chosen.knobs, nap_delay, args)
        return 0

    print("\nThe chosen setting, and the defaults, on every trace (planner + fallback, keep-warm ping):")
    for name, (tr, base) in [
        ("seed 7", (trace, settings)),
        *((f"seed {s}", built_in(s)) for s in (8, 9, 10)),
        ("held-out", held_out()),
    ]:
        default = simulate(tr, base, keys=("sleepwake_planner", "hybrid_histogram"))
        chosen_result = simulate(tr, apply(cases, base, chosen.knobs), keys=("sleepwake_planner",))[0]
        print(row(name, "planner, chosen setting", chosen_result))
        print(runs(name, chosen_result))
        for r in default:
            print(row(name, "planner, defaults" if r.key == frontier.PLANNER else "hybrid peer, paper's", r))
        unforeseen = unforeseen_share(tr, base, base.sleepwake.wake_tz)
        print(
            f"{name:<9} {'unforeseen requests':<33} {unforeseen:.1f} % (after a nap's worth of idle, unannounced, where"
        )
        print(f"{'':<9} {'':<33} fewer than half the comparable days saw traffic)")
        for label, delay in (("reactive bound", 0.0), ("  napping as chosen", nap_delay)):
            bound = reactive_bound(tr, base, BOUND_SHARES, base.sleepwake.wake_tz, delay)
            print(f"{name:<9} {label:<33} " + ", ".join(f"{s:g} % on the fallback: {b:.1f} %" for s, b in bound))
        if name.startswith("seed") and name != "seed 7" and args.in_sample:
            print(in_sample(name, own_sweep(tr, base, cases)))
        if name == "held-out" and args.frontier_held_out:
            print("\nHeld-out, every setting swept:")
            report(tr, base, frontier.sweep(tr, base), args.out and args.out / "held-out")
    return 0


def report(
    trace: Trace, settings: SimulationSettings, points: dict[str, list[frontier.Point]], out: Path | None
) -> None:
    """A full sweep's frontier table and note; with `out`, its frontier.json as `sleepwake simulate --frontier`
    writes it (every setting's saving, share on the fallback, failed and slow answers)."""
    limit = frontier.bound(trace, settings)
    text = frontier.note(points, limit)
    print(frontier.table(points))
    print(text)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        print(f"wrote {frontier.write(out, frontier.to_json(trace, settings, points, text, limit))}")


def _numbers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not comma-separated numbers") from None


if __name__ == "__main__":
    raise SystemExit(main())
