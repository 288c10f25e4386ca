"""The product's side of sleepwake: send to the inference component, fall back while it sleeps.

from sleepwake_client import SleepwakeClient
client = SleepwakeClient.from_outputs(stack_outputs)          # or the names and URL directly
answer = client.invoke(wav_bytes, content_type="audio/wav")
answer.body, answer.served_by                                   # b'{...}', "component" | "fallback"
"""

from sleepwake_client.client import (
    FallbackFailed,
    InvokeResult,
    ServedBy,
    SleepwakeClient,
    is_no_capacity,
)

__all__ = ["FallbackFailed", "InvokeResult", "ServedBy", "SleepwakeClient", "is_no_capacity"]
