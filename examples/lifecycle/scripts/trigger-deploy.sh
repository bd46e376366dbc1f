#!/bin/sh
# on_rotate callback: told the file, path, event and metadata, never the value.
echo "deploy triggered: $SEALEDCFG_EVENT of $SEALEDCFG_PATH in $SEALEDCFG_FILE" >&2
