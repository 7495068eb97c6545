#!/usr/bin/env bash
# The newcomer's path from the README, replayed (CI runs it on a fresh clone): `npm install`, then
# `npm run dev` on a free port, then one curl flow against it: register, read the activation mail
# from the development outbox, open the link, sign in. Stops the server it started.
set -euo pipefail
cd "$(dirname "$0")/.."

port=$(node -e 'const s=require("net").createServer().listen(0,()=>{console.log(s.address().port);s.close()})')
base="http://localhost:$port"
log=$(mktemp)
state=$(mktemp -d)

echo "== npm install"
npm install --no-audit --no-fund </dev/null

echo "== npm run dev -- --port $port"
# Own process group, so stopping it stops wrangler and workerd too.
setsid npm run dev -- --port "$port" --persist-to "$state" >"$log" 2>&1 </dev/null &
dev=$!
stop() {
  kill -TERM -- "-$dev" 2>/dev/null || true
  sleep 1
  kill -KILL -- "-$dev" 2>/dev/null || true
  rm -rf "$state"
}
trap stop EXIT

for _ in $(seq 1 240); do
  if curl -fsS -o /dev/null "$base/health" 2>/dev/null; then break; fi
  if ! kill -0 "$dev" 2>/dev/null; then echo "npm run dev exited:"; cat "$log"; exit 1; fi
  sleep 0.5
done
curl -fsS -o /dev/null "$base/health" || { echo "npm run dev did not answer /health:"; tail -40 "$log"; exit 1; }
grep -q "Ready on" "$log" || { echo "no 'Ready on' line from wrangler:"; tail -40 "$log"; exit 1; }

json() { node -e "let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{const v=JSON.parse(d);console.log(eval('v'+process.argv[1]))})" "$1"; }
email="newcomer-$RANDOM$RANDOM@example.com"
password="Newcomer-$RANDOM-$RANDOM-pw"

echo "== register $email"
curl -fsS -H 'content-type: application/json' -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/auth/register" >/dev/null

echo "== activation link from $base/_dev/outbox"
link=$(curl -fsS "$base/_dev/outbox?to=$email" | json '[0].data.link')
case "$link" in
  "$base/auth/activate?ticket="*) ;;
  *) echo "the mailed link does not point at the port served on: $link"; exit 1 ;;
esac

echo "== open the link"
status=$(curl -s -o /dev/null -w '%{http_code}' "$link")
[ "$status" = 302 ] || { echo "activation answered $status"; exit 1; }

echo "== sign in"
token=$(curl -fsS -H 'content-type: application/json' -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/auth/login" | json '.jwt_token')
[ "${#token}" -gt 100 ] || { echo "no access token"; exit 1; }
echo "newcomer path: 1 passed, 0 failed"
