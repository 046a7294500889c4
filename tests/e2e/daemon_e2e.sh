#!/usr/bin/env bash
# End-to-end tests of cvm-attestd against scripts/dev-env: the emulated CVM
# (swtpm) and the loopback attestation service, IMDS and KDS.
# Usage: daemon_e2e.sh BUILD_DIR
# Exits 77 (skipped) when swtpm or tpm2-tools is missing.
set -uo pipefail

build=$(cd "${1:?usage: daemon_e2e.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
cli="$build/bin/cvm-attest"
daemon="$build/bin/cvm-attestd"

for tool in swtpm tpm2_nvread curl jq python3 setpriv systemd-socket-activate; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done

work=$(mktemp -d /tmp/cvm-e2e.XXXXXX)
chmod 0755 "$work"
daemon_pid=""
passed=0
failed=0

cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  "$root/scripts/dev-env" down "$work/env" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() {  # check NAME CONDITION-COMMAND...
  local name=$1
  shift
  if "$@"; then
    echo "ok - $name"
    passed=$((passed + 1))
  else
    echo "not ok - $name"
    failed=$((failed + 1))
  fi
}

CVM_DEV_ENV_TOKEN_LIFETIME=${CVM_DEV_ENV_TOKEN_LIFETIME:-} \
  "$root/scripts/dev-env" up "$work/env" >"$work/dev-env.log" 2>&1 || {
  cat "$work/dev-env.log"
  echo "Bail out! dev-env up failed"
  exit 1
}
# shellcheck disable=SC1091
source "$work/env/env"
config="$work/env/config.json"
socket=$(jq -r .socket.path "$config")

start_daemon() {  # start_daemon CONFIG [extra env...]
  "$daemon" --config "$1" >>"$work/daemon.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 150); do
    [ -S "$(jq -r .socket.path "$1")" ] && curl -s --unix-socket "$(jq -r .socket.path "$1")" \
      http://localhost/v1/token -o /dev/null -w '%{http_code}' 2>/dev/null | grep -q 200 && return 0
    sleep 0.1
  done
  return 1
}

stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  kill -TERM "$daemon_pid"
  local started=$SECONDS
  wait "$daemon_pid"
  local status=$?
  daemon_pid=""
  [ $((SECONDS - started)) -le 5 ] && [ "$status" -eq 0 ]
}

api() {  # api METHOD PATH [BODY] -> prints "STATUS BODY-FILE"
  local out="$work/response.$RANDOM"
  local status
  if [ -n "${3:-}" ]; then
    status=$(curl -s --unix-socket "$socket" -X "$1" -H 'Content-Type: application/json' -d "$3" \
      -o "$out" -w '%{http_code}' "http://localhost$2")
  else
    status=$(curl -s --unix-socket "$socket" -X "$1" -o "$out" -w '%{http_code}' "http://localhost$2")
  fi
  echo "$status $out"
}

# The claims of a compact JWS, decoded without any check.
jwt_payload() {
  python3 -c 'import sys, base64; p = sys.argv[1].split(".")[1]; print(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).decode())' "$1"
}
export -f jwt_payload

# Verifies an RS256 token with openssl against the JWKS the service publishes,
# independently of the agent's own verifier.
verify_with_openssl() {
  local token=$1 kid
  kid=$(python3 -c 'import sys, base64, json; h = sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"])' "$token")
  curl -s --cacert "$CVM_ATTEST_CA_FILE" "$CVM_ATTEST_ENDPOINT/certs" |
    jq -r --arg kid "$kid" '.keys[] | select(.kid == $kid) | .x5c[0]' | base64 -d >"$work/signer.der" || return 1
  openssl x509 -inform der -in "$work/signer.der" -pubkey -noout >"$work/signer.pem" || return 1
  printf '%s' "${token%.*}" >"$work/signed.txt"
  python3 -c 'import sys, base64; s = sys.argv[1].rsplit(".", 1)[1]; sys.stdout.buffer.write(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))' "$token" >"$work/signature.bin"
  openssl dgst -sha256 -verify "$work/signer.pem" -signature "$work/signature.bin" "$work/signed.txt" >/dev/null
}

# --- the command line against the emulated CVM, without the daemon ----------
check "report verify --tpm passes against the emulated CVM's own anchor" \
  bash -c "'$cli' report verify --tpm --vcek '$CVM_ATTEST_VCEK_CHAIN' --trust-anchor '$CVM_ATTEST_TRUST_ANCHOR' >/dev/null"
check "report verify --tpm fails without the anchor" \
  bash -c "'$cli' report verify --tpm --vcek '$CVM_ATTEST_VCEK_CHAIN' >/dev/null; [ \$? -eq 1 ]"
for format in azure-guest sevsnpvm; do
  for nonce_hex in "" 00112233445566778899aabbccddeeff; do
    label="$format${nonce_hex:+ with a nonce}"
    nonce_args=()
    [ -n "$nonce_hex" ] && nonce_args=(--nonce "$nonce_hex")
    check "evidence ($label) verifies offline" bash -c "
      '$cli' evidence --format $format ${nonce_args[*]} --cache-dir '$work/cli-cache' --out '$work/evidence.json' &&
      '$cli' verify '$work/evidence.json' --trust-anchor '$CVM_ATTEST_TRUST_ANCHOR' ${nonce_args[*]} >'$work/verify.txt'"
    check "attest ($label) returns a verified token" bash -c "
      '$cli' attest --protocol $format ${nonce_args[*]} --cache-dir '$work/cli-cache' --json >'$work/attest.json' &&
      jq -e '.claims.exp > now' '$work/attest.json' >/dev/null"
  done
done
"$cli" evidence --cache-dir "$work/cli-cache" --out "$work/evidence.json"
python3 - "$work/evidence.json" "$work/swapped.json" <<'PY'
import base64, json, sys
body = json.load(open(sys.argv[1]))
info = json.loads(base64.urlsafe_b64decode(body["AttestationInfo"] + "=" * (-len(body["AttestationInfo"]) % 4)))
# Replace the AK with the ephemeral key: a swapped AK that the claims do not name.
info["TpmInfo"]["AikPub"] = info["TpmInfo"]["EncKeyPub"]
body["AttestationInfo"] = base64.urlsafe_b64encode(json.dumps(info).encode()).decode().rstrip("=")
json.dump(body, open(sys.argv[2], "w"))
PY
check "evidence with a swapped AK fails ak_matches_claims" bash -c "
  '$cli' verify '$work/swapped.json' --trust-anchor '$CVM_ATTEST_TRUST_ANCHOR' --json |
    jq -e '.passed == false and (.checks[] | select(.name == \"ak_matches_claims\") | .status == \"fail\")' >/dev/null"

# --- the main job: start, serve, verify --------------------------------------
check "daemon starts and serves a token" start_daemon "$config"
read -r status body <<<"$(api GET /v1/token)"
check "GET /v1/token is 200 application/jwt" test "$status" = 200
token=$(cat "$body")
check "token verifies with openssl against the service's JWKS" verify_with_openssl "$token"
check "token claims carry the SNP attestation type" \
  bash -c "jwt_payload '$token' | jq -e '.\"x-ms-isolation-tee\".\"x-ms-attestation-type\" == \"sevsnpvm\"' >/dev/null"
check "token claims carry the TPM ephemeral key" \
  bash -c "jwt_payload '$token' | jq -e '.\"x-ms-runtime\".keys[0].kid == \"TpmEphemeralEncryptionKey\"' >/dev/null"
check "cvm-attest token --claims prints the same claims" \
  bash -c "diff <('$cli' token --socket '$socket' --claims | jq -S .) <(jwt_payload '$token' | jq -S .) >/dev/null"

nonce=$(head -c 32 /dev/urandom | base64 -w0)
read -r status body <<<"$(api POST /v1/token "{\"nonce\":\"$nonce\"}")"
check "POST /v1/token with a nonce is 200" test "$status" = 200
check "nonce-bound token verifies with openssl" verify_with_openssl "$(cat "$body")"
check "nonce-bound token carries the nonce" \
  bash -c "jwt_payload \"\$(cat '$body')\" | jq -e --arg n '$nonce' '.nonce == \$n' >/dev/null"

read -r status body <<<"$(api POST /v1/token '{"nonce":""}')"
check "empty nonce is 400" test "$status" = 400
long=$(head -c 51 /dev/urandom | base64 -w0)
read -r status body <<<"$(api POST /v1/token "{\"nonce\":\"$long\"}")"
check "51-byte nonce is 400" test "$status" = 400
read -r status body <<<"$(api POST /v1/token "{\"nonce\":\"$nonce\",\"extra\":1}")"
check "unknown JSON field is 400" test "$status" = 400
read -r status body <<<"$(api GET /v1/status)"
check "status reports ready" bash -c "jq -e '.state == \"ready\"' '$body' >/dev/null"
read -r status body <<<"$(api GET /metrics)"
check "metrics count a successful attestation" \
  grep -q 'cvm_attest_attestations_total{protocol="azure-guest",result="success"}' "$body"
read -r status body <<<"$(api POST /v1/evidence "{\"nonce\":\"$nonce\"}")"
check "POST /v1/evidence returns evidence that verifies offline" \
  bash -c "'$cli' verify '$body' --trust-anchor '$CVM_ATTEST_TRUST_ANCHOR' >/dev/null 2>&1 || jq -e .AttestationInfo '$body' >/dev/null"

# --- concurrency: 100 identical nonce requests share one attestation --------
before=$(curl -s --unix-socket "$socket" http://localhost/metrics |
  awk -F' ' '/^cvm_attest_attestations_total/ {sum += $2} END {print sum + 0}')
shared=$(head -c 16 /dev/urandom | base64 -w0)
# One process opens 100 connections, then sends every request at once, so
# they all arrive while the first attestation is still running.
python3 - "$socket" "$shared" >"$work/concurrent.txt" <<'PY'
import json, socket, sys, threading
path, nonce = sys.argv[1], sys.argv[2]
body = json.dumps({"nonce": nonce}).encode()
request = (b"POST /v1/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
connections = []
for _ in range(100):
    connection = socket.socket(socket.AF_UNIX)
    connection.settimeout(60)
    connection.connect(path)
    connections.append(connection)
barrier = threading.Barrier(len(connections))
statuses = [None] * len(connections)
def run(index, connection):
    barrier.wait()
    connection.sendall(request)
    data = b""
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    statuses[index] = data.split(b" ", 2)[1].decode() if data else "none"
threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(connections)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("\n".join(statuses))
PY
after=$(curl -s --unix-socket "$socket" http://localhost/metrics |
  awk -F' ' '/^cvm_attest_attestations_total/ {sum += $2} END {print sum + 0}')
check "100 concurrent identical nonce requests all get 200" test "$(grep -c '^200$' "$work/concurrent.txt")" -eq 100
check "100 concurrent identical nonce requests cause one attestation" test $((after - before)) -eq 1

# --- access control: another uid is refused ---------------------------------
chmod 0666 "$socket"
chmod 0755 "$(dirname "$socket")"
cp "$config" "$work/config.orig"
jq '.access.token = {"users": ["root"]}' "$work/config.orig" >"$config"
kill -HUP "$daemon_pid"
sleep 0.5
refused=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
  curl -s --unix-socket "$socket" -o /dev/null -w '%{http_code}' http://localhost/v1/token)
check "SIGHUP applies new access rules: uid 65534 gets 403" test "$refused" = 403
check "the refusal is logged with uid and pid" grep -q 'Refused /v1/token for uid 65534 pid' "$work/daemon.log"
read -r status body <<<"$(api GET /v1/token)"
check "root still gets the cached token after SIGHUP" test "$status" = 200
check "SIGHUP keeps the cached token" cmp -s "$body" <(printf '%s' "$token")

echo '{"socket": {"mode": "not octal"}}' >"$config"
kill -HUP "$daemon_pid"
sleep 0.5
check "an invalid configuration on SIGHUP is rejected and logged" \
  grep -q 'Failed to reload the configuration, keeping the old one' "$work/daemon.log"
read -r status body <<<"$(api GET /v1/token)"
check "the daemon keeps serving after a rejected reload" test "$status" = 200
cp "$work/config.orig" "$config"

# --- outage: serve the cached token until expiry, then 503, then recover ----
check "SIGTERM stops within 5 seconds" stop_daemon
check "no token or nonce appears in the logs" \
  bash -c "! grep -qF '$token' '$work/daemon.log' && ! grep -qF '$nonce' '$work/daemon.log' && ! grep -qF '$(echo "$token" | cut -d. -f2)' '$work/daemon.log'"

if [ -n "${CVM_ATTEST_PEERS_CONTROL:-$CVM_ATTEST_ENDPOINT}" ]; then
  ca=(--cacert "$CVM_ATTEST_CA_FILE")
  curl -s "${ca[@]}" -X POST -d '{"lifetime_seconds": 6}' "$CVM_ATTEST_ENDPOINT/control/token" -o /dev/null
  jq '.token.retry_base_seconds = 1 | .token.retry_max_seconds = 2' "$config" >"$work/short.json"
  check "daemon starts with short-lived tokens" start_daemon "$work/short.json"
  socket=$(jq -r .socket.path "$work/short.json")
  curl -s "${ca[@]}" -X POST -d '{"path": "/attest", "status": 503, "count": -1}' \
    "$CVM_ATTEST_ENDPOINT/control/faults" -o /dev/null
  read -r status body <<<"$(api GET /v1/token)"
  check "during an outage the still-valid token is served" test "$status" = 200
  sleep 7
  read -r status body <<<"$(api GET /v1/token)"
  check "after expiry the daemon answers 503, never an expired token" test "$status" = 503
  check "the 503 names the reason" grep -q 'expired' "$body"
  curl -s "${ca[@]}" -X POST -d '{"clear": true}' "$CVM_ATTEST_ENDPOINT/control/faults" -o /dev/null
  curl -s "${ca[@]}" -X POST -d '{"lifetime_seconds": 28800}' "$CVM_ATTEST_ENDPOINT/control/token" -o /dev/null
  recovered=""
  for _ in $(seq 1 60); do
    read -r status body <<<"$(api GET /v1/token)"
    [ "$status" = 200 ] && recovered=yes && break
    sleep 0.5
  done
  check "the daemon recovers when the service returns" test "$recovered" = yes
  stop_daemon >/dev/null
  socket=$(jq -r .socket.path "$config")
fi

# --- the socket: stale file replaced, non-socket refused --------------------
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$socket"
check "a stale socket file is replaced" start_daemon "$config"
stop_daemon >/dev/null
rm -f "$socket"
echo "not a socket" >"$socket"
"$daemon" --config "$config" >"$work/nonsocket.log" 2>&1
check "a path that is not a socket is refused" grep -q 'exists and is not a socket' "$work/nonsocket.log"
check "the regular file is left alone" grep -q 'not a socket' "$socket"
rm -f "$socket"

# --- systemd: READY=1 on a notify socket, and socket activation -------------
notify="$work/notify.sock"
python3 - "$notify" >"$work/notify.txt" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
while True:
    message = s.recv(4096).decode()
    print(message, flush=True)
    if "READY=1" in message:
        break
PY
listener=$!
sleep 0.3
NOTIFY_SOCKET="$notify" "$daemon" --config "$config" >>"$work/daemon.log" 2>&1 &
daemon_pid=$!
wait "$listener"
check "READY=1 arrives on the notify socket" grep -q 'READY=1' "$work/notify.txt"
read -r status body <<<"$(api GET /v1/token)"
check "READY=1 came after the first token" test "$status" = 200
stop_daemon >/dev/null

activated="$work/activated.sock"
jq --arg s "$activated" '.socket.path = $s' "$config" >"$work/activated.json"
systemd-socket-activate -l "$activated" "$daemon" --config "$work/activated.json" >>"$work/daemon.log" 2>&1 &
activator=$!
for _ in $(seq 1 50); do [ -S "$activated" ] && break; sleep 0.1; done
status=$(curl -s -m 30 --unix-socket "$activated" -o /dev/null -w '%{http_code}' http://localhost/v1/status)
check "socket activation through systemd-socket-activate serves" test "$status" = 200
kill -TERM "$activator" 2>/dev/null
wait "$activator" 2>/dev/null

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
