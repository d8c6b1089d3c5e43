#!/usr/bin/env bash
# dockerd.sh - a Docker daemon for the docker tests (sourced by lib.sh).
#
#   docker_up     use the daemon DOCKER_HOST or /var/run/docker.sock names;
#                 if none answers, start a private one: its own socket,
#                 pidfile and exec-root under /run, its data-root under
#                 /var/tmp/lambdafs-dockerd (so imported test images survive
#                 between runs), --iptables=false --bridge=none. Exports
#                 DOCKER_HOST. Returns 1 with DOCKER_WHY set if impossible.
#                 DOCKERD_TCP=PORT: the private one also listens on
#                 tcp://127.0.0.1:PORT (to test the remote-daemon paths).
#   docker_down   stops the private daemon (only the pid we started).
#   dockerd_restart  stops and starts the private daemon again (SIGTERM:
#                 dockerd stops its containers on the way out).
#
# DOCKER_WHY is read by the scripts that source this one.
# shellcheck disable=SC2034
#
# Private daemons share the data-root, so one test at a time holds it
# (flock); a second waits.
DOCKERD_PID=
DOCKERD_DIR=/var/tmp/lambdafs-dockerd
DOCKERD_RUN=
DOCKER_WHY=

docker_answers() { # [host]
	local h=${1:-${DOCKER_HOST:-unix:///var/run/docker.sock}}
	case $h in
	unix://*) curl -sf -m 3 --unix-socket "${h#unix://}" http://localhost/_ping >/dev/null 2>&1 ;;
	tcp://*) curl -sf -m 3 "http://${h#tcp://}/_ping" >/dev/null 2>&1 ;;
	*) return 1 ;;
	esac
}

dockerd_start() {
	mkdir -p "$DOCKERD_DIR/root" "$DOCKERD_RUN"
	setsid dockerd --iptables=false --ip-masq=false --bridge=none \
		--data-root "$DOCKERD_DIR/root" --exec-root "$DOCKERD_RUN/exec" \
		--pidfile "$DOCKERD_RUN/dockerd.pid" \
		--host "unix://$DOCKERD_RUN/docker.sock" \
		${DOCKERD_TCP:+--host "tcp://127.0.0.1:$DOCKERD_TCP"} \
		>>"$DOCKERD_RUN/dockerd.log" 2>&1 </dev/null &
	DOCKERD_PID=$!
	for _ in $(seq 1 600); do
		docker_answers "unix://$DOCKERD_RUN/docker.sock" && return 0
		if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
			DOCKER_WHY="dockerd exited at start-up: $(tail -n 3 "$DOCKERD_RUN/dockerd.log" | tr '\n' ' ')"
			DOCKERD_PID=
			return 1
		fi
		sleep 0.1
	done
	DOCKER_WHY="dockerd did not answer within 60 s"
	return 1
}

dockerd_stop() {
	[ -n "$DOCKERD_PID" ] || return 0
	kill "$DOCKERD_PID" 2>/dev/null
	for _ in $(seq 1 300); do
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$DOCKERD_PID" 2>/dev/null
	wait "$DOCKERD_PID" 2>/dev/null
	DOCKERD_PID=
}

docker_up() {
	if docker_answers; then
		export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
		return 0
	fi
	if ! command -v dockerd >/dev/null; then
		DOCKER_WHY="no Docker daemon answers and dockerd is not installed (make deps installs docker.io)"
		return 1
	fi
	if [ "$(id -u)" != 0 ]; then
		DOCKER_WHY="no Docker daemon answers and a private dockerd needs root"
		return 1
	fi
	mkdir -p "$DOCKERD_DIR"
	exec 8>"$DOCKERD_DIR/lock"
	if ! flock -w 900 8; then
		DOCKER_WHY="another test holds the private dockerd for 15 minutes"
		return 1
	fi
	# short: unix socket paths are limited to 108 bytes
	DOCKERD_RUN=$(mktemp -d /run/lfsd.XXXXXX)
	dockerd_start || return 1
	export DOCKER_HOST=unix://$DOCKERD_RUN/docker.sock
}

dockerd_restart() {
	[ -n "$DOCKERD_PID" ] || return 1
	dockerd_stop
	dockerd_start
}

docker_down() {
	[ -n "$DOCKERD_RUN" ] || return 0
	dockerd_stop
	# the exec-root holds containerd's state of this run only
	umount "$DOCKERD_RUN"/exec/netns/* 2>/dev/null
	rm -rf "$DOCKERD_RUN"
	DOCKERD_RUN=
	exec 8>&-
}
