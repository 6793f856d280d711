"""How tests call the API as software does: with a token, never a session or force_authenticate.
Token creation lives in ONE place (api_token_for), so a change of token scheme changes one line."""

from rest_framework.authtoken.models import Token

# The word before the token in the Authorization header (generated clients: `prefix=`).
TOKEN_PREFIX = "Token"


def api_token_for(user) -> str:
    """A new API token for `user`, as issued to a terminal or an integrator (shown once)."""
    return Token.objects.create(user=user).key


def auth_header(user) -> dict:
    """The Authorization header for `user`."""
    return {"Authorization": f"{TOKEN_PREFIX} {api_token_for(user)}"}
