"""Settings of the booking bench's server: the project's own (DEBUG from the environment, the same
middleware, authentication and database settings) plus one URL, the minimal insert endpoint that is
the booking's baseline (`bench/minimal_urls.py`). Only the bench's gunicorn loads it."""

from config.settings import *  # noqa: F403 - the same settings, one URLconf added

ROOT_URLCONF = "bench.minimal_urls"
