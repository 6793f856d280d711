class BookingConflict(Exception):
    """The request collides with the current state (a full slot, an overlapping consult, a
    consult already moved on): HTTP 409 with a message that says what to do instead."""

    def __init__(self, message, code: str = "conflict"):
        super().__init__(str(message))
        self.message = str(message)
        self.code = code
