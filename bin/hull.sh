#!/bin/sh
# hull launcher in /bin/sh: what bin/postbuild.mjs installs as dist/hull-launch (bin/hull points
# there) when no C compiler is around to build bin/launcher.c, which does the same ~1 ms faster.
# Engines may call us with no PATH at all, so nothing here relies on one: the node binary is the one
# recorded at build time (dist/node). NODE_EXTRA_CA_CERTS is dropped: hull makes no TLS connections
# and Node 20 spends ~34 ms loading that file at every start. dist/entry-boot.js runs the bundle
# (bin/bundle.mjs) when it is newer than the tsc output; after a bare `npx tsc -p .` the bundle is
# stale and the tsc output (dist/hull.js) runs instead.
unset NODE_EXTRA_CA_CERTS
case "$0" in
  */*) self=$0 ;;
  *) self=$(command -v -- "$0") ;;
esac
[ -L "$self" ] && self=$(readlink -f -- "$self")
dist=${self%/*}
[ "$dist/hull.bundle.js" -nt "$dist/hull.js" ] && exec "$dist/node" "$dist/entry-boot.js" "$@"
exec "$dist/node" "$dist/hull.js" "$@"
