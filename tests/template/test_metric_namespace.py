"""The control plane's metric namespace is written once (sleepwake.core.defaults.METRICS_NAMESPACE): the template's
Powertools namespace, its IAM conditions and its dashboard, the report's reads, and the product client's answer
metric (a separate package, which cannot import the layer) all name the same one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sleepwake.core import defaults, report_waits, warmups
from sleepwake.observability import NAMESPACE, SERVICE
from sleepwake_cli.deployment import load_template
from sleepwake_client import answer_metric
from tests.conftest import ROOT

TEMPLATE = load_template(ROOT / "template.yaml")


def _values(node: Any, key: str) -> Iterator[Any]:
    """Every value under `key` anywhere in the template."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _values(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _values(item, key)


def test_the_code_and_the_product_client_write_and_read_one_namespace() -> None:
    assert answer_metric.NAMESPACE == NAMESPACE == defaults.METRICS_NAMESPACE
    assert answer_metric.METRIC == report_waits.ANSWER_METRIC


def test_the_templates_namespace_is_the_codes() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == defaults.METRICS_NAMESPACE
    assert variables["POWERTOOLS_SERVICE_NAME"] == SERVICE  # the component's embedded metrics' dimension
    pinned = {n for n in _values(TEMPLATE["Resources"], "cloudwatch:namespace") if isinstance(n, str)}
    assert pinned == {defaults.METRICS_NAMESPACE}  # the fallback's warm-up counts: PutMetricData there only


def test_the_dashboards_own_metrics_are_in_that_namespace() -> None:
    (dashboard,) = [r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    sub = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    body = json.loads(sub if isinstance(sub, str) else sub[0])
    namespaces = {m[0] for w in body["widgets"] for m in w["properties"].get("metrics", [])}
    assert {n for n in namespaces if not n.startswith("AWS/")} == {defaults.METRICS_NAMESPACE}


def test_the_dashboard_charts_the_warmup_counts_as_the_control_plane_writes_them() -> None:
    """Each path's warm-up requests and errors (sleepwake.core.warmups) under their names and dimensions."""
    (dashboard,) = [r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    sub = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    body = json.loads(sub if isinstance(sub, str) else sub[0])
    charted = {tuple(m[:-1]) for w in body["widgets"] for m in w["properties"].get("metrics", []) if m[0] == NAMESPACE}
    names = {"component": "${InferenceComponentName}", "fallback": "${Fallback}"}
    for path, own in warmups.OWN.items():
        dimensions = [x for d in warmups.own_dimensions(path, names[path], SERVICE) for x in (d["Name"], d["Value"])]
        for metric in (own.requests, own.errors):
            assert (NAMESPACE, metric, *dimensions) in charted
