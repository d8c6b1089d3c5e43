#!/usr/bin/env bash
# --docker-network NET: containers on a bridge network reach their Runtime
# API at the network's gateway (this host's address on the bridge), and
# other containers of that network by name, as a function talking to a
# database container would. The Runtime API listens on the gateway only.
# Errors: a network that does not exist, --docker-network none.
# shellcheck disable=SC2320 # echo's status is the write's: the invocation's
. "$(dirname "$0")/lib.sh"
require_fuse
require_docker
NET=lfs-t540-$$
NETGW=lfs-t540g-$$
SRV=
net_cleanup() {
	[ -n "$SRV" ] && docker rm -f "$SRV" >/dev/null 2>&1
	docker network rm "$NET" "$NETGW" >/dev/null 2>&1
}
trap 'net_cleanup; cleanup' EXIT
# a subnet unlikely to be in use; the gateway is not recorded in IPAM
# then (lambdafs reads the bridge interface's address), while the second
# network names its gateway explicitly
for n in $(seq 200 250); do
	docker network create -d bridge --subnet "172.31.$n.0/24" "$NET" >/dev/null 2>&1 && break
done
docker network inspect "$NET" >/dev/null 2>&1 || skip_all "docker: cannot create a bridge network here"
SUB=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' "$NET")
GW=${SUB%.0/24}.1
for m in $(seq $((n + 1)) 251); do
	docker network create -d bridge --subnet "172.31.$m.0/24" --gateway "172.31.$m.254" "$NETGW" >/dev/null 2>&1 && break
done

# a peer container on the network: answers "pong" on TCP 7000
SRV=lfs-t540-peer-$$
docker run -d --name "$SRV" --network "$NET" --entrypoint /usr/bin/python3 lambdafs-test/python:3.11 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7000)); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"pong"); c.close()' >/dev/null

mount_fs --executor docker --docker-network "$NET"
F=$MNT/functions/net
mkdir "$F"
cat > "$WORK/lambda_function.py" <<PY
import os, socket
def lambda_handler(event, context):
    c = socket.create_connection(("$SRV", 7000), timeout=5)
    peer = c.recv(16).decode(); c.close()
    return {"api": os.environ["AWS_LAMBDA_RUNTIME_API"], "peer": peer}
PY
(cd "$WORK" && zip -q net.zip lambda_function.py)
cp "$WORK/net.zip" "$F/code.zip"
echo '{}' > "$F/invoke"; rc=$?
assert_eq "$rc" 0 "a function on a bridge network runs"
out=$(cat "$F/invoke")
api=$(json_get "$out" api)
assert_eq "${api%:*}" "$GW" "AWS_LAMBDA_RUNTIME_API is the network's gateway"
assert_eq "$(json_get "$out" peer)" "pong" "it reaches another container of the network by name"
inst=$(ls "$F/instances")
ctr=$(json_get "$F/instances/$inst" container)
assert_eq "$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$ctr")" "$NET" "the container is on that network"
assert_eq "$(json_get "$MNT/status" docker.network)" "$NET" "status shows the network"
# the Runtime API listens on the gateway address only (not 0.0.0.0)
listen=$(python3 - "${api##*:}" <<'PY'
import sys
port = int(sys.argv[1])
for line in open("/proc/net/tcp").readlines()[1:]:
    f = line.split()
    ip, p = f[1].split(":")
    if int(p, 16) == port and f[3] == "0A":
        b = bytes.fromhex(ip)[::-1]
        print(".".join(str(x) for x in b))
PY
)
assert_eq "$listen" "$GW" "the Runtime API listens on $GW only"
for i in 1 2 3; do echo "{\"i\":$i}" > "$F/invoke"; done
assert_eq "$(ls "$F/instances" | wc -l)" "1" "warm on the network"
umount_fs

# a network whose gateway IPAM records
if docker network inspect "$NETGW" >/dev/null 2>&1; then
	mount_fs --executor docker --docker-network "$NETGW"
	mkdir "$MNT/functions/gw"
	cp "$WORK/net.zip" "$MNT/functions/gw/code.zip"
	printf 'import os\ndef lambda_handler(e, c):\n    return os.environ["AWS_LAMBDA_RUNTIME_API"]\n' > "$WORK/lambda_function.py"
	(cd "$WORK" && rm -f gw.zip && zip -q gw.zip lambda_function.py)
	cp "$WORK/gw.zip" "$MNT/functions/gw/code.zip"
	echo '{}' > "$MNT/functions/gw/invoke"
	assert_match "$(cat "$MNT/functions/gw/invoke")" "^\"172\\.31\\.$m\\.254:[0-9]+\"$" "IPAM's Gateway is used when recorded"
	umount_fs
else
	ok "# SKIP no second network could be created"
fi

# errors: a network that does not exist; none
mount_fs --executor docker --docker-network lfs-no-such-net
mkdir "$MNT/functions/x"
cp "$WORK/gw.zip" "$MNT/functions/x/code.zip"
out=$(invoke_errno "$MNT/functions/x/invoke" '{}')
assert_eq "$(sed -n 1p <<<"$out")" "ENOEXEC" "a network that does not exist: ENOEXEC"
assert_match "$(sed -n 2p <<<"$out")" "network 'lfs-no-such-net' does not exist in dockerd.*docker network create" "the error names the network and the fix"
umount_fs
assert_fails_with "none: the runtime could not reach" "--docker-network none is refused at start" \
	"$LAMBDAFS" -f --state-dir "$WORK/none" --docker-network none "$WORK/nomnt"

done_testing
