/**
 * Requests of conntrackd's control socket. A client connects to the UNIX
 * stream socket at `General { UNIX { Path } }`, writes one native int (4
 * bytes, little-endian on the x86 and arm64 hosts 1.4.7 runs on) holding one
 * of these codes, then reads plain text until the daemon closes the
 * connection. Unknown codes get an empty reply.
 *
 * The numbers are 1.4.7's wire values (its CT_* / EXP_* / STATS_* request
 * constants); the comment names the client option that sends each.
 */
export enum Request {
  CT_FLUSH_MASTER = 0, // -F ct
  CT_RESYNC_MASTER = 1, // -R ct
  CT_DUMP_INTERNAL = 16, // -i, -i ct
  CT_DUMP_EXTERNAL = 17, // -e, -e ct
  CT_COMMIT = 18, // -c ct
  CT_FLUSH_CACHE = 19, // (no option)
  KILL = 20, // -k
  STATS = 21, // -s, -s ct
  SEND_BULK = 22, // -B
  REQUEST_DUMP = 23, // -n
  CT_DUMP_INT_XML = 24, // -i -x
  CT_DUMP_EXT_XML = 25, // -e -x
  RESET_TIMERS = 26, // -t
  STATS_NETWORK = 28, // -s network
  STATS_CACHE = 29, // -s cache
  STATS_RUNTIME = 30, // -s runtime
  STATS_LINK = 31, // -s link (and its old name -s multicast)
  STATS_RSQUEUE = 32, // -s rsqueue
  CT_FLUSH_INT_CACHE = 33, // -f internal
  CT_FLUSH_EXT_CACHE = 34, // -f external
  STATS_PROCESS = 35, // -s process
  STATS_QUEUE = 36, // -s queue
  EXP_STATS = 37, // -s expect
  EXP_FLUSH_MASTER = 38, // -F expect
  EXP_RESYNC_MASTER = 39, // -R expect
  EXP_DUMP_INTERNAL = 40, // -i expect
  EXP_DUMP_EXTERNAL = 41, // -e expect
  EXP_COMMIT = 42, // -c expect
  ALL_FLUSH_MASTER = 43, // -F
  ALL_RESYNC_MASTER = 44, // -R
  ALL_FLUSH_CACHE = 45, // -f
  ALL_COMMIT = 46, // -c
  EXP_DUMP_INT_XML = 47, // -i expect -x
  EXP_DUMP_EXT_XML = 48, // -e expect -x
}

/** Bytes of the request code a client sends first. */
export const REQUEST_LEN = 4;
