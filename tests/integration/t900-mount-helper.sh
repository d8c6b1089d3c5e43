#!/bin/sh
# SPDX-License-Identifier: MIT
#
# t900-mount-helper.sh - mount-helper/mount.lambdafs turns mount(8)'s
# "SOURCE MOUNTPOINT [-sfnv] -o OPTIONS" into a lambdafs command line.
# Nothing is mounted: the helper runs in fake mode (-f) or execs a stub
# "lambdafs" that prints its argv one word per line.
#
# Run: prove -e '' tests/integration/t900-mount-helper.sh   (TAP output)

set -u

cd "$(dirname -- "$0")/../.." || exit 1
helper=mount-helper/mount.lambdafs

tmp=$(mktemp -d "${TMPDIR:-/tmp}/t900.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# A stand-in for the daemon: one argument per line, in brackets.
mkdir "$tmp/bin" "$tmp/sbin" "$tmp/path"
cat >"$tmp/bin/lambdafs" <<'EOF'
#!/bin/sh
for a in "$@"; do
	printf '[%s]\n' "$a"
done
EOF
chmod +x "$tmp/bin/lambdafs"
stub=$tmp/bin/lambdafs

n=0
failed=0

ok() {
	n=$((n + 1))
	printf 'ok %d - %s\n' "$n" "$1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	printf 'not ok %d - %s\n' "$n" "$1"
}

diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "expected:" "$2" "got:" "$1"
	fi
}

# run [ENV=VALUE...] -- ARGS...: run the helper under sh; sets rc, out, err.
run() {
	rc=0
	env "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

helper_run() {
	run LAMBDAFS_BIN="$stub" sh "$helper" "$@"
}

# usage_error DESCRIPTION ARGS...: must exit 1 with one "mount.lambdafs:" line.
usage_error() {
	desc=$1
	shift
	helper_run "$@"
	lines=$(printf '%s\n' "$err" | wc -l)
	if [ "$rc" -eq 1 ] && [ -z "$out" ] && [ "$lines" -eq 1 ] &&
		[ "${err#mount.lambdafs: }" != "$err" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "rc=$rc" "stdout: $out" "stderr: $err"
	fi
}

# ---------- lint ----------

if command -v shellcheck >/dev/null 2>&1; then
	if shellcheck "$helper" >"$tmp/sc" 2>&1; then
		ok "shellcheck $helper"
	else
		not_ok "shellcheck $helper"
		diag "$(cat "$tmp/sc")"
	fi
else
	ok "shellcheck $helper # skip shellcheck not installed"
fi

if [ -x "$helper" ]; then
	ok "helper is executable"
else
	not_ok "helper is executable"
fi

# ---------- fake mode (-f): the command line it would run ----------

helper_run -f -v lambdafs /some/dir -o \
	state-dir=/x,allow_other,nofail,_netdev,max-envs=4,image=python3.12=img:1,image=nodejs20.x=n:2
is "$rc" 0 "fake mount exits 0"
is "$out" "$stub --state-dir /x --max-envs 4 --image python3.12=img:1 --image nodejs20.x=n:2 -o allow_other /some/dir" \
	"fake mount prints exactly the translated command line"
is "$err" "" "fake mount prints nothing on stderr"
case $out in
*nofail* | *_netdev* | *state-dir=* | *max-envs=* | *image=*)
	not_ok "no mount(8) or key=value option leaks into the command line"
	diag "got: $out"
	;;
*) ok "no mount(8) or key=value option leaks into the command line" ;;
esac

# The example from the README: every lambdafs option, flags after the args.
helper_run lambdafs /mnt/lambda -o state-dir=/var/lib/lambdafs,executor=subprocess,http=127.0.0.1:9000,max-envs=10,idle-ttl=300,history=100,docker-network=bridge,allow_other -f
is "$rc:$out" "0:$stub --state-dir /var/lib/lambdafs --executor subprocess --http 127.0.0.1:9000 --max-envs 10 --idle-ttl 300 --history 100 --docker-network bridge -o allow_other /mnt/lambda" \
	"every lambdafs option is translated, -f after the arguments"

# The fstab line: only mount(8) options besides state-dir, so no -o at all.
helper_run lambdafs /mnt/lambda -o state-dir=/var/lib/lambdafs,nofail,_netdev -f
is "$out" "$stub --state-dir /var/lib/lambdafs /mnt/lambda" \
	"fstab options: nofail and _netdev dropped, no empty -o"

helper_run -f -o defaults,auto,noauto,user,users,user=bob,owner,group,nofail,_netdev,x-systemd.automount,X-mount.mkdir,comment=systemd.x,rw lambdafs /m
is "$rc:$out" "0:$stub /m" "every mount(8)-only option is dropped"

helper_run -f -o ro,default_permissions,,allow_other, lambdafs /m
is "$out" "$stub -o ro,default_permissions,allow_other /m" \
	"ro and other FUSE options pass through as one -o, empty items skipped"

# mount(8) as called by libmount: flags first, -t for dotted types,
# repeated and attached -o.
helper_run -snf -o state-dir=/s -oallow_other -t fuse.lambdafs lambdafs /m -o history=5
is "$rc:$out" "0:$stub --state-dir /s --history 5 -o allow_other /m" \
	"grouped flags, -t TYPE, -oLIST and repeated -o"

helper_run -f lambdafs -- -odd
is "$out" "$stub -- -odd" "a mount point that looks like an option is protected by --"

helper_run -f lambdafs "/m n" -o "state-dir=/a b'c"
is "$out" "$stub --state-dir '/a b'\\''c' '/m n'" \
	"the printed command line is shell-quoted"

# The line shipped in examples/fstab.example, as mount(8) would pass it.
line=$(grep -v -e '^#' -e '^[[:space:]]*$' examples/fstab.example)
read -r fs_src fs_mnt fs_type fs_opts fs_rest <<EOF
$line
EOF
is "$fs_type:$fs_rest" "lambdafs:0 0" "examples/fstab.example has one lambdafs line"
helper_run -f "$fs_src" "$fs_mnt" -o "$fs_opts"
is "$rc:$out" "0:$stub --state-dir /var/lib/lambdafs /mnt/lambda" \
	"examples/fstab.example translates to the expected command line"

# ---------- real mode: exec the daemon (a stub here) ----------

helper_run lambdafs "/m n" -o "state-dir=/a b'c,image=python3.12=img:1,allow_other"
is "$rc" 0 "without -f the helper execs lambdafs and returns its status"
is "$out" "$(printf '%s\n' '[--state-dir]' "[/a b'c]" '[--image]' \
	'[python3.12=img:1]' '[-o]' '[allow_other]' '[/m n]')" \
	"lambdafs gets exactly these arguments, no -f, spaces kept"
is "$err" "" "without -v nothing is printed"

helper_run -v lambdafs /m -o state-dir=/s
is "$(printf '%s\n' "$out" | head -n 1):$err" "[--state-dir]:$stub --state-dir /s /m" \
	"-v prints the command line on stderr, then runs it"

printf '#!/bin/sh\nexit 3\n' >"$tmp/path/failing"
chmod +x "$tmp/path/failing"
run LAMBDAFS_BIN="$tmp/path/failing" sh "$helper" lambdafs /m
is "$rc" 3 "lambdafs's exit status is the helper's"

# ---------- finding the binary ----------

cp "$helper" "$tmp/sbin/mount.lambdafs"
run -u LAMBDAFS_BIN sh "$tmp/sbin/mount.lambdafs" -f lambdafs /m
is "$out" "$(cd "$tmp/bin" && pwd -P)/lambdafs /m" "binary found in ../bin next to the helper"

cp "$stub" "$tmp/path/lambdafs"
run -u LAMBDAFS_BIN PATH="$tmp/path:$PATH" sh "$helper" -f lambdafs /m
is "$out" "$tmp/path/lambdafs /m" "binary found on PATH"

run -u LAMBDAFS_BIN PATH=/nonexistent /bin/sh "$helper" -f lambdafs /m
is "$rc:${err%%:*}" "1:mount.lambdafs" "no binary anywhere: exit 1 with a message"

run LAMBDAFS_BIN="$tmp/nonexistent" sh "$helper" lambdafs /m
is "$rc:${err%%:*}" "1:mount.lambdafs" "LAMBDAFS_BIN not executable: exit 1 with a message"

# ---------- bad usage ----------

usage_error "unknown flag" -x lambdafs /m
usage_error "unknown long option" --foo lambdafs /m
usage_error "missing mount point" lambdafs
usage_error "missing source and mount point" -f
usage_error "extra argument" lambdafs /m /extra
usage_error "-o without its argument" lambdafs /m -o
usage_error "lambdafs option without a value" lambdafs /m -o state-dir
usage_error "lambdafs option with an empty value" lambdafs /m -o allow_other,max-envs=

helper_run
if [ "$rc" -eq 1 ] && [ -z "$out" ] && [ "${err#usage: mount.lambdafs}" != "$err" ]; then
	ok "no arguments: usage on stderr, exit 1"
else
	not_ok "no arguments: usage on stderr, exit 1"
	diag "rc=$rc" "stdout: $out" "stderr: $err"
fi

for h in -h --help; do
	helper_run "$h"
	case $rc:$out in
	"0:usage: mount.lambdafs SOURCE MOUNTPOINT"*state-dir=DIR*) ok "$h prints usage on stdout" ;;
	*)
		not_ok "$h prints usage on stdout"
		diag "rc=$rc" "stdout: $out"
		;;
	esac
done

# ---------- other POSIX shells ----------

if command -v bash >/dev/null 2>&1; then
	run LAMBDAFS_BIN="$stub" bash --posix "$helper" -f lambdafs /m -o state-dir=/s,allow_other,nofail
	is "$out" "$stub --state-dir /s -o allow_other /m" "same result under bash --posix"
else
	ok "same result under bash --posix # skip bash not installed"
fi

printf '1..%d\n' "$n"
[ "$failed" -eq 0 ]
