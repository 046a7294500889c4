#!/usr/bin/env bash
# Integration test of scripts/dev-env against real swtpm, tpm2-tools and
# OpenSSL: starts an emulated confidential VM in a temporary directory,
# checks what it provisioned, renews the HCL report through the user-data
# index, attests the report to the loopback attestation service, and checks
# that `down` leaves no process behind.
#
# Usage: dev_env_test.sh PARAVISOR_DELAY_SECONDS
# Environment: CVM_EMULATOR, CVM_TEST_PEERS and CVM_ATTEST name the binaries
# under test.
# Exit status: 0 pass, 1 fail, 77 skipped (a required tool is missing).
set -euo pipefail

delay=${1:?usage: dev_env_test.sh PARAVISOR_DELAY_SECONDS}
root=$(cd "$(dirname "$0")/../.." && pwd)
dev_env="$root/scripts/dev-env"
cvm_attest=${CVM_ATTEST:-$root/build/bin/cvm-attest}
export CVM_EMULATOR=${CVM_EMULATOR:-$root/build/bin/cvm-emulator}
export CVM_TEST_PEERS=${CVM_TEST_PEERS:-$root/build/bin/cvm-test-peers}

for tool in swtpm tpm2_nvread tpm2_eventlog tpm2_pcrread openssl python3 curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed (scripts/install-deps installs it)"
    exit 77
  fi
done
for binary in "$CVM_EMULATOR" "$CVM_TEST_PEERS" "$cvm_attest"; do
  [ -x "$binary" ] || { echo "FAIL: $binary is not built"; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/dev_env_test.XXXXXX")
cvm="$work/cvm"
cleanup() {
  "$dev_env" down "$cvm" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failures=0
pass() { echo "ok - $*"; }
failed() {
  echo "not ok - $*"
  failures=$((failures + 1))
}
# check DESCRIPTION COMMAND...: records the outcome of one assertion.
check() {
  local description=$1
  shift
  if "$@"; then pass "$description"; else failed "$description"; fi
}

# True while a process exists and has not exited. An exited child of PID 1
# may stay a zombie for a few seconds until PID 1 reaps it.
running() {
  local state
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Prints the runtime claims of an HCL report file.
hcl_claims() {
  python3 - "$1" <<'EOF'
import struct
import sys

blob = open(sys.argv[1], "rb").read()
size = struct.unpack_from("<I", blob, 0x4D0)[0]
sys.stdout.write(blob[0x4D4:0x4D4 + size].decode())
EOF
}

# Checks the report's binding: REPORT_DATA = SHA-256(claims) followed by 32 zero bytes.
claims_bound() {
  python3 - "$1" <<'EOF'
import hashlib
import struct
import sys

blob = open(sys.argv[1], "rb").read()
size = struct.unpack_from("<I", blob, 0x4D0)[0]
claims = blob[0x4D4:0x4D4 + size]
report_data = blob[0x20 + 0x50:0x20 + 0x90]
sys.exit(0 if report_data == hashlib.sha256(claims).digest() + bytes(32) else 1)
EOF
}

# Prints the JSON value at a path of keys and array indices, read from stdin.
json_field() {
  python3 -c '
import json
import sys

value = json.load(sys.stdin)
for key in sys.argv[1:]:
    value = value[int(key)] if isinstance(value, list) else value[key]
print(value)' "$@"
}

stopped() { ! running "$1"; }

# Prints the value line under a top-level key of tpm2_readpublic output.
yaml_value() { awk -v key="$1:" '$1 == key { getline; print $2; exit }' "$2"; }

not_contains() { [[ $1 != *"$2"* ]]; }
not_succeeds() { ! "$@" >/dev/null 2>&1; }

# True while a member of the process group has not exited.
group_running() {
  ps -e -o pgid=,stat= | awk -v group="$1" '$1 == group && $2 !~ /^[ZX]/ { found = 1 } END { exit !found }'
}
group_stopped() { ! group_running "$1"; }

verify_report() {
  "$cvm_attest" report verify --hcl "$1" --vcek "$CVM_ATTEST_VCEK_CHAIN" "${@:2}" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------
echo "# up with a paravisor delay of ${delay}s"
start_ns=$(date +%s%N)
if ! "$dev_env" up "$cvm" --paravisor-delay "$delay" 2>"$work/up.log"; then
  cat "$work/up.log"
  echo "FAIL: dev-env up failed"
  exit 1
fi
echo "# dev-env up took $((($(date +%s%N) - start_ns) / 1000000)) ms (including the RSA-4096 chain)"
check "env file written" test -f "$cvm/env"
# shellcheck source=/dev/null
. "$cvm/env"
check "TCTI is swtpm on loopback" grep -Eq '^swtpm:host=127\.0\.0\.1,port=[0-9]+$' <<<"$CVM_ATTEST_TCTI"
check "event log variable names a file" test -s "$CVM_ATTEST_EVENT_LOG"
check "trust anchor variable names the ARK" grep -q 'BEGIN CERTIFICATE' "$CVM_ATTEST_TRUST_ANCHOR"
check "VCEK chain holds three certificates" test "$(grep -c 'BEGIN CERTIFICATE' "$CVM_ATTEST_VCEK_CHAIN")" -eq 3
check "dev-env directory variable" test "$CVM_ATTEST_DEV_ENV_DIR" = "$(cd "$cvm" && pwd)"
export TPM2TOOLS_TCTI=$CVM_ATTEST_TCTI

swtpm_pid=$(cat "$cvm/swtpm.pid")
loop_pid=$(cat "$cvm/paravisor.pid")
check "swtpm is running" running "$swtpm_pid"
check "paravisor loop is running" running "$loop_pid"

"$dev_env" up "$cvm" 2>"$work/up-again.log"
check "second up reports the running environment" grep -q 'already running' "$work/up-again.log"
check "second up keeps swtpm" test "$(cat "$cvm/swtpm.pid")" = "$swtpm_pid"

# ---------------------------------------------------------------------------
echo "# TPM objects"
tpm2_getcap handles-persistent >"$work/persistent"
check "EK persisted at 0x81010001" grep -qi '0x81010001' "$work/persistent"
check "AK persisted at 0x81000003" grep -qi '0x81000003' "$work/persistent"
check "no transient objects loaded" test -z "$(tpm2_getcap handles-transient)"
check "no sessions loaded" test -z "$(tpm2_getcap handles-loaded-session)"

tpm2_readpublic -c 0x81000003 -f pem -o "$work/ak.pem" >"$work/ak.yaml"
ak_attributes=$(awk '/^attributes:/ { getline; print $2 }' "$work/ak.yaml")
for attribute in fixedtpm fixedparent sensitivedataorigin userwithauth noda restricted sign; do
  check "AK attribute $attribute" grep -qw "$attribute" <<<"${ak_attributes//|/ }"
done
check "AK is RSA-2048" grep -q '^bits: 2048' "$work/ak.yaml"
check "AK scheme is RSASSA" test "$(yaml_value scheme "$work/ak.yaml")" = rsassa
check "AK scheme hash is SHA-256" test "$(yaml_value scheme-halg "$work/ak.yaml")" = sha256

tpm2_nvreadpublic >"$work/nv.yaml"
nv_attributes() { awk -v index_line="$1:" '$1 == index_line { found = 1 } found && /friendly:/ && ++n == 2 { print $2; exit }' "$work/nv.yaml"; }
nv_size() { awk -v index_line="$1:" '$1 == index_line { found = 1 } found && $1 == "size:" { print $2; exit }' "$work/nv.yaml"; }
for index in 0x1400001 0x1400002 0x1c101d0; do
  attributes=$(nv_attributes "$index")
  check "NV $index is ownerread and ownerwrite" grep -Eq '^(ownerwrite\|ownerread)(\|written)?$' <<<"$attributes"
done
check "user-data index holds 64 bytes" test "$(nv_size 0x1400002)" = 64

tpm2_nvread -C o 0x01C101D0 -o "$work/ak-cert.der" 2>/dev/null
check "AK certificate parses" openssl x509 -inform der -in "$work/ak-cert.der" -noout
valid_for_days() { openssl x509 -inform der -in "$1" -noout -checkend $(($2 * 24 * 3600)) >/dev/null; }
check "AK certificate valid for more than 90 days" valid_for_days "$work/ak-cert.der" 91
issuer=$(openssl x509 -inform der -in "$work/ak-cert.der" -noout -issuer)
check "AK certificate not from the Azure provisioning CA" \
  not_contains "${issuer^^}" "MICROSOFT AZURE TRUSTED VM RSA"
check "AK certificate certifies the AK" test \
  "$(openssl x509 -inform der -in "$work/ak-cert.der" -noout -pubkey)" = "$(cat "$work/ak.pem")"

# ---------------------------------------------------------------------------
echo "# HCL report"
tpm2_nvread -C o 0x01400001 -o "$work/hcl.bin" 2>/dev/null
check "report fills its NV index exactly" test "$(stat -c %s "$work/hcl.bin")" = "$(nv_size 0x1400001)"
check "report is at most 2048 bytes" test "$(stat -c %s "$work/hcl.bin")" -le 2048
check "report verifies with the local ARK" verify_report "$work/hcl.bin" --trust-anchor "$CVM_ATTEST_TRUST_ANCHOR"
set +e
verify_report "$work/hcl.bin"
status=$?
set -e
check "report fails without the trust anchor (exit 1)" test "$status" -eq 1
check "REPORT_DATA binds the claims" claims_bound "$work/hcl.bin"

hcl_claims "$work/hcl.bin" >"$work/claims.json"
claims_n=$(json_field keys 0 n <"$work/claims.json")
ak_modulus=$(openssl rsa -pubin -in "$work/ak.pem" -noout -modulus | cut -d= -f2)
claims_modulus=$(python3 -c 'import base64, sys; n = sys.argv[1]; print(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)).hex().upper())' "$claims_n")
check "HCLAkPub kid" test "$(json_field keys 0 kid <"$work/claims.json")" = HCLAkPub
check "HCLAkPub equals the AK at 0x81000003" test "$claims_modulus" = "$ak_modulus"
check "initial user data is zero" test "$(json_field user-data <"$work/claims.json")" = "$(printf '%0128d' 0)"
check "secure boot claimed" test "$(json_field vm-configuration secure-boot <"$work/claims.json")" = True

# ---------------------------------------------------------------------------
echo "# the agent's TPM commands"
quiet() { "$@" >/dev/null 2>&1; }
check "cvm-attest tpm detect recognises the emulated CVM" quiet "$cvm_attest" tpm detect
check "cvm-attest tpm nvread succeeds" quiet "$cvm_attest" tpm nvread --out "$work/hcl-agent.bin"
check "cvm-attest tpm nvread returns the whole report" cmp -s "$work/hcl-agent.bin" "$work/hcl.bin"
check "cvm-attest tpm quote signs with the AK" quiet "$cvm_attest" tpm quote --nonce 0102030405060708

# ---------------------------------------------------------------------------
echo "# event log"
tpm2_pcrread sha1:0,1,2,3,4,5,6,7,8,9+sha256:0,1,2,3,4,5,6,7,8,9 >"$work/pcrs.yaml"
python3 - "$CVM_ATTEST_EVENT_LOG" >"$work/replay.txt" <<'EOF'
# Replays a crypto-agile log per the TCG PC Client profile: EV_NO_ACTION
# events are not extended.
import hashlib
import struct
import sys

log = open(sys.argv[1], "rb").read()
sizes = {0x0004: ("sha1", 20), 0x000B: ("sha256", 32)}
pcrs = {bank: {i: bytes(size) for i in range(24)} for bank, size in sizes.values()}
_, _, spec_size = struct.unpack_from("<II20xI", log, 0)
offset = 32 + spec_size
while offset < len(log):
    pcr, event_type, count = struct.unpack_from("<III", log, offset)
    offset += 12
    digests = {}
    for _ in range(count):
        algorithm = struct.unpack_from("<H", log, offset)[0]
        bank, size = sizes[algorithm]
        digests[bank] = log[offset + 2:offset + 2 + size]
        offset += 2 + size
    event_size = struct.unpack_from("<I", log, offset)[0]
    offset += 4 + event_size
    if event_type == 0x3:
        continue
    for bank, digest in digests.items():
        pcrs[bank][pcr] = hashlib.new(bank, pcrs[bank][pcr] + digest).digest()
for bank in ("sha1", "sha256"):
    for i in range(10):
        print(f"{bank} {i} {pcrs[bank][i].hex()}")
EOF
# Prints "BANK PCR HEX" lines from the PCR listing of tpm2_pcrread or of
# tpm2_eventlog's "pcrs:" section, read from stdin.
pcr_lines() {
  awk '/^ *sha(1|256):/ { bank = $1; sub(":", "", bank) }
       bank != "" && $2 == ":" { value = tolower($3); sub("^0x", "", value); print bank, $1, value }'
}
pcr_lines <"$work/pcrs.yaml" >"$work/tpm-pcrs.txt"
check "TPM PCR read returned 20 values" test "$(wc -l <"$work/tpm-pcrs.txt")" -eq 20
check "event log replays to the PCR values (both banks, PCRs 0-9)" diff -u "$work/replay.txt" "$work/tpm-pcrs.txt"

tpm2_eventlog "$CVM_ATTEST_EVENT_LOG" >"$work/eventlog.yaml" 2>"$work/eventlog.err"
check "tpm2_eventlog reports no warnings" test ! -s "$work/eventlog.err"
check "tpm2_eventlog lists EV_EFI_VARIABLE_DRIVER_CONFIG" grep -q 'EV_EFI_VARIABLE_DRIVER_CONFIG' "$work/eventlog.yaml"
sed -n '/^pcrs:/,$p' "$work/eventlog.yaml" | pcr_lines | awk '$2 <= 9' >"$work/eventlog-pcrs.txt"
# NOTE: tpm2_eventlog 5.4 (Debian 12) also extends the zero digests of
# EV_NO_ACTION events, which the TCG profile forbids and later releases no
# longer do, so PCR 0 (the StartupLocality event) is left to the replay above.
check "tpm2_eventlog replay equals the PCR values (PCRs 1-9)" diff -u \
  <(grep -v '^sha[0-9]* 0 ' "$work/eventlog-pcrs.txt") <(grep -v '^sha[0-9]* 0 ' "$work/tpm-pcrs.txt")

# ---------------------------------------------------------------------------
echo "# user-data refresh"
head -c 64 /dev/urandom >"$work/user-data.bin"
user_data_hex=$(od -An -v -tx1 "$work/user-data.bin" | tr -d ' \n')
write_ns=$(date +%s%N)
tpm2_nvwrite -C o 0x01400002 -i "$work/user-data.bin"
if [ "$delay" -ge 1 ]; then
  # The loop waits `delay` seconds after it detects the change, so a read that
  # ends less than `delay` seconds after the write began returns the previous
  # report. A read that ends later (a heavily loaded machine) proves nothing.
  tpm2_nvread -C o 0x01400001 -o "$work/hcl-early.bin" 2>/dev/null
  early_ms=$((($(date +%s%N) - write_ns) / 1000000))
  if [ "$early_ms" -lt $((delay * 1000)) ]; then
    check "report not renewed before the paravisor delay" \
      test "$(hcl_claims "$work/hcl-early.bin" | json_field user-data)" = "$(printf '%0128d' 0)"
  else
    echo "# early read ended ${early_ms} ms after the write; not checked"
  fi
fi
deadline=$((SECONDS + delay + 15))
renewed=no
while [ "$SECONDS" -lt "$deadline" ]; do
  tpm2_nvread -C o 0x01400001 -o "$work/hcl-new.bin" 2>/dev/null
  current=$(hcl_claims "$work/hcl-new.bin" | json_field user-data)
  if [ "${current,,}" = "$user_data_hex" ]; then
    renewed=yes
    break
  fi
  sleep 0.2
done
echo "# renewed report seen after $((($(date +%s%N) - write_ns) / 1000000)) ms"
check "claims carry the written user data" test "$renewed" = yes
check "renewed report verifies" verify_report "$work/hcl-new.bin" --trust-anchor "$CVM_ATTEST_TRUST_ANCHOR"
check "renewed REPORT_DATA binds the claims" claims_bound "$work/hcl-new.bin"
check "renewed report keeps the AK" test "$(hcl_claims "$work/hcl-new.bin" | json_field keys 0 n)" = "$claims_n"
check "paravisor loop logged the renewal" grep -q 'renewed the HCL report' "$cvm/paravisor.log"

# ---------------------------------------------------------------------------
echo "# test peers"
peers_pid=$(cat "$cvm/peers.pid")
check "cvm-test-peers is running" running "$peers_pid"
check "attestation endpoint is https on loopback" grep -Eq '^https://127\.0\.0\.1:[0-9]+$' <<<"$CVM_ATTEST_ENDPOINT"
check "IMDS is plain http on loopback" grep -Eq '^http://127\.0\.0\.1:[0-9]+$' <<<"$CVM_ATTEST_IMDS_URL"
check "KDS is https on loopback" grep -Eq '^https://127\.0\.0\.1:[0-9]+$' <<<"$CVM_ATTEST_KDS_URL"
check "CA file variable names a certificate" openssl x509 -in "$CVM_ATTEST_CA_FILE" -noout
check "status reports the peers" grep -q '^cvm-test-peers: running' <("$dev_env" status "$cvm")

curl_get() { curl -sS --fail --max-time 10 "$@"; }
curl_get --cacert "$CVM_ATTEST_CA_FILE" "$CVM_ATTEST_ENDPOINT/certs" >"$work/jwks.json"
check "attestation service serves its JWKS" test "$(json_field keys 0 kty <"$work/jwks.json")" = RSA
check "attestation service is not trusted without the CA" not_succeeds curl_get "$CVM_ATTEST_ENDPOINT/certs"
curl_get -H Metadata:true "$CVM_ATTEST_IMDS_URL/metadata/THIM/amd/certification" >"$work/thim.json"
check "IMDS serves the emulated VCEK" test "$(json_field vcekCert <"$work/thim.json")" = "$(cat "$CVM_ATTEST_VCEK")"
check "IMDS requires the Metadata header" not_succeeds curl_get "$CVM_ATTEST_IMDS_URL/metadata/THIM/amd/certification"
product=$(json_field product <"$cvm/pki/platform.json")
curl_get --cacert "$CVM_ATTEST_CA_FILE" "$CVM_ATTEST_KDS_URL/vcek/v1/$product/cert_chain" >"$work/kds-chain.pem"
check "KDS serves the emulated chain" cmp -s "$work/kds-chain.pem" "$CVM_ATTEST_CERT_CHAIN"

# A fault injected over HTTP answers the next request only.
curl_get --cacert "$CVM_ATTEST_CA_FILE" -d '{"path": "/certs", "status": 503, "retry_after": 2}' \
  "$CVM_ATTEST_ENDPOINT/control/faults" >/dev/null
curl -sS --max-time 10 --cacert "$CVM_ATTEST_CA_FILE" -D "$work/fault-headers.txt" -o /dev/null \
  "$CVM_ATTEST_ENDPOINT/certs" || true
check "injected fault answers 503" grep -q '^HTTP/[0-9.]* 503' "$work/fault-headers.txt"
check "injected fault sends Retry-After" grep -qi '^retry-after: 2' "$work/fault-headers.txt"
check "the request after the fault succeeds" curl_get --cacert "$CVM_ATTEST_CA_FILE" -o /dev/null "$CVM_ATTEST_ENDPOINT/certs"

# Compares DIR/config.json with the environment and prints each key that differs.
config_matches() {
  python3 - "$CVM_ATTEST_CONFIG" "$cvm" "$CVM_ATTEST_TCTI" "$CVM_ATTEST_ENDPOINT" "$CVM_ATTEST_CA_FILE" \
    "$CVM_ATTEST_IMDS_URL" "$CVM_ATTEST_KDS_URL" <<'EOF'
import json
import sys

path, directory, tcti, endpoint, ca_file, imds, kds = sys.argv[1:]
config = json.load(open(path))
expected = {
    ("tpm", "tcti"): tcti,
    ("tpm", "event_log"): directory + "/binary_bios_measurements",
    ("attestation", "endpoint"): endpoint,
    ("attestation", "protocol"): "azure-guest",
    ("attestation", "ca_file"): ca_file,
    ("imds_url",): imds,
    ("kds_url",): kds,
    ("certificates", "cache_dir"): directory + "/cache",
    ("certificates", "trust_anchors"): [directory + "/pki/ark.pem"],
    ("socket", "path"): directory + "/agent.sock",
    ("socket", "group"): "",
    ("logging", "level"): "info",
}
wrong = 0
for keys, value in expected.items():
    actual = config
    for key in keys:
        actual = actual.get(key) if isinstance(actual, dict) else None
    if actual != value:
        print(f"{'.'.join(keys)} is {actual!r}, expected {value!r}")
        wrong += 1
sys.exit(1 if wrong else 0)
EOF
}
check "config.json configures the daemon for this environment" config_matches

# The current HCL report as a SevSnpVm request: the emulated chip's report,
# its claims and its VCEK chain, verified by the peer against the local ARK.
tpm2_nvread -C o 0x01400001 -o "$work/hcl-attest.bin" 2>/dev/null
python3 - "$work/hcl-attest.bin" "$CVM_ATTEST_VCEK_CHAIN" >"$work/sevsnpvm.json" <<'EOF'
import base64
import json
import struct
import sys

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

blob = open(sys.argv[1], "rb").read()
report = blob[0x20:0x20 + 0x4A0]
size = struct.unpack_from("<I", blob, 0x4D0)[0]
claims = blob[0x4D4:0x4D4 + size]
chain = open(sys.argv[2], "rb").read()
proof = json.dumps({"SnpReport": b64url(report), "VcekCertChain": b64url(chain)}).encode()
print(json.dumps({"report": b64url(proof), "runtimeData": {"data": b64url(claims), "dataType": "JSON"},
                  "nonce": "dev-env-test"}))
EOF
curl -sS --max-time 30 --cacert "$CVM_ATTEST_CA_FILE" -H 'Content-Type: application/json' \
  --data-binary "@$work/sevsnpvm.json" -o "$work/attest-response.json" -w '%{http_code}' \
  "$CVM_ATTEST_ENDPOINT/attest/SevSnpVm?api-version=2022-08-01" >"$work/attest-status.txt" || true
check "SevSnpVm attestation of the emulated report succeeds" test "$(cat "$work/attest-status.txt")" = 200
[ "$(cat "$work/attest-status.txt")" = 200 ] || cat "$work/attest-response.json"
# Prints the JSON payload of a compact JWS read from stdin.
jwt_payload() {
  python3 -c '
import base64
import sys

part = sys.stdin.read().strip().split(".")[1]
sys.stdout.write(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode())'
}
json_field token <"$work/attest-response.json" | jwt_payload >"$work/token-claims.json" || true
check "token carries the nonce" test "$(json_field nonce <"$work/token-claims.json")" = dev-env-test
check "token carries the report's REPORT_DATA" test "$(json_field x-ms-sevsnpvm-reportdata <"$work/token-claims.json")" = \
  "$(od -An -v -tx1 -j $((0x20 + 0x50)) -N 64 "$work/hcl-attest.bin" | tr -d ' \n')"
check "token claims the compliance status" \
  test "$(json_field x-ms-compliance-status <"$work/token-claims.json")" = azure-compliant-cvm

# ---------------------------------------------------------------------------
echo "# down"
"$dev_env" down "$cvm" 2>"$work/down.log"
check "down stops swtpm" stopped "$swtpm_pid"
check "down stops the paravisor loop" stopped "$loop_pid"
check "down stops cvm-test-peers" stopped "$peers_pid"
check "down leaves no cvm-test-peers process for this directory" \
  not_succeeds pgrep -f -- "cvm-test-peers --pki $(cd "$cvm" && pwd)/pki"
check "down removes config.json" test ! -e "$cvm/config.json"
check "down leaves no process of the loop's group" group_stopped "$loop_pid"
check "down removes the env file" test ! -e "$cvm/env"
check "down on a stopped directory succeeds" "$dev_env" down "$cvm"
check "down on a missing directory succeeds" "$dev_env" down "$work/never-started"

if [ "$failures" -gt 0 ]; then
  echo "FAIL: $failures check(s) failed; logs in $cvm are removed on exit:"
  tail -n 20 "$cvm/paravisor.log" "$cvm/swtpm.log" "$cvm/peers.log" 2>/dev/null || true
  exit 1
fi
echo "PASS"
