"""The OpenAPI schema documents the error answers every operation can give, so clients (and the
schemathesis run in CI) know them: 400 bad input, 401 not signed in or revoked token, 403 role or
reach, 404 unknown object or page, and 409 for writes that conflict."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

ERROR_BODY = {
    "application/json": {
        "schema": {
            "type": "object",
            "description": "Chinese messages: `detail`, or one list of messages per field.",
            "additionalProperties": True,
        }
    }
}
ERRORS = {
    "400": "Bad input: the messages say what to fix.",
    "401": "Not signed in, or the API token is unknown or revoked.",
    "403": "This role may not do this, or the object is outside the user's reach.",
    "404": "No such object in the user's reach, or no such page.",
}
WRITE_ERRORS = {"409": "Conflicts with data saved at the same time, or with the object's state."}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = {**ERRORS, **(WRITE_ERRORS if self.method in ("POST", "PUT", "PATCH", "DELETE") else {})}
        for code, description in errors.items():
            responses.setdefault(code, {"description": description, "content": ERROR_BODY})
        return responses
