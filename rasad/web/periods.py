"""Periods written the way analysts write them: 90m, 24h, 7d, 2w."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PERIOD = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$")


def parse_period(text: str) -> timedelta:
    match = _PERIOD.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"not a period: {text!r} (write e.g. 90m, 24h, 7d, 2w)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
