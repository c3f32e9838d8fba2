"""The source families: which raw topic a log comes in on and which normalizers read it."""

from __future__ import annotations

from typing import Literal, get_args

SourceFamily = Literal["cloudtrail", "gateway", "audit"]
"""AWS CloudTrail; API-gateway, proxy and egress logs (Envoy, Kong, nginx, Squid, Zeek...); audit logs
(Kubernetes, GCP, Azure, Entra ID, Okta)."""

SOURCE_FAMILIES: tuple[SourceFamily, ...] = get_args(SourceFamily)
