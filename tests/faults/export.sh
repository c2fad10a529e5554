#!/bin/sh
# `fresh export` writes to the stdout stream it was given: appending
# redirections keep the earlier content, a redirection of a ( ... ) group
# keeps what the group wrote before, pipes and sockets work. (It used to
# reopen /dev/stdout by name, which truncates a file and fails on a socket.)
set -u
FRESH=$1
PY=${2:-/usr/bin/python3}
dir=$(mktemp -d "${TMPDIR:-/tmp}/fresh-export-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

"$FRESH" bench branin_mf --workers 1 --budget 2 --storage s.db > /dev/null 2>&1 || fail "bench"
"$FRESH" export s.db > ref.csv || fail "export"
n=$(wc -l < ref.csv)
[ "$n" -gt 10 ] || fail "export wrote $n lines"

echo "earlier line" > a.csv
"$FRESH" export s.db >> a.csv || fail "export >>"
[ "$(head -1 a.csv)" = "earlier line" ] || fail ">> lost the earlier content"
[ "$(wc -l < a.csv)" -eq $((n + 1)) ] || fail ">> wrote $(wc -l < a.csv) lines, expected $((n + 1))"

( echo first; "$FRESH" export s.db --format jsonl; echo last ) > g.txt || fail "group"
[ "$(head -1 g.txt)" = first ] || fail "the group's first line was overwritten"
[ "$(tail -1 g.txt)" = last ] || fail "the group's last line is missing"
[ "$(wc -l < g.txt)" -eq $((n + 1)) ] || fail "group: $(wc -l < g.txt) lines, expected $((n + 1))"

[ "$("$FRESH" export s.db | head -1 | cut -c1-4)" = "job," ] || fail "pipe"

# a socket as stdout
"$PY" - "$FRESH" s.db "$n" <<'PYEOF' || fail "socket"
import socket, subprocess, sys
fresh, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
a, b = socket.socketpair()
p = subprocess.Popen([fresh, "export", db], stdout=b)
b.close()
data = b""
while True:
    chunk = a.recv(65536)
    if not chunk:
        break
    data += chunk
rc = p.wait()
lines = data.decode().count("\n")
if rc != 0 or lines != n:
    sys.exit("socket: exit %d, %d lines, expected %d" % (rc, lines, n))
PYEOF
echo "ok: >>, ( ... ) >, pipe and socket keep every line ($n)"
