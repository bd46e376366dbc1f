#!/bin/sh
# Revoke the previous key; sealedcfg runs this only after the new one is written.
set -eu
cat > /dev/null   # the old key on stdin; a real script expires it through the API
echo "stripe: previous key of $SEALEDCFG_PATH revoked" >&2
