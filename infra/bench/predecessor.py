"""The predecessor stack's cold start, for infra/bench: FastAPI + SQLAlchemy + stripe +
boto3 behind Mangum, driven by a minimal Lambda runtime client (what Lambda's Python
runtime does: import the handler module, then poll the Runtime API).

GET /v1/billing/plans reads the billing catalogue from DynamoDB (the emulator), as the
Rust billing function does, so the first invocation does comparable work.

`--bare`: no framework at all (the Python floor: interpreter + this loop).
"""

import http.client
import json
import os
import sys

if "--bare" in sys.argv:

    def handler(event, context):
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "[]"}

else:
    import boto3
    import stripe
    from fastapi import FastAPI
    from mangum import Mangum
    from pydantic import BaseModel
    from sqlalchemy import Integer, String, create_engine
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    class Base(DeclarativeBase):
        pass

    class Account(Base):
        __tablename__ = "accounts"
        id: Mapped[str] = mapped_column(String, primary_key=True)
        name: Mapped[str] = mapped_column(String)
        seat_limit: Mapped[int] = mapped_column(Integer)

    # The predecessor's Postgres engine; SQLite in memory here (no connection at init).
    engine = create_engine("sqlite://")
    stripe.api_key = os.environ.get("STRIPE_SECRET_KEY") or "sk_test_placeholder"
    dynamodb = boto3.client("dynamodb", region_name=os.environ.get("AWS_REGION", "us-east-1"))
    TABLE = os.environ.get("TABLE_NAME", "app")

    class PlanOut(BaseModel):
        plan_id: str
        name: str

    app = FastAPI(title="predecessor")

    @app.get("/v1/billing/plans", response_model=list[PlanOut])
    def plans():
        items = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "CATALOGUE#BILLING"}},
            ConsistentRead=True,
        )["Items"]
        return [PlanOut(plan_id=i["sk"]["S"].removeprefix("PLAN#"), name=i.get("name", {}).get("S", "")) for i in items]

    handler = Mangum(app, lifespan="off")


class Context:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "predecessor")
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:predecessor"
    aws_request_id = ""


def main():
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
    runtime = http.client.HTTPConnection(host, int(port))
    while True:
        runtime.request("GET", "/2018-06-01/runtime/invocation/next")
        response = runtime.getresponse()
        event = json.loads(response.read())
        context = Context()
        context.aws_request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        result = handler(event, context)
        runtime.request("POST", f"/2018-06-01/runtime/invocation/{context.aws_request_id}/response", json.dumps(result))
        runtime.getresponse().read()


if __name__ == "__main__":
    main()
