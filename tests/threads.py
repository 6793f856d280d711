"""Concurrency in tests: calls released together from real threads (each thread its own database
connection, closed after)."""

import threading

from django.db import connection


def race(calls):
    """Run the calls in threads released together; return their (status, body) answers."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            response = call()
            results[index] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
