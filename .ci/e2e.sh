#!/usr/bin/env bash
# End to end on this machine: the fake Marketplace, the fake seller backend and `npm run dev` on free ports, the gateway
# pointed at both through a generated settings file (the developer's .dev.vars and local D1 are not touched), then the
# conformance suites and one usage hour through to the fake Marketplace. Everything started here is stopped by process
# group on any exit. Fails on any failed case. Called by .ci/run after `npm test`; runs alone too: `.ci/e2e.sh`.
#
# The self-check (npm run self-check), then suites v2, v1, kit, orders and license (debug cases), then v2 --real (a real
# purchase through both fakes).
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false XDG_CONFIG_HOME="$PWD/.wrangler-config"
SUITES="v2,v1,kit,orders,license"
NODE="$PWD/node_modules/.bin/node"   # the project's Node 22 (type stripping); the machine's may be older
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gateway-e2e.XXXXXX")"
GROUPS_STARTED=()
STARTED_AT=$SECONDS

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pgid in "${GROUPS_STARTED[@]}"; do kill -INT -- "-$pgid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pgid in "${GROUPS_STARTED[@]}"; do kill -0 -- "-$pgid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pgid in "${GROUPS_STARTED[@]}"; do kill -KILL -- "-$pgid" 2>/dev/null || true; done
  if [ "$status" != 0 ]; then
    for log in "$WORK"/*.log; do [ -f "$log" ] && { echo "---- tail of $(basename "$log")"; tail -n 30 "$log"; }; done
    echo "e2e: FAILED (exit $status) after $((SECONDS - STARTED_AT)) s"
  else
    echo "e2e: passed in $((SECONDS - STARTED_AT)) s"
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Each background job in its own process group (job control), so one signal stops npm, wrangler and workerd alike.
set -m
start() { # name, command…: runs it in the background with its log, remembers its process group
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  GROUPS_STARTED+=("$!")
}

# No curl needed: the project's Node fetches (exit 1 when nothing answers).
get() { "$NODE" -e 'fetch(process.argv[1],{signal:AbortSignal.timeout(2000)}).then(r=>r.text()).then(t=>process.stdout.write(t),()=>process.exit(1))' "$1"; }
free_port() { "$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

wait_for() { # name, url, seconds: until the URL answers at all
  local name=$1 url=$2 deadline=$((SECONDS + $3))
  until get "$url" >/dev/null; do
    if [ $SECONDS -ge $deadline ]; then echo "e2e: $name did not answer at $url within $3 s"; return 1; fi
    sleep 0.3
  done
  echo "e2e: $name ready ($url) at $((SECONDS - STARTED_AT)) s"
}

MARKETPLACE_PORT=$(free_port)
SELLER_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
INSPECTOR_PORT=$(free_port)

# The gateway's settings: the committed development values, pointed at the fakes, in webhook mode (real purchases are
# provisioned by the fake seller backend), with a fresh RSA key so the kit's applicationSync runs too.
RSA_KEY=$("$NODE" -e 'const {generateKeyPairSync}=require("crypto");process.stdout.write(generateKeyPairSync("rsa",{modulusLength:3072}).privateKey.export({type:"pkcs8",format:"pem"}).replace(/\n/g,"\\n"))')
{
  cat .dev.vars.example
  echo "MARKETPLACE_API_BASE=\"http://127.0.0.1:$MARKETPLACE_PORT\""
  echo "SELLER_WEBHOOK_URL=\"http://127.0.0.1:$SELLER_PORT/webhook\""
  echo "PROVISIONING_MODE=\"webhook\""
  echo "KIT_RSA_PRIVATE_KEY=\"$RSA_KEY\""
} | grep -v -e '^KIT_RSA_PRIVATE_KEY=""$' -e '^MARKETPLACE_API_BASE="http://127.0.0.1:8790"$' >"$WORK/dev.vars"
SECRET=$(sed -n 's/^SELLER_WEBHOOK_SECRET="\(.*\)"$/\1/p' "$WORK/dev.vars")

start marketplace "$NODE" --experimental-strip-types --no-warnings tools/fake-marketplace/fake-marketplace.ts --port "$MARKETPLACE_PORT" --any-order
start seller "$NODE" --experimental-strip-types --no-warnings tools/fake-seller-backend/fake-seller-backend.ts --port "$SELLER_PORT" --secret "$SECRET"
# A local D1 of its own (--persist-to), migrated here; DEV_FAKES=0 and DEV_CRONS=0: this script runs its own fakes and
# triggers the crons itself.
npx wrangler d1 migrations apply DB --local --persist-to "$WORK/state" >"$WORK/migrate.log" 2>&1
echo "e2e: local D1 migrated at $((SECONDS - STARTED_AT)) s"
DEV_FAKES=0 DEV_CRONS=0 PORT=$GATEWAY_PORT start gateway npm run dev --ignore-scripts -- --persist-to "$WORK/state" --env-file "$WORK/dev.vars" --inspector-port "$INSPECTOR_PORT"
set +m

wait_for "fake Marketplace" "http://127.0.0.1:$MARKETPLACE_PORT/__control/records" 30
wait_for "fake seller backend" "http://127.0.0.1:$SELLER_PORT/__control/deliveries" 30
wait_for "gateway" "http://127.0.0.1:$GATEWAY_PORT/healthz" 90
HEALTH=$(get "http://127.0.0.1:$GATEWAY_PORT/healthz")
case "$HEALTH" in *'"status":"ok"'*) ;; *) echo "e2e: gateway unhealthy: $HEALTH"; exit 1 ;; esac

FAILED=0
# First, while the fake Marketplace's clock is still the real one (usage-hour moves it): the deployment's own check.
ADMIN_TOKEN=$(sed -n 's/^ADMIN_TOKEN="\(.*\)"$/\1/p' "$WORK/dev.vars")
npm run --silent self-check -- --url "http://127.0.0.1:$GATEWAY_PORT" --admin-token "$ADMIN_TOKEN" || FAILED=1
npm run --silent simulate -- --url "http://127.0.0.1:$GATEWAY_PORT/saas" --suite "$SUITES" --env-file "$WORK/dev.vars" || FAILED=1
npm run --silent simulate -- --url "http://127.0.0.1:$GATEWAY_PORT/saas" --suite v2 --real --env-file "$WORK/dev.vars" || FAILED=1
"$NODE" --experimental-transform-types --no-warnings --import ./tools/conformance/hooks.mjs tools/conformance/usage-hour.ts \
  --url "http://127.0.0.1:$GATEWAY_PORT" --marketplace "http://127.0.0.1:$MARKETPLACE_PORT" --seller "http://127.0.0.1:$SELLER_PORT" \
  --env-file "$WORK/dev.vars" || FAILED=1
exit $FAILED
