"""Timestamp and line formats exactly as each source writes them (no locale, no floating point drift).

Times are integer microseconds since the Unix epoch, so the same seed always gives the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# strftime's %b follows the C locale of the process; logs always use English month names.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _dt(at_us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=at_us)


def iso_seconds(at_us: int) -> str:
    """CloudTrail: ``2026-11-20T08:00:00Z``."""
    return _dt(at_us).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_with_micros(at_us: int) -> str:
    # The finer formats all extend this one; the coarser one truncates it, as the sources do (no rounding).
    moment = _dt(at_us)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}"


def iso_millis(at_us: int) -> str:
    """Okta, Envoy: ``2026-11-20T08:00:00.123Z``."""
    return _iso_with_micros(at_us)[:-3] + "Z"


def iso_micros(at_us: int) -> str:
    """Kubernetes audit, Zeek (ISO timestamps): ``2026-11-20T08:00:00.123456Z``."""
    return _iso_with_micros(at_us) + "Z"


def iso_7_digits(at_us: int) -> str:
    """Azure Activity log: ``2026-11-20T08:00:00.1234560Z`` (.NET ticks)."""
    return _iso_with_micros(at_us) + "0Z"


def iso_nanos(at_us: int, nanos: int) -> str:
    """GCP Cloud Logging: ``2026-11-20T08:00:00.123456789Z``; ``nanos`` supplies the last 3 digits."""
    return f"{_iso_with_micros(at_us)}{nanos % 1000:03d}Z"


def clf_time(at_us: int) -> str:
    """Common Log Format (nginx, API Gateway ``requestTime``): ``20/Nov/2026:08:00:00 +0000``."""
    moment = _dt(at_us)
    return f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"


def ctime(at_us: int) -> str:
    """Zscaler ``LogTimestamp``: ``Fri Nov 20 08:00:00 2026``."""
    moment = _dt(at_us)
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[moment.weekday()]
    return f"{day} {_MONTHS[moment.month - 1]} {moment.day:2d} {moment:%H:%M:%S %Y}"


def epoch_millis(at_us: int) -> int:
    return at_us // 1000


def squid_time(at_us: int) -> str:
    """Squid native log: seconds with milliseconds, ``1795161600.123``."""
    return f"{at_us // 1_000_000:>9d}.{(at_us // 1000) % 1000:03d}"


def nginx_combined(
    remote_addr: str,
    at_us: int,
    request: str,
    status: int,
    body_bytes: int,
    referer: str,
    user_agent: str,
    remote_user: str = "-",
) -> str:
    return (
        f'{remote_addr} - {remote_user} [{clf_time(at_us)}] "{request}" {status} {body_bytes} '
        f'"{referer}" "{user_agent}"'
    )


def squid_native(
    at_us: int,
    elapsed_ms: int,
    client: str,
    code: str,
    size: int,
    method: str,
    url: str,
    hierarchy: str,
    mime: str,
) -> str:
    return f"{squid_time(at_us)} {elapsed_ms:>6d} {client} {code} {size} {method} {url} - {hierarchy} {mime}"
