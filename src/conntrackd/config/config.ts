/**
 * conntrackd's configuration, as the config file (see parse.ts) describes it,
 * with every default filled in. This is the contract between the parser and
 * the daemon: the daemon never looks at the file's text.
 *
 * Field names follow the file's keywords (lowerCamelCase); units are the
 * file's (seconds, bytes, counts).
 */

/** `Syslog` facility names 1.4.7 accepts, `on` being `daemon`. */
export type SyslogFacility = 'daemon' | 'local0' | 'local1' | 'local2' | 'local3' | 'local4' | 'local5' | 'local6' | 'local7';

/** `Filter { Address … }`: one address or network. */
export interface AddressRule {
  family: 4 | 6;
  /** Text form as written, without the prefix length. */
  address: string;
  /** Prefix length; 32 / 128 for a host address. */
  prefix: number;
}

/** `Accept` keeps only what is listed; `Ignore` drops what is listed. */
export type FilterPolicy = 'accept' | 'ignore';

export interface FilterConfig {
  /** `Filter From Kernelspace`: also attach the filter to the event socket as BPF. */
  kernelspace: boolean;
  /** IP protocol numbers. */
  protocol?: { policy: FilterPolicy; protocols: number[] };
  address?: { policy: FilterPolicy; addresses: AddressRule[] };
  /** TCP states as the kernel numbers them (1 SYN_SENT … 9 SYN_SENT2; LISTEN is 10 as in 1.4.7). */
  state?: { policy: FilterPolicy; states: number[] };
}

export interface GeneralConfig {
  hashSize: number; // HashSize [65536]
  hashLimit: number; // HashLimit [262144]
  /** LogFile: undefined = off; `on` = /var/log/conntrackd.log. */
  logFile?: string;
  /** Syslog: undefined = off. */
  syslog?: SyslogFacility;
  lockFile: string; // LockFile [/var/lock/conntrackd.lock]
  /** UNIX { Path }: undefined when the file has no UNIX section. */
  unixPath?: string;
  /** NetlinkBufferSize / SocketBufferSize: undefined = the system default. */
  netlinkBufferSize?: number;
  /** NetlinkBufferSizeMaxGrowth and aliases. */
  netlinkBufferSizeMaxGrowth?: number;
  /** NetlinkOverrunResync: seconds, 0 = off [on = 30]. */
  netlinkOverrunResync: number;
  netlinkEventsReliable: boolean; // [off]
  eventIterationLimit: number; // [100]
  /** PollSecs: undefined = event mode. */
  pollSecs?: number;
  filter?: FilterConfig;
  /** Scheduler { Type; Priority }; the daemon's default is RR 99 when absent. */
  scheduler?: { type: 'RR' | 'FIFO' | 'OTHER'; priority: number };
  /** Systemd on|off [on]. */
  systemd: boolean;
}

export type SyncMode = 'ftfw' | 'notrack' | 'alarm';

export type ChannelKind = 'udp' | 'multicast' | 'tcp';

/** One `UDP`, `Multicast` or `TCP` block of `Sync`. */
export interface ChannelConfig {
  kind: ChannelKind;
  /** Marked `Default`: the initially active link. */
  isDefault: boolean;
  family: 4 | 6;
  /** UDP/TCP: local bind address; Multicast: the group. */
  address?: string;
  /** UDP/TCP: peer address. */
  destination?: string;
  /** Multicast: IPv4_interface (the local address of the link). */
  interfaceAddress?: string;
  interface?: string;
  /** UDP/TCP: Port; Multicast: Group (a UDP port). */
  port?: number;
  sndSocketBuffer?: number;
  rcvSocketBuffer?: number;
  checksum: boolean; // [on]
  /** TCP only [128]. */
  errorQueueLength?: number;
}

export interface SyncConfig {
  mode: SyncMode;
  resendQueueSize: number; // [131072]
  ackWindowSize: number; // [300]
  commitTimeout?: number;
  purgeTimeout: number; // [60]
  refreshTime: number; // [60]
  cacheTimeout: number; // [180]
  disableExternalCache: boolean;
  disableInternalCache: boolean;
  startupResync: boolean;
  channels: ChannelConfig[];
  tcpWindowTracking: boolean; // Options { TCPWindowTracking } [off]
  /** Options { ExpectationSync }: undefined = off, 'all' = on, else the helper names. */
  expectationSync?: 'all' | string[];
}

export interface StatsConfig {
  /** LogFile: undefined = off; `on` = /var/log/conntrackd-stats.log. */
  logFile?: string;
  syslog?: SyslogFacility;
}

export interface HelperPolicy {
  name: string;
  expectMax?: number;
  expectTimeout?: number;
}

export interface HelperConfig {
  setup: boolean;
  types: Array<{ name: string; family: 4 | 6; protocol: 'tcp' | 'udp'; queueNum?: number; queueLen?: number; policies: HelperPolicy[] }>;
}

export interface Config {
  general: GeneralConfig;
  /** At most one of sync and stats (both is a fatal config error); neither is legal and runs no mode. */
  sync?: SyncConfig;
  stats?: StatsConfig;
  helper?: HelperConfig;
}
