"""Video rooms on the county's Jitsi Meet server with token authentication.

A consult's room is `{JITSI_BASE_URL}/{room}`; each of the two parties gets the link with
`?jwt=<token>`, a JWT signed (HS256) with JITSI_APP_SECRET carrying the claims prosody's `token`
module checks: `iss` (JITSI_APP_ID), `aud` (JITSI_AUDIENCE), `sub` (the Jitsi domain, JITSI_SUB),
`room` (this consult's room only), `nbf`/`exp` (the room's opening and closing: a forwarded link
opens nothing outside that window) and `context.user` naming the person (the consultant as
moderator). Nobody else gets a token, so with `allow_empty_token = false` nobody else can join."""

import datetime
import hashlib

import jwt

from telemedicine.conf import Jitsi


def room_name(room_token: str) -> str:
    """The Jitsi room of a consult: lowercase hex (Jitsi room names are case-insensitive), derived
    from the booking's random room token, so it is unguessable and never changes."""
    return "cunyi" + hashlib.sha256(room_token.encode()).hexdigest()[:32]


def room_jwt(
    jitsi: Jitsi,
    *,
    room: str,
    user_id: str,
    name: str,
    moderator: bool,
    opens_at: datetime.datetime,
    closes_at: datetime.datetime,
    now: datetime.datetime,
) -> str:
    claims = {
        "iss": jitsi.app_id,
        "aud": jitsi.audience,
        "sub": jitsi.sub,
        "room": room,
        "iat": int(now.timestamp()),
        "nbf": int(opens_at.timestamp()),
        "exp": int(closes_at.timestamp()),
        "context": {"user": {"id": user_id, "name": name, "moderator": moderator}},
    }
    return jwt.encode(claims, jitsi.app_secret, algorithm="HS256")


def room_link(jitsi: Jitsi, room: str, token: str) -> str:
    return f"{jitsi.base_url}/{room}?jwt={token}"
