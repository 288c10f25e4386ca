"""SNS: the failure notification (one message per failed, timed-out or aborted execution)."""

from __future__ import annotations

from typing import Any


class Notifications:
    def __init__(self, client: Any) -> None:
        self._sns = client

    def publish(self, topic_arn: str, subject: str, message: str) -> str:
        # SNS subjects: at most 100 ASCII characters, no line breaks.
        subject = " ".join(subject.split())[:100]
        return str(self._sns.publish(TopicArn=topic_arn, Subject=subject, Message=message)["MessageId"])
