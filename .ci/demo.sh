#!/usr/bin/env bash
# End-to-end demo on the shipped fixtures, in a temp dir: keygen, encrypt,
# show the sealed file, decrypt (byte-exact), verify, tamper, refusal.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
[ -t 1 ] || step() { printf '\n== %s\n' "$*"; }

step "sealedcfg --version"
sealedcfg --version

step "keygen: a random 256-bit key, written 0600"
sealedcfg keygen -o demo.key
ls -l demo.key | cut -d' ' -f1
export SEALEDCFG_KEY_FILE="$work/demo.key"

mkdir config
cp "$here/fixtures/profiles/prod.yaml" "$here/fixtures/profiles/staging.yaml" config/
cp config/prod.yaml prod.orig.yaml

step "encrypt config/*.yaml (hosts and ports stay plaintext)"
sealedcfg encrypt config/prod.yaml config/staging.yaml --plain '(^|\.)(host|port|name)$'

step "the sealed file: keys, comments and layout readable, values sealed"
cat config/prod.yaml

step "decrypt: byte for byte the original"
sealedcfg decrypt config/prod.yaml > prod.decrypted.yaml
cmp prod.decrypted.yaml prod.orig.yaml && echo "identical to the original ($(wc -c < prod.orig.yaml) bytes)"

step "verify (every value opens, MAC and key commitment hold)"
sealedcfg verify config/prod.yaml config/staging.yaml

step "verify --no-decrypt (structure only, no key needed: for hooks and CI)"
env -u SEALEDCFG_KEY_FILE sealedcfg verify --no-decrypt config/prod.yaml

step "tamper: move one sealed value onto another key"
python3 - config/prod.yaml <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
user = re.search(r"^  user: (\S+)", text, re.M).group(1)
password = re.search(r"^  password: (\S+)", text, re.M).group(1)
text = text.replace(user, "@@").replace(password, user).replace("@@", password)
open(path, "w").write(text)
print("swapped the tokens of database.user and database.password")
PY
set +e
sealedcfg decrypt config/prod.yaml > /dev/null
code=$?
set -e
echo "decrypt refused with exit code $code"
[ "$code" -eq 4 ]

step "wrong key: the same refusal, no hint which check failed"
sealedcfg keygen -o other.key
set +e
SEALEDCFG_KEY_FILE="$work/other.key" sealedcfg decrypt config/staging.yaml > /dev/null
code=$?
set -e
echo "exit code $code"
[ "$code" -eq 4 ]
printf '\ndemo finished: all steps behaved as expected\n'
