#!/bin/bash
# The daemon's resident memory (MiB, VmRSS) at start, after setup (one Argon2 hash), after five
# sign-ins one by one and after 20 wrong sign-ins at once, on an empty data folder.
# Usage: host/benches/memory.sh target/release/zondarr [VAR=value ...]   (needs curl)
set -u
BIN=$1; shift
D=$(mktemp -d); PORT=$((20000 + RANDOM % 20000))
env "$@" $BIN --data-dir $D --listen 127.0.0.1:$PORT >/dev/null 2>&1 &
PID=$!
for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$PORT/api/v1/health/live && break; sleep 0.1; done
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' /proc/$PID/status; }
sleep 1; echo -n "start $(rss) "
curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '{"username":"admin","password":"correct-violet-kettle-42"}' http://127.0.0.1:$PORT/api/v1/setup
sleep 1; echo -n "after-setup $(rss) "
for i in 1 2 3 4 5; do curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '{"username":"admin","password":"correct-violet-kettle-42"}' http://127.0.0.1:$PORT/api/v1/auth/login; done
sleep 1; echo -n "after-5-logins $(rss) "
PIDS=""; for i in $(seq 1 20); do curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '{"username":"admin","password":"wrong-password-xx"}' http://127.0.0.1:$PORT/api/v1/auth/login & PIDS="$PIDS $!"; done; wait $PIDS
sleep 1; echo "after-20-parallel-bad $(rss)"
kill $PID; wait $PID 2>/dev/null; rm -rf $D
