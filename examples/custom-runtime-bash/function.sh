# The handler: the event is $1, the response is what it prints.
# shellcheck shell=bash
handler() {
	local event=$1
	echo "handling $event" 1>&2
	case $event in
	*'"fail"'*) return 1 ;;
	*'"sleep"'*) sleep 30 ;;
	*'"crash"'*) kill -9 $$ ;; # the whole runtime dies
	esac
	printf '{"echo":%s}' "$event"
}
