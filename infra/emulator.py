"""Local AWS emulator: one endpoint for every AWS service the app calls.

With `--dynamodb URL`, DynamoDB's requests (the JSON protocol's `X-Amz-Target:
DynamoDB_20120810.*`) go to AWS's DynamoDB Local at URL, concurrently, as DynamoDB
serves them; SQS and SES stay on moto. Without it moto serves DynamoDB too, made as
strict as DynamoDB where the app depends on it:

- Every request is serialised: moto serves requests on threads and its conditional
  writes are then not atomic (concurrent `attribute_not_exists` puts on one key can
  all succeed). Real DynamoDB serialises them, so concurrency tests prove what they
  claim.
- A table Scan returns items in hash order, as DynamoDB does (partitions are spread by
  the hash of their key), not moto's sorted key order, so `ACCOUNT#...` items are not
  all first and a page (whose `Limit` counts every evaluated item) can end on any
  item type; `LastEvaluatedKey` names that item.

Usage: emulator.py PORT [--dynamodb URL]
"""

import copy
import hashlib
import http.client
import sys
import threading
import urllib.parse

from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

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


class DynamoDbRouter:
    """Sends DynamoDB's requests to DynamoDB Local, everything else to `others`."""

    # Hop-by-hop headers, and the length the WSGI server sets itself.
    SKIPPED = {"connection", "keep-alive", "transfer-encoding", "content-length"}

    def __init__(self, dynamodb_url, others):
        url = urllib.parse.urlsplit(dynamodb_url)
        self.host, self.port = url.hostname, url.port
        self.others = others
        self.local = threading.local()

    def __call__(self, environ, start_response):
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.others(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
        headers["Content-Type"] = environ.get("CONTENT_TYPE", "application/x-amz-json-1.0")
        status, reply_headers, reply = self.forward(environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/", body, headers)
        start_response(status, [(k, v) for k, v in reply_headers if k.lower() not in self.SKIPPED])
        return [reply]

    def forward(self, method, path, body, headers):
        """One keep-alive connection per server thread. A kept connection the server
        closed while idle is opened again once; a fresh one failing is an error."""
        while True:
            kept = getattr(self.local, "connection", None)
            connection = kept or http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.local.connection = connection
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                return f"{response.status} {response.reason}", response.getheaders(), response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                connection.close()
                self.local.connection = None
                if kept is None:
                    raise


_moto_scan = Table.scan


def _hash_order(item):
    """Where DynamoDB would put the item: by a hash of its partition key."""
    digest = hashlib.md5(str(item.hash_key.value).encode()).hexdigest()
    return (digest, str(item.range_key.value) if item.range_key is not None else "")


def hash_ordered_scan(self, filters, limit, exclusive_start_key, filter_expression=None, index_name=None,
                      consistent_read=False, projection_expression=None, segments=(None, None)):
    """A base-table Scan in hash order; anything else is moto's own."""
    if index_name or filters or segments != (None, None):
        return _moto_scan(self, filters, limit, exclusive_start_key, filter_expression, index_name,
                          consistent_read, projection_expression, segments)
    items = sorted(self.all_items(), key=_hash_order)
    start = 0
    if exclusive_start_key:
        # Resume after the key's place in the order, whether or not its item still exists.
        hash_value = DynamoType(exclusive_start_key[self.hash_key_attr]).value
        range_attr = exclusive_start_key.get(self.range_key_attr) if self.range_key_attr else None
        after = (hashlib.md5(str(hash_value).encode()).hexdigest(), str(DynamoType(range_attr).value) if range_attr else "")
        start = next((i for i, item in enumerate(items) if _hash_order(item) > after), len(items))
    page = items[start:start + limit] if limit else items[start:]
    more = limit is not None and start + limit < len(items)
    last_evaluated_key = self._get_last_evaluated_key(page[-1], None) if more and page else None
    results = [copy.deepcopy(item) for item in page]
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expression:
        results = [item.project(projection_expression) for item in results]
    return results, len(page), last_evaluated_key


Table.scan = hash_ordered_scan


def main() -> None:
    port = int(sys.argv[1])
    app = SerialisedApp(DomainDispatcherApplication(create_backend_app))
    if sys.argv[2:3] == ["--dynamodb"]:
        app = DynamoDbRouter(sys.argv[3], app)
    run_simple("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
