#!/usr/bin/env bash
# The usual Unix tools all deploy, and make can depend on code.zip.
. "$(dirname "$0")/lib.sh"
require_fuse
mount_fs
F=$MNT/functions/f
mkdir "$F"
for i in 1 2 3 4 5 6 7; do
	$MKZIP "big:1:$i" "$WORK/v$i.zip"
done
check() { # zip what
	assert_true "$2 deploys" cmp "$1" "$F/code.zip"
	assert_eq "$(json_get "$F/config.json" CodeSize)" "$(stat -c %s "$1")" "$2: CodeSize"
}
cp "$WORK/v1.zip" "$F/code.zip"; check "$WORK/v1.zip" "cp"
cat "$WORK/v2.zip" > "$F/code.zip"; check "$WORK/v2.zip" "cat >"
dd if="$WORK/v3.zip" of="$F/code.zip" bs=4M status=none; check "$WORK/v3.zip" "dd"
if command -v rsync >/dev/null; then
	rsync --inplace "$WORK/v4.zip" "$F/code.zip"; check "$WORK/v4.zip" "rsync --inplace"
else
	diag "rsync not installed"; not_ok "rsync --inplace (rsync missing: make deps)"
fi
install -m 644 "$WORK/v5.zip" "$F/code.zip"; check "$WORK/v5.zip" "install"
python3 -c 'import shutil,sys;shutil.copy(sys.argv[1],sys.argv[2])' "$WORK/v6.zip" "$F/code.zip"
check "$WORK/v6.zip" "python shutil.copy"
cp -p "$WORK/v7.zip" "$F/code.zip"; check "$WORK/v7.zip" "cp -p"

# make: code.zip's mtime is the last deploy
cat > "$WORK/Makefile" <<MK
stamp: $F/code.zip
	@echo rebuilt > stamp
MK
(cd "$WORK" && make -s >/dev/null)
assert_eq "$(cd "$WORK" && make -s -q; echo $?)" "0" "make: up to date after a build"
sleep 1.1
cp "$WORK/v1.zip" "$F/code.zip"
assert_eq "$(cd "$WORK" && make -s -q; echo $?)" "1" "make: out of date after a deploy"
assert_match "$(stat -c %Y "$F/code.zip")" "^$(date +%s | cut -c1-8)" "code.zip mtime is recent"
done_testing
