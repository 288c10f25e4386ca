"""What no schedule can beat when users come unannounced: the best saving with at most x % of requests on the fallback.

The oracle (peers.Oracle) knows every request and pre-wakes for each, so it never uses the fallback. A real
policy learns hours, not requests: it can sleep through a gap, and the user who ends the gap meets the sleeping
component and is answered by the fallback until the wake it signals is done. This bound gives a policy that
pre-wakes once a day and otherwise wakes on demand more than any such policy has:
- it knows, at the start of every gap between requests, how long the gap will be (not who ends it, so the
  gap's end is no pre-wake unless it is the day's first user);
- it pre-wakes each local day's first user exactly in time (as the oracle does), at no fallback cost;
- any other gap it sleeps through ends with the requests that come before the wake is done (the mean scale-up
  after the first request, less the lead of that request's /wake intent) answered by the fallback.
Sleeping through a gap saves it less the instance release (billed `instance_release_seconds` after the copies go)
and, pre-woken, less the scale-up and warm-up too. With a budget of fallback answers it takes the free gaps and
then the gaps that save most per fallback answer, the last one in part (a fractional knapsack, so an upper bound:
no policy of that kind does better). Instance cost only: the fallback's and the control plane's costs would lower
it. It does not bound a policy that pre-wakes later windows too (the planner pre-wakes each planned window, and
a mid-day window foreseen by history costs it no fallback answers): against the planner it is a yardstick of
how much the unannounced gaps cost, not a proof that a goal is out of reach.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sleepwake.core.planner import SLOT_MINUTES, day_rows, profile_for, within
from sleepwake_cli.simulate.base import SimulationSettings
from sleepwake_cli.simulate.engine import slot_counts
from sleepwake_cli.simulate.trace import Trace


def _gaps(trace: Trace, settings: SimulationSettings, tz: str, nap_delay: float) -> list[tuple[float, int]]:
    """(seconds of instance a sleep through the gap saves, fallback answers it costs) for every gap."""
    prov = settings.prov
    release, scale_up = prov.instance_release_seconds + nap_delay, prov.scale_up.mean
    pre_wake = scale_up + sum(prov.load_latencies_ms) / 1000
    zone = ZoneInfo(tz)
    requests = trace.requests
    gaps: list[tuple[float, int]] = []
    before = trace.start
    for k, request in enumerate(requests):
        # The trace starts asleep (no release to wait for), as the oracle's does when its first request is far.
        gap = (request.at - before).total_seconds() + (release if k == 0 else 0.0)
        first_of_day = k == 0 or request.at.astimezone(zone).date() != requests[k - 1].at.astimezone(zone).date()
        if first_of_day and gap > release + pre_wake:
            gaps.append((gap - release - pre_wake, 0))
        elif gap > release:
            ready = request.at + timedelta(seconds=max(0.0, scale_up - (request.wake_lead_seconds or 0.0)))
            met = 0
            while k + met < len(requests) and requests[k + met].at < ready:
                met += 1
            gaps.append((gap - release, met))
        before = request.at
    gaps.append((max(0.0, (trace.end - before).total_seconds() - release), 0))
    return gaps


def reactive_bound(
    trace: Trace, settings: SimulationSettings, shares_pct: Iterable[float], tz: str, nap_delay_seconds: float = 0.0
) -> list[tuple[float, float]]:
    """(x, the best saving in % of always-on with at most x % of requests on the fallback) for each x; days are
    cut in `tz` (the wake zone) to find each day's first user. `nap_delay_seconds`: each sleep comes that long
    after the gap's start (0: at once; the control plane's idle check sees some idle minutes first)."""
    gaps = _gaps(trace, settings, tz, nap_delay_seconds)
    total = (trace.end - trace.start).total_seconds()
    free = sum(saved for saved, met in gaps if met == 0)
    paid = sorted(((s, m) for s, m in gaps if m > 0), key=lambda g: g[0] / g[1], reverse=True)
    out = []
    for share in shares_pct:
        budget = share / 100 * len(trace.requests)
        saved, used = free, 0.0
        for seconds, met in paid:
            if used + met > budget:
                saved += seconds * (budget - used) / met
                break
            saved, used = saved + seconds, used + met
        out.append((share, 100 * saved / total if total else 0.0))
    return out


def unforeseen_share(trace: Trace, settings: SimulationSettings, tz: str, *, foreseen: float = 0.5) -> float:
    """% of requests no learned schedule foresees: requests that come before a wake started at their session's
    first request would be done (the mean scale-up less that request's /wake lead), where that first request
    follows at least a release plus a wake of idle time (a nap there pays) and falls where fewer than `foreseen`
    of the comparable past days (the planner's profile, `within` its lookahead) saw traffic. A schedule meets
    each of them on the fallback unless it stays awake where most days are empty."""
    planner, prov = settings.planner, settings.prov
    pays = prov.instance_release_seconds + prov.scale_up.mean
    zone = ZoneInfo(tz)
    past = sorted(settings.history)
    chance: dict[date, list[float]] = {}
    unforeseen = 0
    requests = trace.requests
    before = trace.start - timedelta(seconds=pays)
    k = 0
    while k < len(requests):
        request = requests[k]
        start = k
        k += 1
        if (request.at - before).total_seconds() < pays:
            before = request.at
            continue
        local = request.at.astimezone(zone)
        day = local.date()
        if day not in chance:
            moments = past + [r.at for r in requests if r.at.astimezone(zone).date() < day]
            rows = day_rows(slot_counts(moments), tz, day, planner)
            chance[day] = within(profile_for(day, rows, planner), planner.lookahead_minutes)
        if chance[day][(local.hour * 60 + local.minute) // SLOT_MINUTES] < foreseen:
            ready = request.at + timedelta(seconds=max(0.0, prov.scale_up.mean - (request.wake_lead_seconds or 0.0)))
            if ready > request.at:  # an intent a wake ahead leaves nobody to the fallback
                while k < len(requests) and requests[k].at < ready:
                    k += 1
                unforeseen += k - start
        before = requests[k - 1].at
    return 100 * unforeseen / len(requests) if requests else 0.0
