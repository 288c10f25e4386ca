"""`sleepwake preflight` on the local stack, before its deploy: the archive the template names, and the checks
run as the deployer (the administrator that deploys the local stack), through the emulator's own answers.

The emulated endpoint serves the model handler from disk (`sagemaker_model.model_server.prepare_model_dir`: model.pt,
code/inference.py, code/warmup.wav, nothing to install). `put_served_archive` puts that same layout, tarred as
`make model` tars it (from inside the folder), at the deploy's ModelDataUrl, so the archive the template names
exists and is what the endpoint serves; a preflight then reads it with HeadObject and lists it.
"""

from __future__ import annotations

import io
import tarfile
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from localaws.emulator import Emulator
    from sleepwake_cli.preflight_rules import Check


def served_archive() -> bytes:
    """model.tar.gz of the directory the emulated endpoint serves."""
    from sagemaker_model.model_server import prepare_model_dir

    folder = prepare_model_dir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            tar.add(path, arcname=path.relative_to(folder).as_posix())
    return buffer.getvalue()


def put_served_archive(emu: Emulator, url: str) -> None:
    """Upload `served_archive()` to `url` (s3://bucket/key), creating the bucket when it is missing."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    s3 = emu.client("s3")
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=served_archive())


def deployer_session(emu: Emulator) -> boto3.Session:
    """A session signing as the local stack's deployer (the emulator's administrator)."""
    keys = emu.client_keys()
    return boto3.Session(
        region_name=emu.region, aws_access_key_id=keys.access_key_id, aws_secret_access_key=keys.secret_access_key
    )


def preflight(emu: Emulator, parameters: dict[str, str], stack_name: str = "sleepwake") -> list[Check]:
    """Every preflight check for deploying `parameters` into the running emulator, as its deployer."""
    from sleepwake_cli.preflight import run
    from sleepwake_cli.preflight_aws import Reader
    from sleepwake_cli.preflight_template import DeployConfig

    config = DeployConfig(stack_name=stack_name, overrides=dict(parameters), source="the local stack's parameters")
    return run(Reader(deployer_session(emu), emu.endpoint_url), config)
