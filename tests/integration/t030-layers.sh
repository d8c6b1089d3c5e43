#!/usr/bin/env bash
# Layers: publish versions by writing layer.zip, read them unpacked,
# use them from functions (opt/ merges in order, later wins), delete.
. "$(dirname "$0")/lib.sh"
require_fuse
mount_fs
L=$MNT/layers/deps
$MKZIP layer-python "$WORK/l1.zip"
$MKZIP good "$WORK/l2.zip"

assert_true "mkdir layers/deps" mkdir "$L"
assert_true "publish version 1" cp "$WORK/l1.zip" "$L/layer.zip"
assert_eq "$(ls "$L" | tr '\n' ' ')" "1 1.json layer.zip " "listing after the first publish"
assert_true "1/python/mylib.py is there" test -f "$L/1/python/mylib.py"
assert_eq "$(json_get "$L/1.json" Version)" "1" "1.json Version"
assert_eq "$(json_get "$L/1.json" LayerVersionArn)" "arn:aws:lambda:us-east-1:000000000000:layer:deps:1" "1.json LayerVersionArn"
assert_eq "$(json_get "$L/1.json" Content.CodeSize)" "$(stat -c %s "$WORK/l1.zip")" "1.json CodeSize"
assert_true "publish version 2" cp "$WORK/l2.zip" "$L/layer.zip"
assert_true "layer.zip is the latest version" cmp "$WORK/l2.zip" "$L/layer.zip"
assert_fails_with 'Read-only|Permission denied' "layer trees are read-only" touch "$L/2/x"
assert_fails_with 'Invalid argument' "a bad layer zip is refused" bash -c "echo junk | dd of='$L/layer.zip' status=none"
assert_eq "$(ls "$L" | tr '\n' ' ')" "1 1.json 2 2.json layer.zip " "no version for the bad zip"

# a function using layers by name:N and by name (latest)
mkdir "$MNT/layers/other"
$MKZIP node "$WORK/l3.zip"
cp "$WORK/l3.zip" "$MNT/layers/other/layer.zip"
F=$MNT/functions/f
mkdir "$F"
cp "$WORK/l2.zip" "$F/code.zip"
echo '{"Layers": ["deps:1", "other"]}' > "$F/config.json"
assert_eq "$(json_get "$F/config.json" Layers.0.Arn)" "arn:aws:lambda:us-east-1:000000000000:layer:deps:1" "name:N resolved to an ARN"
assert_eq "$(json_get "$F/config.json" Layers.1.Arn)" "arn:aws:lambda:us-east-1:000000000000:layer:other:1" "name resolved to the latest version"
assert_eq "$(json_get "$F/config.json" Layers.0.CodeSize)" "$(stat -c %s "$WORK/l1.zip")" "Layers CodeSize"
assert_eq "$(ls "$F/opt" | tr '\n' ' ')" "$( (unzip -Z1 "$WORK/l1.zip"; unzip -Z1 "$WORK/l3.zip") | cut -d/ -f1 | sort -u | tr '\n' ' ')" "opt/ merges the layers"
assert_true "opt/python/mylib.py readable" cmp "$L/1/python/mylib.py" "$F/opt/python/mylib.py"
# later wins
python3 - "$WORK/over.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("python/mylib.py", "OVERRIDDEN = True\n")
    z.writestr("python/extra.py", "X = 1\n")
PY
mkdir "$MNT/layers/over"
cp "$WORK/over.zip" "$MNT/layers/over/layer.zip"
echo '{"Layers": ["deps:1", "over"]}' > "$F/config.json"
assert_eq "$(cat "$F/opt/python/mylib.py")" "OVERRIDDEN = True" "later layer wins in opt/"
assert_eq "$(ls "$F/opt/python" | tr '\n' ' ')" "extra.py mylib.py " "directories merge"
echo '{"Layers": ["over", "deps:1"]}' > "$F/config.json"
assert_true "order matters: now deps:1 wins" cmp "$L/1/python/mylib.py" "$F/opt/python/mylib.py"
assert_fails_with 'Invalid argument' "two versions of one layer are refused" \
	bash -c "echo '{\"Layers\": [\"deps:1\", \"deps:2\"]}' > '$F/config.json'"

# deleting a version hides it but the function keeps it
assert_true "rmdir layers/deps/1 deletes version 1" rmdir "$L/1"
assert_eq "$(ls "$L" | tr '\n' ' ')" "2 2.json layer.zip " "version 1 gone from the listing"
assert_true "function still sees version 1 in opt/" test -f "$F/opt/python/mylib.py"
mkdir "$MNT/functions/g"
assert_fails_with 'Invalid argument' "a new reference to a deleted version fails" \
	bash -c "echo '{\"Layers\": [\"deps:1\"]}' > '$MNT/functions/g/config.json'"
assert_true "a function that had it may write it back" \
	bash -c "echo '{\"Layers\": [\"over\", \"deps:1\"]}' > '$F/config.json'"
assert_true "version numbers are never reused" cp "$WORK/l1.zip" "$L/layer.zip"
assert_true "new version is 3" test -d "$L/3"
assert_fails_with 'not empty' "rmdir of a layer with versions" rmdir "$MNT/layers/other"

umount_fs
mount_fs
assert_eq "$(ls "$L" | tr '\n' ' ')" "2 2.json 3 3.json layer.zip " "layers persist"
assert_true "function's deleted layer version persists" test -f "$F/opt/python/mylib.py"
done_testing
