"""Cloud session reuse: a person's AWS session is used from an address bound to someone else.

An IAM Identity Center (SSO) session names its person (the role session name). When the address of a
call with it is, at that time, bound by a sign-in, a VPN session or a DHCP-to-person binding to a
*different* single identity, the session's credentials are most likely in someone else's hands (copied
from a laptop, a shared terminal, a stolen token). Bindings from CloudTrail itself are left out, since
the call binds its own address; ambiguous addresses are never judged.
"""

from __future__ import annotations

import orjson

from streams.detect.base import Hit, RuleContext, RuleMeta, negative, positive
from streams.detect.examples import BASE_TIME, assumed_role, cloudtrail
from streams.detect.remediation import CONTAIN_PRINCIPAL, manual
from streams.enrich.identity import CLOUD_SESSION_SOURCES, is_ip
from streams.normalize import normalize_message

__all__ = ["EXAMPLES", "META", "rule"]

META = RuleMeta(
    id="session_token_reuse",
    title="Cloud session used from another person's address",
    severity="high",
    status="experimental",
    description="An AWS IAM Identity Center session of one person made a call from an address that a "
                "sign-in, VPN session or lease binds to a different identity at that time.",
    attack=("T1550.001",),
    references=("https://attack.mitre.org/techniques/T1550/001/",),
    runbook="Compare the session's person with the identity the address is bound to (context: the binding's "
            "evidence); ask both whether the session was shared; list the session's other calls.",
    remediation="Revoke the session (IAM Identity Center: sign the user out, revoke the role session), rotate "
                "anything it could read, and find how its credentials left the person's machine.",
    families=("cloudtrail",),
    # Only SSO sessions can match: every other CloudTrail row stays undecoded in the stream.
    requires=("sso_session",),
    actions=(
        *CONTAIN_PRINCIPAL,
        manual("sso", "SignOutUser", "session_person", "bound_identity",
               description="Sign the session's person out of IAM Identity Center (the console's 'Revoke "
                           "active sessions') and ask both people how the session left its device."),
    ),
)


def rule(event: dict, ctx: RuleContext) -> Hit | None:
    ip, actor = event.get("src_ip", ""), event.get("actor", "")
    if ctx.identity is None or event.get("actor_type") != "AssumedRole" or "/AWSReservedSSO_" not in actor:
        return None
    person = actor.rpartition("/")[2]
    if not (person and ip and is_ip(ip)):
        return None
    # An address that several other people's sessions or sign-ins use is shared (an office's NAT): one
    # sign-in from it says nothing about who holds a session there, so it is not judged. Asked of every
    # binding held for it, not only those valid now, so a replay after a restart judges it alike.
    everyone = ctx.identity(ip, event["time"], any_time=True)
    if everyone is not None and len(set(everyone.candidates) - {person.lower()}) > 1:
        return None
    bound = ctx.identity(ip, event["time"], exclude=CLOUD_SESSION_SOURCES)
    if bound is None or bound.ambiguous or bound.kind != "user" or bound.identity.lower() == person.lower():
        return None
    return Hit(
        principal=actor,
        description=f"{person}'s session called {event.get('action', '')} from {ip}, which is bound to "
                    f"{bound.identity} ({bound.evidence}).",
        dedup_key=f"session_token_reuse|{actor}|{bound.identity}",
        context={"session_person": person, "src_ip": ip, "bound_identity": bound.identity,
                 "binding_source": bound.source, "binding_evidence": bound.evidence},
    )


# --- examples ------------------------------------------------------------------------------------------

def _okta_sign_in(user: str, ip: str) -> dict:
    record = {"uuid": f"ex-{user}-{ip}", "published": BASE_TIME.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
              "eventType": "user.session.start", "actor": {"alternateId": user, "type": "User"},
              "client": {"ipAddress": ip}, "outcome": {"result": "SUCCESS"}}
    (event,) = normalize_message("audit", orjson.dumps(record)).events
    return event


_SSO_ALICE = assumed_role("AWSReservedSSO_PowerUserAccess_3f0a6c9d2e18b475", "alice@corp.example")

EXAMPLES = [
    positive("alice's SSO session used from the address bob signed in from",
             _okta_sign_in("bob@corp.example", "10.20.1.88"),
             cloudtrail("ListBuckets", "s3.amazonaws.com", identity=_SSO_ALICE, source_ip="10.20.1.88", at=600)),
    negative("alice's SSO session from her own address",
             _okta_sign_in("alice@corp.example", "10.20.1.57"),
             cloudtrail("ListBuckets", "s3.amazonaws.com", identity=_SSO_ALICE, source_ip="10.20.1.57", at=600)),
    negative("an address two people signed in from is not judged",
             _okta_sign_in("bob@corp.example", "10.20.3.250"), _okta_sign_in("carol@corp.example", "10.20.3.250"),
             cloudtrail("ListBuckets", "s3.amazonaws.com", identity=_SSO_ALICE, source_ip="10.20.3.250", at=600)),
    negative("an office's egress, where other people's sessions run too, is not judged",
             _okta_sign_in("bob@corp.example", "198.51.100.24"),
             cloudtrail("ListBuckets", "s3.amazonaws.com", source_ip="198.51.100.24", at=300,
                        identity=assumed_role("AWSReservedSSO_ReadOnly_0a1b2c3d4e5f6a7b", "carol@corp.example")),
             cloudtrail("ListBuckets", "s3.amazonaws.com", source_ip="198.51.100.24", at=400,
                        identity=assumed_role("AWSReservedSSO_ReadOnly_0a1b2c3d4e5f6a7b", "dave@corp.example")),
             cloudtrail("ListBuckets", "s3.amazonaws.com", identity=_SSO_ALICE, source_ip="198.51.100.24", at=600)),
    negative("a service role's session is not a person's",
             _okta_sign_in("bob@corp.example", "10.30.2.21"),
             cloudtrail("ListBuckets", "s3.amazonaws.com", identity=assumed_role("etl", "i-0abc"),
                        source_ip="10.30.2.21", at=600)),
]
