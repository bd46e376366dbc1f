#!/bin/sh
# Mint a new Stripe secret key and print it (one line, nothing else on stdout).
# A real script calls Stripe's API here, authenticated with an admin credential
# from your environment; this example prints a random stand-in.
set -eu
cat > /dev/null   # the current key (old_value: true); a real script would use it
printf 'sk_live_%s\n' "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
