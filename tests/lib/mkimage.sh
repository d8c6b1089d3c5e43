#!/usr/bin/env bash
# mkimage.sh - builds the container images the docker tests need, offline:
# no registry is reachable, so a Debian root made by debootstrap (cached as
# a tarball under /var/tmp/lambdafs-images) is imported, and our own
# runtime files are layered on top through a container and `docker commit`.
#
#   tests/lib/mkimage.sh rootfs         # only the cached tarball (~35 s once)
#   tests/lib/mkimage.sh images         # the images below (needs DOCKER_HOST)
#
# Images:
#   lambdafs-test/python:3.11    laid out like AWS's python base image:
#       /lambda-entrypoint.sh, the runtime client in /var/runtime (our own
#       src/runtimes/python/bootstrap.py), LAMBDA_TASK_ROOT=/var/task,
#       ENTRYPOINT /lambda-entrypoint.sh, WORKDIR /var/task. Also tagged
#       public.ecr.aws/lambda/python:3.11 and provided:al2023/al2 when
#       those tags are free, so the default runtime mapping finds them (a
#       real AWS image is never replaced). curl is there for the bash
#       custom runtime example.
#   lambdafs-test/fn:1           an image-packaged function built on it:
#       /var/task/app.py, CMD ["app.handler"].
# Rebuilt only when the runtime files change (label lambdafs.test.sum).
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${LAMBDAFS_IMAGE_CACHE:-/var/tmp/lambdafs-images}
PKGS=python3,curl
ROOTFS=$CACHE/bookworm-${PKGS//,/-}.tar
BASE=lambdafs-test/python:3.11
FN=lambdafs-test/fn:1

mirror() {
	local u
	u=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
	[ -n "$u" ] || u=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	echo "${u:-http://deb.debian.org/debian}"
}

build_rootfs() {
	[ -s "$ROOTFS" ] && return 0
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock -w 900 9
	[ -s "$ROOTFS" ] && return 0
	command -v debootstrap >/dev/null || { echo "mkimage: debootstrap missing (make deps)" >&2; return 1; }
	local dir
	dir=$(mktemp -d "$CACHE/rootfs.XXXXXX")
	echo "mkimage: debootstrap bookworm into $dir (once)" >&2
	if ! debootstrap --variant=minbase --include="$PKGS" bookworm "$dir" "$(mirror)" >"$dir.log" 2>&1; then
		tail -20 "$dir.log" >&2; rm -rf "$dir" "$dir.log"; return 1
	fi
	rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
	tar -C "$dir" -cf "$ROOTFS.tmp" . && mv "$ROOTFS.tmp" "$ROOTFS"
	rm -rf "$dir" "$dir.log"
}

image_sum() { # label value of an image, empty if absent
	docker image inspect -f '{{index .Config.Labels "lambdafs.test.sum"}}' "$1" 2>/dev/null || true
}

# commit_layer IMAGE SRC_DIR TAG SUM CHANGE...: SRC_DIR's tree copied onto
# IMAGE's root, committed as TAG with the --change instructions
commit_layer() {
	local from=$1 src=$2 tag=$3 sum=$4 c; shift 4
	local changes=(--change "LABEL lambdafs.test.sum=$sum")
	for c in "$@"; do changes+=(--change "$c"); done
	c=$(docker create "$from" /bin/true)
	tar -C "$src" -c . | docker cp - "$c:/"
	docker commit "${changes[@]}" "$c" "$tag" >/dev/null
	docker rm "$c" >/dev/null
}

build_images() {
	local sum stage raw=lambdafs-test/bookworm:${PKGS//,/-}
	sum=$( { cat "$TOP/src/runtimes/python/bootstrap.py" "$0"; } | sha256sum | cut -c1-16)
	if [ "$(image_sum "$BASE")" != "$sum" ]; then
		build_rootfs
		docker image inspect "$raw" >/dev/null 2>&1 ||
			docker import "$ROOTFS" "$raw" >/dev/null
		stage=$(mktemp -d)
		mkdir -p "$stage/var/runtime" "$stage/var/task" "$stage/opt"
		cat >"$stage/lambda-entrypoint.sh" <<'SH'
#!/bin/sh
# as in AWS's base images: the handler is the only argument
if [ $# -ne 1 ]; then
	echo "entrypoint requires the handler name to be the first argument" 1>&2
	exit 142
fi
export _HANDLER="$1"
RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
	echo "AWS_LAMBDA_RUNTIME_API is not set (no emulator in this image)" 1>&2
	exit 1
fi
exec $RUNTIME_ENTRYPOINT
SH
		cat >"$stage/var/runtime/bootstrap" <<'SH'
#!/bin/sh
exec /usr/bin/python3 /var/runtime/bootstrap.py
SH
		cp "$TOP/src/runtimes/python/bootstrap.py" "$stage/var/runtime/"
		chmod 755 "$stage/lambda-entrypoint.sh" "$stage/var/runtime/bootstrap"
		commit_layer "$raw" "$stage" "$BASE" "$sum" \
			'ENV LAMBDA_TASK_ROOT=/var/task' \
			'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
			'ENV LANG=en_US.UTF-8' 'ENV TZ=:/etc/localtime' \
			'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin' \
			'WORKDIR /var/task' \
			'ENTRYPOINT ["/lambda-entrypoint.sh"]'
		rm -rf "$stage"
	fi
	# the default mapping's names, unless a real image holds them
	for t in python:3.11 provided:al2023 provided:al2; do
		t=public.ecr.aws/lambda/$t
		if ! docker image inspect "$t" >/dev/null 2>&1 ||
		   [ -n "$(image_sum "$t")" ]; then
			docker tag "$BASE" "$t"
		fi
	done
	if [ "$(image_sum "$FN")" != "$sum" ]; then
		stage=$(mktemp -d)
		mkdir -p "$stage/var/task"
		cat >"$stage/var/task/app.py" <<'PY'
import os
import platform


def handler(event, context):
    print("image function says hello")
    return {
        "image": True,
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
        "cwd": os.getcwd(),
        "event": event,
        "python": platform.python_version(),
        "function": context.function_name,
    }
PY
		commit_layer "$BASE" "$stage" "$FN" "$sum" 'CMD ["app.handler"]'
		rm -rf "$stage"
	fi
}

case ${1:-images} in
rootfs) build_rootfs ;;
images) build_images ;;
*) echo "usage: $0 rootfs|images" >&2; exit 2 ;;
esac
