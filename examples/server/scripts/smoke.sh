#!/usr/bin/env bash
# Drives coder-server with curl from first user to a running workspace and back to deleted.
#
#   examples/server/scripts/smoke.sh                 # starts a fresh server (cargo run) on a free port
#   CODER_URL=http://127.0.0.1:3000 smoke.sh         # uses a running server with no users yet
#
# Needs curl, tar and python3 (for reading JSON). Exits non-zero on the first failed step.
set -euo pipefail
cd "$(dirname "$0")/../../.."

step() { printf '==> %s\n' "$*" >&2; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
json() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if k.isdigit() else v[k]
print(v)' "$1"; }

URL="${CODER_URL:-}"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "$URL" ]; then
    step "starting coder-server"
    cargo build -q -p coder-server
    bin="${CARGO_TARGET_DIR:-target}/debug/coder-server"
    : >"$WORK/server.out"
    "$bin" --http-address 127.0.0.1:0 --cache-dir "$WORK/cache" >"$WORK/server.out" 2>"$WORK/server.err" &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        URL=$(sed -n 's/^Started HTTP listener at //p' "$WORK/server.out" | head -n 1)
        [ -n "$URL" ] && break
        sleep 0.1
    done
    [ -n "$URL" ] || fail "server did not print its URL: $(cat "$WORK/server.err")"
fi
API="$URL/api/v2"
step "server at $URL"

# curl that fails on HTTP errors, printing the body; $1 = expected status.
call() {
    local want="$1"; shift
    local out status
    out=$(curl -sS -w '\n%{http_code}' "$@") || fail "curl $*"
    status="${out##*$'\n'}"
    [ "$status" = "$want" ] || fail "$* -> $status, want $want: ${out%$'\n'*}"
    printf '%s' "${out%$'\n'*}"
}

step "first user"
call 404 "$API/users/first" >/dev/null
call 201 -X POST "$API/users/first" -H 'Content-Type: application/json' \
    -d '{"email":"admin@example.com","username":"admin","password":"SmokeTestPassword1"}' >/dev/null
TOKEN=$(call 201 -X POST "$API/users/login" -H 'Content-Type: application/json' \
    -d '{"email":"admin@example.com","password":"SmokeTestPassword1"}' | json session_token)
AUTH=(-H "Coder-Session-Token: $TOKEN")
[ "$(call 200 "${AUTH[@]}" "$API/users/me" | json username)" = admin ] || fail "users/me"

step "upload the example template"
tar -C examples/templates/local -cf "$WORK/template.tar" .
FILE=$(call 201 "${AUTH[@]}" -X POST "$API/files" -H 'Content-Type: application/x-tar' \
    --data-binary "@$WORK/template.tar" | json hash)
VERSION=$(call 201 "${AUTH[@]}" -X POST "$API/organizations/default/templateversions" \
    -H 'Content-Type: application/json' \
    -d "{\"storage_method\":\"file\",\"provisioner\":\"process\",\"file_id\":\"$FILE\"}" | json id)

wait_for() { # $1 path, $2 json key, $3 wanted value
    local v=""
    for _ in $(seq 1 200); do
        v=$(call 200 "${AUTH[@]}" "$API$1" | json "$2")
        [ "$v" = "$3" ] && return 0
        case "$v" in failed|canceled) fail "$1: $2 is $v" ;; esac
        sleep 0.1
    done
    fail "$1: $2 is $v, want $3"
}
wait_for "/templateversions/$VERSION" job.status succeeded
TEMPLATE=$(call 201 "${AUTH[@]}" -X POST "$API/organizations/default/templates" \
    -H 'Content-Type: application/json' -d "{\"name\":\"local\",\"template_version_id\":\"$VERSION\"}" | json id)

step "create a workspace"
WS=$(call 201 "${AUTH[@]}" -X POST "$API/users/me/workspaces" -H 'Content-Type: application/json' \
    -d "{\"name\":\"dev\",\"template_id\":\"$TEMPLATE\",\"rich_parameter_values\":[{\"name\":\"greeting\",\"value\":\"hello smoke\"}]}" | json id)
wait_for "/workspaces/$WS" latest_build.status running
BUILD=$(call 200 "${AUTH[@]}" "$API/workspaces/$WS" | json latest_build.id)
call 200 "${AUTH[@]}" "$API/workspacebuilds/$BUILD/logs" | grep -q 'Agent main: started process' || fail "build logs"
[ "$(call 200 "${AUTH[@]}" "$API/workspaces?q=owner:me%20status:running" | json count)" = 1 ] || fail "search"

step "stop, start, delete"
call 201 "${AUTH[@]}" -X POST "$API/workspaces/$WS/builds" -H 'Content-Type: application/json' -d '{"transition":"stop"}' >/dev/null
wait_for "/workspaces/$WS" latest_build.status stopped
call 201 "${AUTH[@]}" -X POST "$API/workspaces/$WS/builds" -H 'Content-Type: application/json' -d '{"transition":"start"}' >/dev/null
wait_for "/workspaces/$WS" latest_build.status running
call 201 "${AUTH[@]}" -X POST "$API/workspaces/$WS/builds" -H 'Content-Type: application/json' -d '{"transition":"delete"}' >/dev/null
wait_for "/workspaces/$WS?include_deleted=true" latest_build.status deleted
call 410 "${AUTH[@]}" "$API/workspaces/$WS" >/dev/null
[ "$(call 200 "${AUTH[@]}" "$API/workspaces" | json count)" = 0 ] || fail "workspace list not empty"

echo "smoke: first user -> running workspace -> deleted: ok"
