"""The web container's healthcheck: asks gunicorn itself (not the proxy) for /health/ and exits 1
unless it answers 200. Arguments: the checks to ask for (default: database)."""

import os
import sys
import urllib.error
import urllib.request

checks = ",".join(sys.argv[1:]) or "database"
host = (os.environ.get("ALLOWED_HOSTS", "localhost").split(",") or ["localhost"])[0].strip() or "localhost"
request = urllib.request.Request(
    f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health/?only={checks}",
    headers={"Host": host},  # /health/ is exempt from the HTTPS redirect
)
try:
    with urllib.request.urlopen(request, timeout=10) as response:
        sys.exit(0 if response.status == 200 else 1)
except (urllib.error.URLError, OSError) as exc:
    print(f"healthcheck: {exc}", file=sys.stderr)
    sys.exit(1)
