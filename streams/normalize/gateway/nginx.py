"""nginx access-log lines: ``combined`` and the extensions seen in practice.

Read layouts (everything after the user agent is optional)::

    combined     $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
                 "$http_referer" "$http_user_agent"
    main         combined + "$http_x_forwarded_for"               (nginx.conf's default)
    main_ext     main + "$host" sn="$server_name" rt=$request_time ua="$upstream_addr" ...
    ingress      combined + $request_length $request_time [$proxy_upstream_name] [...] $upstream_addr
                 $upstream_response_length $upstream_response_time $upstream_status $req_id
                                                                  (Kubernetes ingress-nginx default)
    vhost        $host combined...                                (host first, as Apache's vhost_combined)

nginx escapes ``"`` inside variables as ``\\x22``, so splitting on ``"`` finds the quoted fields
without a regex: odd pieces are quoted values, even pieces the gaps between them.
"""

from __future__ import annotations

from streams.normalize.base import NormalizeError, RecordMeta
from streams.normalize.gateway._common import (
    address_ip,
    byte_count,
    epoch_ms_from_clf,
    host_of,
    host_of_url,
    http_status,
    http_template,
    source_id,
    start_http_event,
)

FORMAT = "nginx"
_TEMPLATE = http_template(FORMAT)

# key=value names in extended formats (NGINX's main_ext abbreviations and spelled-out variants).
_HOST_KEYS = ("host", "http_host")
_SERVER_NAME_KEYS = ("sn", "server_name")
_REQUEST_ID_KEYS = ("rid", "req_id", "request_id", "reqid")
_REQUEST_LENGTH_KEYS = ("rl", "request_length")
_INGRESS_MIN_TOKENS = 9  # ingress-nginx's nine unquoted fields after the user agent


def detect(line: str) -> bool:
    bracket = line.find(" [")
    return 0 < bracket and line.find('] "', bracket) > 0


def _tail_fields(pieces: list[str]) -> tuple[dict[str, str], list[str], list[str]]:
    """Fields after the user agent: ``key=value`` pairs, positional quoted and bare values."""
    named: dict[str, str] = {}
    quoted: list[str] = []
    bare: list[str] = []
    pending_key = ""
    for index, piece in enumerate(pieces):
        if index % 2:  # a quoted value
            if pending_key:
                named[pending_key] = piece
                pending_key = ""
            else:
                quoted.append(piece)
            continue
        tokens = piece.split()
        if tokens and tokens[-1].endswith("=") and not piece[-1:].isspace():
            pending_key = tokens.pop()[:-1]  # key="quoted value"
        for token in tokens:
            key, equals, value = token.partition("=")
            if equals and key.isidentifier():
                named[key] = value
            else:
                bare.append(token)
    return named, quoted, bare


def _named(named: dict[str, str], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = named.get(key, "")
        if value and value != "-":
            return value
    return ""


def normalize(line: str, raw: str, meta: RecordMeta) -> dict:
    line = line.strip()
    bracket = line.find(" [")
    close = line.find("] ", bracket)
    if bracket <= 0 or close < 0:
        raise NormalizeError("truncated", "nginx line has no [time] field")
    head = line[:bracket].split()
    if len(head) == 3:
        vhost = ""
        remote_addr, _ident, remote_user = head
    elif len(head) == 4:
        vhost, remote_addr, _ident, remote_user = head
    else:
        raise NormalizeError("malformed_line", f"expected 3 or 4 fields before [time], got {len(head)}")

    pieces = line[close + 2:].split('"')
    # '' "request" " status bytes " "referer" " " "agent" <tail...>: an odd count, at least 7.
    if len(pieces) < 7 or len(pieces) % 2 == 0 or pieces[0].strip():
        raise NormalizeError("truncated", "nginx line ends inside or before its quoted fields")
    if pieces[4].strip():
        raise NormalizeError("malformed_line", "unquoted text between referer and user agent")
    status_and_bytes = pieces[2].split()
    if len(status_and_bytes) != 2:
        raise NormalizeError("malformed_line", "expected status and bytes after the request")
    if len(pieces) > 7 or pieces[6].strip():
        named, quoted, bare = _tail_fields(pieces[6:])
    else:  # plain combined: nothing after the user agent
        named, quoted, bare = {}, [], []

    request_line = pieces[1].split()
    method = target = ""
    if len(request_line) >= 2 and request_line[0].isalpha() and (
        len(request_line) == 2 or request_line[-1].startswith("HTTP/")
    ):
        method = request_line[0]
        target = " ".join(request_line[1:-1]) if len(request_line) > 2 else request_line[1]

    forwarded_host = quoted[1] if len(quoted) > 1 and quoted[1] != "-" and " " not in quoted[1] else ""
    if method.upper() == "CONNECT":
        host = host_of(target)
    else:
        host = host_of_url(target) or host_of(
            vhost or _named(named, _HOST_KEYS) or forwarded_host or _named(named, _SERVER_NAME_KEYS)
        )

    request_id = _named(named, _REQUEST_ID_KEYS)
    request_length = _named(named, _REQUEST_LENGTH_KEYS)
    if len(bare) >= _INGRESS_MIN_TOKENS and bare[2].startswith("["):
        request_length = request_length or bare[0]
        request_id = request_id or (bare[-1] if bare[-1] != "-" else "")

    event = start_http_event(
        _TEMPLATE, source_id(request_id, FORMAT, raw), epoch_ms_from_clf(line[bracket + 2:close]), raw, meta,
        method=method, status_code=http_status(status_and_bytes[0]), target_host=host,
    )
    # nginx does not log the scheme: an origin-form path stays a path.
    event["target_url"] = target
    if remote_user != "-":
        event["actor"] = remote_user
        event["actor_type"] = "http_basic"
    event["src_ip"] = address_ip(remote_addr)
    event["user_agent"] = "" if pieces[5] == "-" else pieces[5]
    event["status_detail"] = "" if method else "unparsed request line"
    event["bytes_in"] = byte_count(request_length)
    event["bytes_out"] = byte_count(status_and_bytes[1])
    return event
