"""Local AWS emulator: moto's server app with every request serialised.

moto serves requests on threads and its DynamoDB conditional writes are then not
atomic (concurrent `attribute_not_exists` puts on one key can all succeed). Real
DynamoDB serialises them, so this wrapper takes one lock per request: concurrency
tests then prove what they claim.

Usage: emulator.py PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class SerialisedApp:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # Materialise the body inside the lock: the request is fully handled here.
            return list(self.app(environ, start_response))


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, SerialisedApp(app), threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
