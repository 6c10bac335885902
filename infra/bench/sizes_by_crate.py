"""Symbol sizes of unstripped function binaries, grouped by origin (see sizes-by-crate).

A symbol belongs to the crate named first in its demangled path (for `<T as Trait>`
the crate of T, else of the trait; for drop glue the dropped type's). Generic std/core
code instantiated for another crate's types counts under std/core.
"""

import collections
import os
import re
import subprocess
import sys

def crate_of(name):
    n = name
    m = re.match(r"core::ptr::drop_in_place<(.*)>$", n)
    if m: n = m.group(1).lstrip("&*( ")
    while n.startswith("<"):
        inner = n[1:].lstrip("&*( ")
        if inner.startswith("dyn "): inner = inner[4:]
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", inner)
        if m: return m.group(1)
        m = re.match(r"[^<>]* as ([A-Za-z_][A-Za-z0-9_]*)::", inner)
        if m: return m.group(1)
        n = inner
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", n)
    if m: return m.group(1)
    return "(C/asm)"
FAMILIES = [
  ("Stripe (async-stripe crates, miniserde)", lambda c: c.startswith("stripe") or c.startswith("async_stripe") or c == "miniserde"),
  ("AWS SDK (aws-config, smithy runtime, DynamoDB/SQS/SES/STS/SSO clients)", lambda c: c.startswith("aws_") and c not in ("aws_lc_rs", "aws_lc_sys")),
  ("crypto: aws-lc-rs and C/asm symbols (nearly all aws-lc)", lambda c: c in ("(C/asm)", "aws_lc_rs", "aws_lc_sys")),
  ("TLS: rustls, webpki, native/webpki roots", lambda c: c.startswith("rustls") or c.startswith("webpki") or c in ("untrusted",)),
  ("HTTP: hyper, h2, http, tower, axum, reqwest, lambda_http/runtime", lambda c: c in ("hyper","hyper_util","h2","http","http_body","http_body_util","tower","tower_http","axum","axum_core","reqwest","lambda_http","lambda_runtime","lambda_runtime_api_client","aws_lambda_events","url","idna","encoding_rs","matchit","mime","httparse","percent_encoding","form_urlencoded","serde_urlencoded")),
  ("serde, serde_json", lambda c: c.startswith("serde")),
  ("this project (domain, adapters, app, web, functions)", lambda c: c in ("domain","adapters","app","web","auth","oauth","billing","stripe_webhook","petitions","tasks","task_worker","wills","bench_hello","hello")),
  ("Rust std/core/alloc (incl. generic code instantiated for the above)", lambda c: c in ("core","alloc","std","hashbrown")),
  ("tracing, tracing-subscriber, regex", lambda c: c.startswith("tracing") or c.startswith("regex")),
  ("tokio, futures", lambda c: c.startswith("tokio") or c.startswith("futures")),
]
def family(c):
    for name, test in FAMILIES:
        if test(c): return name
    return "other (utoipa, jsonwebtoken, argon2, oauth2, chrono, pdf-writer, ...)"
def sizes(path):
    out = subprocess.run(["nm", "-S", "--size-sort", "--demangle=rust", path], capture_output=True, text=True).stdout
    agg = collections.Counter(); crates = collections.Counter()
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 4 or parts[2] in "bBuUwWvV": continue
        c = crate_of(parts[3]); s = int(parts[1], 16)
        agg[family(c)] += s; crates[c] += s
    return agg, crates
release = os.environ.get("RELEASE_TARGET_DIR", os.path.expanduser("~/.cache/serverless-saas/target-release"))
base = release + "/unstripped/"
bins = sys.argv[1:]
data = {b: sizes(base + b + "/bootstrap") for b in bins}
names = [f for f, _ in FAMILIES] + ["other (utoipa, jsonwebtoken, argon2, oauth2, chrono, pdf-writer, ...)"]
names.sort(key=lambda f: -data[bins[-1]][0][f])
print("| code and data by origin (symbol sizes, MiB) | " + " | ".join(bins) + " |")
print("| --- |" + " ---: |" * len(bins))
for f in names:
    print(f"| {f} | " + " | ".join(f"{data[b][0][f]/1048576:.2f}" for b in bins) + " |")
print("| all symbols | " + " | ".join(f"{sum(data[b][0].values())/1048576:.2f}" for b in bins) + " |")
print("| unstripped file MiB | " + " | ".join(f"{os.path.getsize(base + b + '/bootstrap') / 1048576:.1f}" for b in bins) + " |")
if os.environ.get("VERBOSE"):
    for b in bins:
        print(b, data[b][1].most_common(40))
