"""The framing of docs/worker-protocol.md: one JSON object per line on the real standard output.

Library chatter must never reach TwinTrain as protocol, so the worker keeps the original standard output for
messages and points ``sys.stdout`` at standard error.
"""

import json
import math
import os
import select
import sys

PROTOCOL = 1


def _finite(value):
    """JSON has no NaN or infinity: a loss that diverged travels as the string "NaN", "Infinity" or "-Infinity"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


class Channel:
    """Reads requests from standard input and writes final and progress messages to the protocol stream."""

    def __init__(self, requests=None, messages=None):
        self._requests = requests if requests is not None else sys.stdin
        if messages is None:
            messages = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
            sys.stdout = sys.stderr
        self._messages = messages
        self._pending = []

    def receive(self):
        """The next request as a dict, or None at the end of input."""
        if self._pending:
            return self._pending.pop(0)
        line = self._requests.readline()
        if not line:
            return None
        return self._parse(line)

    def stop_requested(self):
        """Whether a ``stop`` has arrived (checked between training steps without blocking); EOF counts as stop."""
        for message in self._pending:
            if message.get("op") == "stop":
                self._pending.remove(message)
                return True
        try:
            ready, _, _ = select.select([self._requests], [], [], 0)
        except (ValueError, OSError, TypeError):
            return False  # not a real file (tests): no asynchronous stop
        if not ready:
            return False
        line = self._requests.readline()
        if not line:
            return True  # TwinTrain is gone
        message = self._parse(line)
        if message.get("op") == "stop":
            return True
        self._pending.append(message)
        return False

    @staticmethod
    def _parse(line):
        message = json.loads(line)
        if not isinstance(message, dict) or "op" not in message:
            raise ValueError("a request must be a JSON object with an 'op'")
        return message

    def send(self, message):
        self._messages.write(json.dumps(_finite(message), separators=(",", ":"), allow_nan=False) + "\n")
        self._messages.flush()

    def raw(self, text):
        """Writes a line as it is (fault injection: a malformed message)."""
        self._messages.write(text + "\n")
        self._messages.flush()

    def result(self, request_id, result):
        self.send({"id": request_id, "ok": True, "result": result})

    def error(self, request_id, text):
        self.send({"id": request_id, "ok": False, "error": " ".join(str(text).split())})

    def progress(self, request_id, progress):
        self.send({"id": request_id, "progress": progress})
