"""How tests call the API as software does: with a token, never a session or force_authenticate.
Token creation lives in ONE place (api_token_for), so a change of token scheme changes one line."""

from core.tokens import api_token_create

# The word before the token in the Authorization header (generated clients: `prefix=`).
TOKEN_PREFIX = "Bearer"


def api_token_for(user) -> str:
    """A new API token for `user`, as issued to a terminal or an integrator (shown once)."""
    _row, plain = api_token_create(user=user)
    return plain


def auth_header(user) -> dict:
    """The Authorization header for `user`."""
    return {"Authorization": f"{TOKEN_PREFIX} {api_token_for(user)}"}
