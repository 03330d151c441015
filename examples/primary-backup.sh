#!/bin/sh
#
# primary-backup.sh: keepalived's notify script for two firewalls that
# replicate their connection tracking tables with conntrackd (Sync mode).
# keepalived runs it each time the vrrp_sync_group holding the virtual
# addresses changes state on this node:
#
#   primary  this node has just taken the virtual addresses. Write the flows
#            the old primary replicated here into the kernel (-c), empty both
#            caches (-f), read this node's own kernel table back into the
#            internal cache (-R) and send all of it to the new backup (-B).
#   backup   this node has just given the addresses up. Start the daemon if it
#            does not answer -s (a stale lock file is removed first), let the
#            kernel's now useless entries expire after PurgeTimeout (-t), and
#            ask the new primary for its flows (-n).
#   fault    this node cannot serve: only -t.
#
# The verbs and the steps are those of the example shipped with
# conntrack-tools 1.4.7, so a keepalived.conf written for that example works
# unchanged. A step that fails is logged and the next step still runs: a
# half-done fail-over keeps more connections alive than an aborted one.
#
# Environment (defaults in brackets):
#   CONNTRACKD         the conntrackd command, arguments allowed
#                      [this package's bin/conntrackd.js when the script sits
#                      in the package, else conntrackd from PATH]
#   CONNTRACKD_CONFIG  its configuration file [/etc/conntrackd/conntrackd.conf]
#   CONNTRACKD_LOCK    the LockFile that configuration names [/var/lock/conntrack.lock]
#
# Messages go to syslog (tag primary-backup) and to stderr.

here=$(dirname "$0")
if [ -z "$CONNTRACKD" ]; then
  if [ -f "$here/../bin/conntrackd.js" ]; then
    CONNTRACKD="$here/../bin/conntrackd.js"
  else
    CONNTRACKD=conntrackd
  fi
fi
CONNTRACKD_CONFIG=${CONNTRACKD_CONFIG:-/etc/conntrackd/conntrackd.conf}
CONNTRACKD_LOCK=${CONNTRACKD_LOCK:-/var/lock/conntrack.lock}

say() {
  echo "primary-backup: $*" >&2
  logger -t primary-backup -- "$*" 2>/dev/null
  return 0
}

# step OPTION... : one conntrackd request; a failure is logged, not fatal.
step() {
  # CONNTRACKD is split into words on purpose: it may be "node .../conntrackd.js".
  $CONNTRACKD -C "$CONNTRACKD_CONFIG" "$@" || say "ERROR: conntrackd $* failed (exit $?)"
}

case "$1" in
  primary)
    step -c
    step -f
    step -R
    step -B
    ;;
  backup)
    if ! $CONNTRACKD -C "$CONNTRACKD_CONFIG" -s >/dev/null 2>&1; then
      if [ -f "$CONNTRACKD_LOCK" ]; then
        say "WARNING: conntrackd was not stopped cleanly; removing its lock file $CONNTRACKD_LOCK"
        rm -f "$CONNTRACKD_LOCK"
      fi
      if ! $CONNTRACKD -C "$CONNTRACKD_CONFIG" -d; then
        say "ERROR: cannot start conntrackd"
        exit 1
      fi
    fi
    step -t
    step -n
    ;;
  fault)
    step -t
    ;;
  *)
    say "ERROR: unknown state transition \`$1'"
    echo "Usage: primary-backup.sh {primary|backup|fault}" >&2
    exit 1
    ;;
esac
exit 0
