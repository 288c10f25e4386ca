"""A product's request, as docs/fallback.md says to make it: the component, or the fallback while it sleeps.

Usage: python docs/examples/product.py OUTPUTS.json AUDIO.wav
OUTPUTS.json holds the stack outputs (EndpointName, InferenceComponentName, FallbackEndpointName, WakeApiUrl),
as an object or as `aws cloudformation describe-stacks --query "Stacks[0].Outputs"` lists them, or is a local
stack's deployment file, whose `product` section also carries the product's AWS_* environment.
"""

import json
import os
import sys
from pathlib import Path

from sleepwake_client import FallbackFailed, SleepwakeClient

if len(sys.argv) != 3:
    sys.exit("usage: python docs/examples/product.py OUTPUTS.json AUDIO.wav")
try:  # a missing or unreadable file is one line, not a traceback
    text, audio = Path(sys.argv[1]).read_text(), Path(sys.argv[2]).read_bytes()
    outputs = json.loads(text)
except OSError as error:
    sys.exit(f"product.py: {error}")
except ValueError as error:
    sys.exit(f"product.py: {sys.argv[1]} is not JSON ({error})")
if isinstance(outputs, dict) and "product" in outputs:  # `make local`: the product's keys, region, emulator URL
    os.environ.update(outputs["product"]["environment"])
    outputs = outputs["product"]["outputs"]
try:
    client = SleepwakeClient.from_outputs(outputs, send_in_background=False)  # send the wake signal before exiting
except ValueError as error:  # not the stack's outputs: one line naming what is missing
    sys.exit(f"product.py: {sys.argv[1]}: {error}")
try:
    answer = client.invoke(audio)
except FallbackFailed as error:
    sys.exit(f"no answer: {error}. Retry shortly: the component is waking.")
print(f"served by the {answer.served_by} (wake signalled: {answer.wake_signalled}): {answer.body.decode()}")
