#!/usr/bin/env bash
# Installs whatever is missing, runs every test suite, and ends with one line:
#   N passed, N failed
# Suites: Rust (unit, integration, doc tests), formatting, lints. Later suites (Python and
# Kotlin bindings, interop with wireguard-go and OpenSSH) add themselves here.
set -uo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
export CARGO_INCREMENTAL=0
LOG_DIR="${TEST_LOG_DIR:-target/test-logs}"
mkdir -p "$LOG_DIR"

passed=0
failed=0

say() { printf '==> %s\n' "$*" >&2; }

# --- prerequisites -------------------------------------------------------------------------
ensure_rust() {
    if ! command -v cargo >/dev/null; then
        say "cargo is missing: this machine kind ships a Rust toolchain; install rustup first"
        exit 2
    fi
    for component in rustfmt clippy; do
        if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
            say "installing $component"
            rustup component add "$component" >&2 || true
        fi
    done
}

# A real PostgreSQL server for the reference server's storage suite (Debian's package; the
# cluster runs as root via pg_ctlcluster; TCP logins need a password, so a password role is made).
suite_postgres_setup() {
    if [ -n "${CODER_TEST_PG_URL:-}" ]; then
        say "postgres: using CODER_TEST_PG_URL"
        return
    fi
    if ! command -v pg_ctlcluster >/dev/null; then
        say "postgres: installing Debian's postgresql"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >"$LOG_DIR/apt.log" 2>&1; then
            apt-get update >>"$LOG_DIR/apt.log" 2>&1
            DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >>"$LOG_DIR/apt.log" 2>&1 ||
                say "postgres: install failed (see $LOG_DIR/apt.log); the PostgreSQL tests will fail"
        fi
    fi
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$version" ]; then
        say "postgres: no cluster found; the PostgreSQL tests will fail"
        return
    fi
    pg_ctlcluster "$version" main start 2>/dev/null || true
    for _ in $(seq 1 30); do
        su postgres -c "pg_isready -q -h 127.0.0.1 -p 5432" && break
        sleep 1
    done
    su postgres -c "psql -q -v ON_ERROR_STOP=1" >"$LOG_DIR/postgres-setup.log" 2>&1 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'coder_test') THEN
    CREATE ROLE coder_test LOGIN PASSWORD 'coder_test' CREATEDB;
  END IF;
END $$;
SELECT 'CREATE DATABASE coder_test OWNER coder_test'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'coder_test') \gexec
SQL
    export CODER_TEST_PG_URL="postgres://coder_test:coder_test@127.0.0.1:5432/coder_test"
    say "postgres: $CODER_TEST_PG_URL"
}

# Debian packages the suites drive for real: wireguard-go and wg (tunnel interop), ip and ping
# (network namespaces), tmux (the CLI seen in a real terminal). Missing ones are installed.
ensure_debian_packages() {
    local missing=()
    command -v wireguard-go >/dev/null || missing+=(wireguard-go)
    command -v wg >/dev/null || missing+=(wireguard-tools)
    command -v ip >/dev/null || missing+=(iproute2)
    command -v ping >/dev/null || missing+=(iputils-ping)
    command -v tmux >/dev/null || missing+=(tmux)
    command -v iperf3 >/dev/null || missing+=(iperf3)  # coder-tunnel's netns bench (L4)
    [ "${#missing[@]}" -eq 0 ] && return
    say "installing ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$LOG_DIR/apt-tools.log" 2>&1; then
        apt-get update >>"$LOG_DIR/apt-tools.log" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG_DIR/apt-tools.log" 2>&1 ||
            say "install failed (see $LOG_DIR/apt-tools.log); the suites that need them say so"
    fi
}

# schemathesis (PyPI) for the reference server's API fuzzing check.
ensure_schemathesis() {
    if ! command -v st >/dev/null; then
        say "installing schemathesis"
        python3 -m pip install -q "schemathesis==4.32.5" >"$LOG_DIR/pip.log" 2>&1 ||
            say "schemathesis install failed (see $LOG_DIR/pip.log)"
    fi
}

# --- suites --------------------------------------------------------------------------------
# Adds the counts from cargo's "test result:" lines; a run that printed none counts as failed.
count_cargo_results() {
    local log="$1" status="$2" p f
    read -r p f < <(awk '/^test result:/ {
        for (i = 2; i <= NF; i++) {
            if ($i ~ /^passed/) p += $(i - 1)
            if ($i ~ /^failed/) f += $(i - 1)
        }
    } END { print p + 0, f + 0 }' "$log")
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        say "cargo exited with $status without a failing test (build error?): see $log"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    say "rust: $p passed, $f failed"
}

suite_rust() {
    say "rust: cargo test --workspace"
    local log="$LOG_DIR/rust.log"
    cargo test --workspace --no-fail-fast 2>&1 | tee "$log" | grep -E '^(test result|failures:|---- )' >&2
    count_cargo_results "$log" "${PIPESTATUS[0]}"
}

# A check that passes or fails as a whole (formatting, lints) counts as one test.
check() {
    local name="$1"
    shift
    say "$name: $*"
    if "$@" >"$LOG_DIR/$name.log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        say "$name FAILED:"
        tail -n 40 "$LOG_DIR/$name.log" >&2
    fi
}

ensure_rust
ensure_debian_packages

suite_postgres_setup
suite_rust
check fmt cargo fmt --all --check
check clippy cargo clippy --workspace --all-targets -- -D warnings
check server-smoke bash examples/server/scripts/smoke.sh
ensure_schemathesis
check server-schemathesis bash examples/server/scripts/schemathesis.sh

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
