import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Who caused an event: the ` [USERSPACE] portid=P progname=NAME` suffix of
 * `conntrack -E` lines. The event carries the port id of the
 * netlink socket whose request made it; 1.4.7 finds that NETLINK_NETFILTER
 * socket's inode in /proc/net/netlink, then the process holding it — in
 * /proc/P/fd first (a process's first socket gets its pid as port id), then
 * in every /proc/<pid>/fd — and prints the command name from /proc/<pid>/stat.
 * No socket, or no holder: no progname (the process has exited).
 *
 * 1.4.7 reads /proc/net/netlink again for every event, which alone costs it
 * most of a large flush. We read the socket table at most every FRESH_MS,
 * and again on a port id it lacks once MISS_RETRY_MS have passed, so a
 * socket opened since is still found and a closed one is dropped within
 * FRESH_MS. Like 1.4.7 we keep the last (port id, inode) → name answer.
 */

const NETLINK_NETFILTER = 12;
const FRESH_MS = 100;
const MISS_RETRY_MS = 10;

export class ProgramNames {
  /** Port id → socket inode of the NETLINK_NETFILTER sockets when the table was read. */
  private sockets = new Map<number, number>();
  private readAt = -Infinity;
  private last: { portid: number; inode: number; name: string | undefined } | undefined;

  constructor(
    private readonly proc = '/proc',
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The command name of the process holding the socket with this port id, if it can be found. */
  lookup(portid: number): string | undefined {
    const age = this.now() - this.readAt;
    let inode = this.sockets.get(portid);
    if (age > FRESH_MS || (inode === undefined && age > MISS_RETRY_MS)) {
      this.readSockets();
      inode = this.sockets.get(portid);
    }
    if (inode === undefined) return undefined;
    const last = this.last;
    if (last && last.portid === portid && last.inode === inode) return last.name;
    const name = this.holderName(portid, inode);
    this.last = { portid, inode, name };
    return name;
  }

  /** /proc/net/netlink: `sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode`. */
  private readSockets(): void {
    this.readAt = this.now();
    this.sockets = new Map();
    let table: string;
    try {
      table = readFileSync(`${this.proc}/net/netlink`, 'latin1');
    } catch {
      return;
    }
    for (const line of table.split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols.length >= 10 && Number(cols[1]) === NETLINK_NETFILTER) this.sockets.set(Number(cols[2]), Number(cols[9]));
    }
  }

  private holderName(portid: number, inode: number): string | undefined {
    if (this.holds(portid, inode)) return this.commandName(portid);
    let pids: string[];
    try {
      pids = readdirSync(this.proc, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return undefined;
    }
    for (const name of pids) {
      const pid = Number(name);
      if (!/^\d+$/.test(name) || pid <= 1 || pid === portid) continue;
      if (this.holds(pid, inode)) return this.commandName(pid);
    }
    return undefined;
  }

  private holds(pid: number, inode: number): boolean {
    const dir = `${this.proc}/${pid}/fd`;
    const link = `socket:[${inode}]`;
    let fds: string[];
    try {
      fds = readdirSync(dir);
    } catch {
      return false;
    }
    return fds.some((fd) => {
      try {
        return readlinkSync(`${dir}/${fd}`) === link;
      } catch {
        return false;
      }
    });
  }

  /** `%*u (%m[^)]` of /proc/<pid>/stat: the text after the first `(` up to the next `)`. */
  private commandName(pid: number): string | undefined {
    let stat: string;
    try {
      stat = readFileSync(`${this.proc}/${pid}/stat`, 'latin1');
    } catch {
      return undefined;
    }
    const open = stat.indexOf('(');
    const close = stat.indexOf(')', open + 1);
    return open < 0 || close <= open + 1 ? undefined : stat.slice(open + 1, close);
  }
}
