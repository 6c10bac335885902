"""Local AWS emulator: moto's server app, made as strict as DynamoDB where the app
depends on it.

- Every request is serialised: moto serves requests on threads and its conditional
  writes are then not atomic (concurrent `attribute_not_exists` puts on one key can
  all succeed). Real DynamoDB serialises them, so concurrency tests prove what they
  claim.
- A table Scan returns items in hash order, as DynamoDB does (partitions are spread by
  the hash of their key), not moto's sorted key order, so `ACCOUNT#...` items are not
  all first and a page (whose `Limit` counts every evaluated item) can end on any
  item type; `LastEvaluatedKey` names that item.

Usage: emulator.py PORT
"""

import copy
import hashlib
import sys
import threading

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
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, SerialisedApp(app), threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
