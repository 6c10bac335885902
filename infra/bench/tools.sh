# Shared by infra/bench and infra/sam-build, after infra/lib.sh. Sourced, not executed.

# Release builds never share the debug target dir (whose lock the test suite needs).
RELEASE_TARGET_DIR="${RELEASE_TARGET_DIR:-$HOME/.cache/serverless-saas/target-release}"
CARGO_LAMBDA_VERSION=1.9.2
SAM_CLI_VERSION=1.170.0
# aws-sam-cli pins versions of boto3, botocore, click and pydantic older than those
# moto, cfn-lint and schemathesis run with in the project venv, so it gets a venv of its
# own (inside the project venv's directory, so it lives and dies with it).
SAM_VENV_DIR="${SAM_VENV_DIR:-$VENV_DIR/sam-cli}"

# The version of a package installed in a venv, or nothing.
installed_version() {
  [ -x "$1/bin/python" ] || return 0
  "$1/bin/python" -c 'import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass' "$2"
}

# PyPI cargo-lambda (the binary plus ziglang) into the project venv, on PATH.
ensure_cargo_lambda() {
  if [ "$(installed_version "$VENV_DIR" cargo-lambda)" != "$CARGO_LAMBDA_VERSION" ]; then
    log "installing cargo-lambda $CARGO_LAMBDA_VERSION into $VENV_DIR"
    "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
  fi
  export PATH="$VENV_DIR/bin:$PATH"
}

# PyPI aws-sam-cli into its own venv, on PATH.
ensure_sam_cli() {
  if ! [ -x "$SAM_VENV_DIR/bin/sam" ] || [ "$(installed_version "$SAM_VENV_DIR" aws-sam-cli)" != "$SAM_CLI_VERSION" ]; then
    log "installing aws-sam-cli $SAM_CLI_VERSION into $SAM_VENV_DIR"
    python3 -m venv "$SAM_VENV_DIR"
    "$SAM_VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION"
  fi
  export PATH="$PATH:$SAM_VENV_DIR/bin"
  export SAM_CLI_TELEMETRY=0
}

# The predecessor stack for the Python comparison (infra/bench/requirements.txt).
ensure_bench_python() {
  local stamp="$VENV_DIR/.bench-requirements"
  if cmp -s "$ROOT/infra/bench/requirements.txt" "$stamp"; then return; fi
  log "installing the Python comparison (FastAPI, SQLAlchemy, stripe, Mangum) into $VENV_DIR"
  "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/infra/bench/requirements.txt"
  cp "$ROOT/infra/bench/requirements.txt" "$stamp"
}
