/**
 * 1.4.7's conntrackd.conf grammar as a recursive-descent parser over the
 * lexer's tokens. Each rule's action (a value stored, a warning, a fatal
 * check) runs at the point where the C parser runs it, so that warnings and
 * the first fatal problem come out in 1.4.7's order; result() then fills in
 * the defaults. parse.ts is the public face of it.
 */
import { existsSync } from 'node:fs';
import { formatIPv4, formatIPv6, parseIPv6 } from '../../ctnetlink/address';
import { inetAton } from '../../cli/address-args';
import { atoi, readProtocolsFile, type ProtocolEntry } from '../../cli/protocols';
import type {
  AddressRule,
  ChannelConfig,
  ChannelKind,
  Config,
  FilterConfig,
  FilterPolicy,
  HelperConfig,
  HelperPolicy,
  SyncMode,
  SyslogFacility,
} from './config';
import { helperExists, helperPolicies } from './helpers';
import { Lexer, type Token } from './lexer';

export interface ParseOptions {
  /** Whether a network interface exists (if_nametoindex); default: /sys/class/net of this namespace. */
  interfaceExists?(name: string): boolean;
  /** getprotobyname(): default /etc/protocols. */
  protocolNumber?(name: string): number | undefined;
}

export interface ParseResult {
  config: Config;
  warnings: string[];
  /** Printed when Sync mode starts, not while reading the file (see parse.ts). */
  modeWarnings: string[];
}

/** IFNAMSIZ - 1: if_nametoindex fails for anything longer. */
const IFNAME_MAX = 15;
const MAX_CHANNELS = 4;
/** FILENAME_MAXLEN: longer paths are fatal, and snprintf keeps one byte less. */
const FILENAME_MAX = 256;
/** The UNIX socket path limit 1.4.7 checks (and, through snprintf, one byte less is kept). */
const UNIX_PATH_MAX = 107;
const HELPER_NAME_MAX = 16;
const DEFAULT_LOGFILE = '/var/log/conntrackd.log';
const DEFAULT_STATS_LOGFILE = '/var/log/conntrackd-stats.log';
const DEFAULT_LOCKFILE = '/var/lock/conntrackd.lock';

const FACILITIES: ReadonlySet<string> = new Set(['daemon', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7']);

/** TCP states, numbered as FilterConfig.state documents (the kernel's numbers; LISTEN apart). */
const TCP_STATES: Readonly<Record<string, number>> = {
  SYN_SENT: 1,
  SYN_RECV: 2,
  ESTABLISHED: 3,
  FIN_WAIT: 4,
  CLOSE_WAIT: 5,
  LAST_ACK: 6,
  TIME_WAIT: 7,
  CLOSED: 8,
  LISTEN: 10,
};

function defaultInterfaceExists(name: string): boolean {
  return name.length <= IFNAME_MAX && !name.includes('/') && existsSync(`/sys/class/net/${name}`);
}

let protocolsFile: ProtocolEntry[] | undefined;
function defaultProtocolNumber(name: string): number | undefined {
  protocolsFile ??= readProtocolsFile();
  return protocolsFile.find((e) => e.name === name || e.aliases.includes(name))?.number;
}

/** A channel block while it is read: 1.4.7 fills its slot option by option. */
interface ChannelSlot {
  family?: 4 | 6;
  address?: string;
  destination?: string;
  interfaceAddress?: string;
  interface?: string;
  /** Multicast over IPv6: an interface index was found for it. */
  interfaceIndex6?: boolean;
  port?: number;
  sndSocketBuffer?: number;
  rcvSocketBuffer?: number;
  checksum: boolean;
}

/** A Policy block being read (`leaf`) or complete (`policy`). */
interface PolicyItem {
  kind: 'leaf' | 'policy';
  policy: Required<HelperPolicy>;
}
type HelperItem = { kind: 'queueNum' | 'queueLen'; value: number } | PolicyItem;

/** A fatal problem inside the parser; parseConfig() adds the warnings printed before it. */
export class Fatal extends Error {}

/** 1.4.7's grammar, one method per block; each action runs where the C parser runs it. */
export class Parser {
  readonly warnings: string[] = [];
  private readonly lexer: Lexer;
  private lookahead: Token | undefined;
  private readonly interfaceExists: (name: string) => boolean;
  private readonly protocolNumber: (name: string) => number | undefined;

  // General
  private hashSize = 0;
  private hashLimit = 0;
  private logFile?: string;
  private syslog?: SyslogFacility;
  private lockFile?: string;
  private unixPath?: string;
  private netlinkBufferSize?: number;
  private netlinkBufferSizeMaxGrowth?: number;
  private overrunResync = 0;
  private eventsReliable = false;
  private eventIterationLimit = 0;
  private pollSecs?: number;
  private filter?: FilterConfig;
  private readonly seenAddresses = new Set<string>();
  private schedulerType?: 'RR' | 'FIFO';
  private schedulerPriority = 0;
  private systemd = true;

  // Sync
  private syncSeen = false;
  private statsSeen = false;
  private readonly modes = new Set<SyncMode>();
  private refreshTime = 0;
  private cacheTimeout = 0;
  private commitTimeout = 0;
  private purgeTimeout = 0;
  private resendQueueSize = 0;
  private ackWindowSize = 0;
  private disableExternalCache = false;
  private disableInternalCache = false;
  private startupResync = false;
  private readonly channels: ChannelConfig[] = [];
  private channelKind?: ChannelKind;
  private slot: ChannelSlot = { checksum: true };
  private errorQueueLength = 0;
  private tcpWindowTracking = false;
  /** A later `off` turns it off here; in 1.4.7 it only unsubscribes the expectation events and leaves the rest on. */
  private expectationSync = false;
  /** The helper list only ever grows: a later `on` keeps it, as 1.4.7's filter does. */
  private readonly expectationHelpers: string[] = [];

  // Stats
  private statsLogFile?: string;
  private statsSyslog?: SyslogFacility;

  // Helper
  private helperSeen = false;
  private helperSetup = true;
  private readonly helperTypes: HelperConfig['types'] = [];
  private readonly helperStack: HelperItem[] = [];

  constructor(text: string, options: ParseOptions) {
    this.lexer = new Lexer(text, (message) => this.warnings.push(message));
    this.interfaceExists = options.interfaceExists ?? defaultInterfaceExists;
    this.protocolNumber = options.protocolNumber ?? defaultProtocolNumber;
  }

  // -------------------------------------------------------------------------
  // Tokens

  private peek(): Token {
    this.lookahead ??= this.lexer.next();
    return this.lookahead;
  }

  private take(): Token {
    const token = this.peek();
    this.lookahead = undefined;
    return token;
  }

  private syntaxError(): never {
    const token = this.peek();
    throw new Fatal(`parsing config file in line (${token.line}), symbol '${token.text}': syntax error`);
  }

  private isKeyword(name: string): boolean {
    const token = this.peek();
    return token.kind === 'keyword' && token.value === name;
  }

  private isChar(ch: string): boolean {
    const token = this.peek();
    return token.kind === 'char' && token.value === ch;
  }

  private expectChar(ch: string): void {
    if (!this.isChar(ch)) this.syntaxError();
    this.take();
  }

  private expect(kind: Token['kind']): Token {
    if (this.peek().kind !== kind) this.syntaxError();
    return this.take();
  }

  private expectKeyword(name: string): void {
    if (!this.isKeyword(name)) this.syntaxError();
    this.take();
  }

  private number(): number {
    return atoi(this.expect('number').text);
  }

  private bool(): boolean {
    const token = this.peek();
    if (token.kind !== 'on' && token.kind !== 'off') this.syntaxError();
    this.take();
    return token.kind === 'on';
  }

  /** `{ item* }` where `item` consumes one entry and returns false when the lookahead starts none. */
  private block(item: () => boolean): void {
    this.expectChar('{');
    while (!this.isChar('}')) if (!item()) this.syntaxError();
    this.take();
  }

  private warn(message: string): void {
    this.warnings.push(message);
  }

  // -------------------------------------------------------------------------
  // File

  parse(): void {
    for (;;) {
      const token = this.peek();
      if (token.kind === 'eof') return;
      if (token.kind !== 'keyword') this.syntaxError();
      switch (token.value) {
        case 'General':
          this.take();
          this.block(() => this.generalLine());
          break;
        case 'Sync':
          this.take();
          this.block(() => this.syncLine());
          if (this.statsSeen) throw new Fatal("cannot use both `Stats' and `Sync' clauses in conntrackd.conf");
          this.syncSeen = true;
          break;
        case 'Stats':
          this.take();
          this.block(() => this.statsLine());
          if (this.syncSeen) throw new Fatal("cannot use both `Stats' and `Sync' clauses in conntrackd.conf");
          this.statsSeen = true;
          break;
        case 'Helper':
          this.take();
          this.block(() => this.helperLine());
          this.helperSeen = true;
          break;
        default:
          this.syntaxError();
      }
    }
  }

  // -------------------------------------------------------------------------
  // General

  private generalLine(): boolean {
    const token = this.peek();
    if (token.kind !== 'keyword') return false;
    switch (token.value) {
      case 'HashSize':
        this.take();
        this.hashSize = this.number();
        return true;
      case 'HashLimit':
        this.take();
        this.hashLimit = this.number();
        return true;
      case 'LogFile':
        this.take();
        this.logFile = this.logFileValue(this.logFile, DEFAULT_LOGFILE, 'LogFile');
        return true;
      case 'Syslog':
        this.take();
        this.syslog = this.syslogValue(this.syslog, this.statsSyslog, '');
        return true;
      case 'LockFile':
        this.take();
        this.lockFile = this.pathValue('LockFile path', FILENAME_MAX);
        return true;
      case 'UNIX':
        this.take();
        this.block(() => this.unixLine());
        return true;
      case 'NetlinkBufferSize':
        this.take();
        this.netlinkBufferSize = this.number() >>> 0;
        return true;
      case 'NetlinkBufferSizeMaxGrowth':
        this.take();
        this.netlinkBufferSizeMaxGrowth = this.number() >>> 0;
        return true;
      case 'EventIterationLimit':
        this.take();
        this.eventIterationLimit = this.number() >>> 0;
        return true;
      case 'PollSecs': {
        this.take();
        const secs = this.number() >>> 0;
        if (secs === 0) throw new Fatal("`PollSecs' clause must be > 0");
        this.pollSecs = secs;
        return true;
      }
      case 'Filter':
        this.take();
        this.filterBlock();
        return true;
      case 'NetlinkOverrunResync': {
        this.take();
        const next = this.peek();
        if (next.kind === 'number') this.overrunResync = this.number();
        else this.overrunResync = this.bool() ? 30 : -1;
        return true;
      }
      case 'NetlinkEventsReliable':
        this.take();
        this.eventsReliable = this.bool();
        return true;
      case 'Nice':
        this.take();
        this.expect('signed');
        this.warn('deprecated nice configuration, ignoring. The nice value can be set externally with nice(1) and renice(1).');
        return true;
      case 'Scheduler':
        this.take();
        this.block(() => this.schedulerLine());
        return true;
      case 'Systemd':
        this.take();
        this.systemd = this.bool();
        return true;
      default:
        return false;
    }
  }

  /** `LogFile on|off|/path`: `off` leaves an earlier value alone, as in 1.4.7. */
  private logFileValue(current: string | undefined, onPath: string, what: string): string | undefined {
    const token = this.peek();
    if (token.kind === 'path') return this.pathValue(`${what} path`, FILENAME_MAX);
    return this.bool() ? onPath : current;
  }

  /**
   * `Syslog on|off|facility` in General or Stats (`other` is the other
   * block's value). An unknown facility is a warning, whose text differs
   * between the two blocks by `suffix`; only a named facility is checked
   * against the other block's.
   */
  private syslogValue(current: SyslogFacility | undefined, other: SyslogFacility | undefined, suffix: string): SyslogFacility | undefined {
    const token = this.peek();
    if (token.kind !== 'word') return this.bool() ? 'daemon' : undefined;
    this.take();
    if (!FACILITIES.has(token.text)) {
      this.warn(`'${token.text}' is not a known syslog facility, ignoring${suffix}`);
      return current;
    }
    if (other !== undefined && other !== token.text) this.warn('conflicting Syslog facility values, defaulting to General');
    return token.text as SyslogFacility;
  }

  /** A path option: longer than `max` is fatal; snprintf keeps `max - 1` bytes. */
  private pathValue(what: string, max: number): string {
    const path = this.expect('path').text;
    if (path.length > max) throw new Fatal(`${what} is longer than ${max} characters`);
    return path.slice(0, max - 1);
  }

  private unixLine(): boolean {
    if (this.isKeyword('Path')) {
      this.take();
      this.unixPath = this.pathValue('Path', UNIX_PATH_MAX);
      return true;
    }
    if (this.isKeyword('Backlog')) {
      this.take();
      this.number();
      this.warn('deprecated unix backlog configuration, ignoring.');
      return true;
    }
    return false;
  }

  private schedulerLine(): boolean {
    if (this.isKeyword('Type')) {
      this.take();
      const name = this.expect('word').text;
      const lower = name.toLowerCase();
      if (lower === 'rr') this.schedulerType = 'RR';
      else if (lower === 'fifo') this.schedulerType = 'FIFO';
      else throw new Fatal(`unknown scheduler \`${name}'`);
      return true;
    }
    if (this.isKeyword('Priority')) {
      this.take();
      this.schedulerPriority = this.number();
      if (this.schedulerPriority < 0 || this.schedulerPriority > 99) throw new Fatal("`Priority' must be [0, 99]\n");
      return true;
    }
    return false;
  }

  // -------------------------------------------------------------------------
  // Filter

  private filterBlock(): void {
    let kernelspace = false;
    if (this.isKeyword('From')) {
      this.take();
      if (this.isKeyword('Userspace')) this.take();
      else if (this.isKeyword('Kernelspace')) {
        this.take();
        kernelspace = true;
      } else this.syntaxError();
    }
    this.block(() => this.filterItem());
    this.filter ??= { kernelspace };
    this.filter.kernelspace = kernelspace;
  }

  private filterPolicy(): FilterPolicy {
    if (this.isKeyword('Accept')) {
      this.take();
      return 'accept';
    }
    if (this.isKeyword('Ignore')) {
      this.take();
      return 'ignore';
    }
    return this.syntaxError();
  }

  private filterItem(): boolean {
    // The filter exists as soon as one entry is read, even if its block fails later.
    const filter = (this.filter ??= { kernelspace: false });
    if (this.isKeyword('Protocol')) {
      this.take();
      const policy = this.filterPolicy();
      const protocols = filter.protocol?.protocols ?? [];
      this.block(() => this.protocolItem(protocols));
      filter.protocol = { policy, protocols };
      return true;
    }
    if (this.isKeyword('Address')) {
      this.take();
      const policy = this.filterPolicy();
      const addresses = filter.address?.addresses ?? [];
      this.block(() => this.addressItem(addresses));
      filter.address = { policy, addresses };
      return true;
    }
    if (this.isKeyword('State')) {
      this.take();
      const policy = this.filterPolicy();
      const states = filter.state?.states ?? [];
      this.block(() => this.stateItem(states));
      filter.state = { policy, states };
      return true;
    }
    return false;
  }

  private protocolItem(protocols: number[]): boolean {
    const token = this.peek();
    let name: string;
    if (token.kind === 'word') name = token.text;
    else if (token.kind === 'keyword' && (token.value === 'TCP' || token.value === 'UDP')) name = token.value.toLowerCase();
    else return false;
    this.take();
    const number = this.protocolNumber(name);
    if (number === undefined) {
      this.warn(`getprotobyname() cannot find protocol \`${name}' in /etc/protocols`);
    } else if (!protocols.includes(number)) {
      protocols.push(number);
    }
    return true;
  }

  private addressItem(addresses: AddressRule[]): boolean {
    let family: 4 | 6;
    if (this.isKeyword('IPv4_address')) family = 4;
    else if (this.isKeyword('IPv6_address')) family = 6;
    else return false;
    this.take();
    const text = this.expect('ip').text;
    const slash = text.indexOf('/');
    const host = slash < 0 ? text : text.slice(0, slash);
    const full = family === 4 ? 32 : 128;
    const prefix = slash < 0 ? full : atoi(text.slice(slash + 1));
    if (prefix > full || prefix < 0) {
      this.warn(`${host}/${prefix} is not a valid network, ignoring`);
      return true;
    }
    const bytes = family === 4 ? inetAton(host) : parseIPv6(host);
    if (!bytes) {
      this.warn(`${host} is not a valid IPv${family}, ignoring`);
      return true;
    }
    const address = family === 4 ? formatIPv4(bytes, 0) : formatIPv6(bytes, 0);
    const key = `${family} ${address} ${prefix}`;
    if (this.seenAddresses.has(key)) {
      // 1.4.7 only notices a repeated IPv4 network; repeated hosts and IPv6 networks pass in silence.
      if (family === 4 && prefix < full) this.warn(`netmask ${host} is repeated in the ignore pool`);
      return true;
    }
    this.seenAddresses.add(key);
    addresses.push({ family, address, prefix });
    return true;
  }

  /** `STATE… for TCP`; the list of states may be empty. */
  private stateItem(states: number[]): boolean {
    const token = this.peek();
    if (token.kind !== 'keyword' || !(token.value in TCP_STATES || token.value === 'for')) return false;
    while (this.peek().kind === 'keyword' && this.peek().value in TCP_STATES) {
      const state = TCP_STATES[this.take().value]!;
      if (!states.includes(state)) states.push(state);
    }
    this.expectKeyword('for');
    this.expectKeyword('TCP');
    return true;
  }

  // -------------------------------------------------------------------------
  // Sync

  private syncLine(): boolean {
    if (this.timerLine(['RefreshTime', 'CacheTimeout', 'CommitTimeout', 'PurgeTimeout'])) return true;
    const token = this.peek();
    if (token.kind !== 'keyword') return false;
    switch (token.value) {
      case 'Multicast':
        this.channelBlock('multicast');
        return true;
      case 'UDP':
        this.channelBlock('udp');
        return true;
      case 'TCP':
        this.channelBlock('tcp');
        return true;
      case 'Mode':
        this.modeBlock();
        return true;
      case 'Options':
        this.take();
        this.block(() => this.optionLine());
        return true;
      default:
        return false;
    }
  }

  /** The timers a block accepts, among RefreshTime, CacheTimeout, CommitTimeout and PurgeTimeout. */
  private timerLine(allowed: readonly string[]): boolean {
    const token = this.peek();
    if (token.kind !== 'keyword' || !allowed.includes(token.value)) return false;
    this.take();
    const value = this.number();
    if (token.value === 'RefreshTime') this.refreshTime = value;
    else if (token.value === 'CacheTimeout') this.cacheTimeout = value;
    else if (token.value === 'CommitTimeout') this.commitTimeout = value;
    else this.purgeTimeout = value;
    return true;
  }

  private modeBlock(): void {
    this.take();
    const token = this.expect('mode');
    const mode = token.value as SyncMode;
    if (mode === 'alarm') {
      this.block(() => this.timerLine(['RefreshTime', 'CacheTimeout', 'CommitTimeout', 'PurgeTimeout']));
    } else if (mode === 'ftfw') {
      this.block(() => this.timerLine(['CommitTimeout', 'PurgeTimeout']) || this.ftfwLine());
    } else {
      this.block(() => this.timerLine(['CommitTimeout', 'PurgeTimeout']) || this.notrackLine());
    }
    this.modes.add(mode);
  }

  private ftfwLine(): boolean {
    if (this.isKeyword('ResendQueueSize')) {
      this.take();
      this.resendQueueSize = this.number();
      return true;
    }
    if (this.isKeyword('ACKWindowSize')) {
      this.take();
      this.ackWindowSize = this.number();
      return true;
    }
    return this.cacheSwitch(['DisableExternalCache', 'StartupResync']);
  }

  private notrackLine(): boolean {
    return this.cacheSwitch(['DisableInternalCache', 'DisableExternalCache', 'StartupResync']);
  }

  private cacheSwitch(allowed: readonly string[]): boolean {
    const token = this.peek();
    if (token.kind !== 'keyword' || !allowed.includes(token.value)) return false;
    this.take();
    const value = this.bool();
    if (token.value === 'DisableInternalCache') this.disableInternalCache = value;
    else if (token.value === 'DisableExternalCache') this.disableExternalCache = value;
    else this.startupResync = value;
    return true;
  }

  private optionLine(): boolean {
    if (this.isKeyword('TCPWindowTracking')) {
      this.take();
      this.tcpWindowTracking = this.bool();
      return true;
    }
    if (!this.isKeyword('ExpectationSync')) return false;
    this.take();
    if (this.isChar('{')) {
      this.block(() => {
        if (this.peek().kind !== 'word') return false;
        this.expectationHelpers.push(this.take().text);
        return true;
      });
      this.expectationSync = true;
    } else {
      this.expectationSync = this.bool();
    }
    return true;
  }

  // -------------------------------------------------------------------------
  // Channels

  private channelBlock(kind: ChannelKind): void {
    this.take();
    let isDefault = false;
    if (this.isKeyword('Default')) {
      this.take();
      isDefault = true;
    }
    this.block(() => this.channelOption(kind));
    if (this.channelKind !== undefined && this.channelKind !== kind) {
      const name = kind === 'multicast' ? 'Multicast' : kind.toUpperCase();
      throw new Fatal(`cannot use \`${name}' with other dedicated link protocols!`);
    }
    this.channelKind = kind;
    const slot = this.slot;
    const channel: ChannelConfig = { kind, isDefault, family: slot.family ?? 4, checksum: slot.checksum };
    if (slot.address !== undefined) channel.address = slot.address;
    if (slot.destination !== undefined) channel.destination = slot.destination;
    if (slot.interfaceAddress !== undefined) channel.interfaceAddress = slot.interfaceAddress;
    if (slot.interface !== undefined) channel.interface = slot.interface;
    if (slot.port !== undefined) channel.port = slot.port;
    if (slot.sndSocketBuffer !== undefined) channel.sndSocketBuffer = slot.sndSocketBuffer;
    if (slot.rcvSocketBuffer !== undefined) channel.rcvSocketBuffer = slot.rcvSocketBuffer;
    this.channels.push(channel);
    this.slot = { checksum: true };
  }

  /** Every channel option but IPv6_interface first checks the channel count, as 1.4.7 does. */
  private linkSlot(): ChannelSlot {
    if (this.channels.length >= MAX_CHANNELS) {
      throw new Fatal(`too many dedicated links in the configuration file (Maximum: ${MAX_CHANNELS})`);
    }
    return this.slot;
  }

  private channelOption(kind: ChannelKind): boolean {
    const token = this.peek();
    if (token.kind !== 'keyword') return false;
    const multicast = kind === 'multicast';
    switch (token.value) {
      case 'IPv4_address':
      case 'IPv6_address':
        this.take();
        this.channelAddress(kind, token.value === 'IPv4_address' ? 4 : 6, 'address');
        return true;
      case 'IPv4_Destination_Address':
      case 'IPv6_Destination_Address':
        if (multicast) return false;
        this.take();
        this.channelAddress(kind, token.value === 'IPv4_Destination_Address' ? 4 : 6, 'destination');
        return true;
      case 'IPv4_interface':
        if (!multicast) return false;
        this.take();
        this.channelAddress(kind, 4, 'interfaceAddress');
        return true;
      case 'IPv6_interface':
        if (!multicast) return false;
        this.take();
        this.expect('ip');
        this.warn("`IPv6_interface' not required, ignoring");
        return true;
      case 'Interface': {
        this.take();
        const name = this.expect('word').text;
        const slot = this.linkSlot();
        slot.interface = name.slice(0, IFNAME_MAX + 1);
        if (!this.interfaceExists(name)) this.warn(`${name} is an invalid interface`);
        else if (multicast && slot.family === 6) slot.interfaceIndex6 = true;
        return true;
      }
      case 'Port':
      case 'Group': {
        if ((token.value === 'Group') !== multicast) return false;
        this.take();
        const port = this.number();
        // The port goes through htons(): only its low 16 bits count.
        this.linkSlot().port = port & 0xffff;
        return true;
      }
      case 'SndSocketBuffer':
      case 'RcvSocketBuffer': {
        this.take();
        const size = this.number() >>> 0;
        const slot = this.linkSlot();
        if (token.value === 'SndSocketBuffer') slot.sndSocketBuffer = size;
        else slot.rcvSocketBuffer = size;
        return true;
      }
      case 'Checksum': {
        this.take();
        // The value is read before the link count is checked: a bad one is a syntax error first.
        const checksum = this.bool();
        this.linkSlot().checksum = checksum;
        return true;
      }
      case 'ErrorQueueLength': {
        if (kind !== 'tcp') return false;
        this.take();
        const length = this.number() >>> 0;
        this.linkSlot();
        this.errorQueueLength = length;
        return true;
      }
      default:
        return false;
    }
  }

  /**
   * An address option of a channel. Multicast keeps one family per channel
   * and complains when the options disagree; UDP and TCP take the family of
   * the last address given.
   */
  private channelAddress(kind: ChannelKind, family: 4 | 6, field: 'address' | 'destination' | 'interfaceAddress'): void {
    const text = this.expect('ip').text;
    const slot = this.linkSlot();
    const bytes = family === 4 ? inetAton(text) : parseIPv6(text);
    if (!bytes) {
      this.warn(`${text} is not a valid IPv${family} address`);
      return;
    }
    const address = family === 4 ? formatIPv4(bytes, 0) : formatIPv6(bytes, 0);
    if (kind === 'multicast') {
      const other = family === 4 ? 6 : 4;
      if (slot.family === other) {
        this.warn(
          field === 'interfaceAddress'
            ? 'your multicast interface is IPv4 but is binded to an IPv6 interface? Surely, this is not what you want'
            : family === 4
              ? 'your multicast address is IPv4 but is binded to an IPv6 interface? Surely, this is not what you want'
              : 'your multicast address is IPv6 but is binded to an IPv4 interface? Surely this is not what you want',
        );
        return;
      }
      slot[field] = address;
      slot.family = family;
      // 1.4.7 looks the address text up as an interface name here when Interface came first.
      if (family === 6 && slot.interface !== undefined && !slot.interfaceIndex6) {
        if (this.interfaceExists(text)) slot.interfaceIndex6 = true;
        else this.warn(`${text} is an invalid interface`);
      }
      return;
    }
    slot[field] = address;
    slot.family = family;
  }

  // -------------------------------------------------------------------------
  // Stats

  private statsLine(): boolean {
    if (this.isKeyword('LogFile')) {
      this.take();
      this.statsLogFile = this.logFileValue(this.statsLogFile, DEFAULT_STATS_LOGFILE, 'stats LogFile');
      return true;
    }
    if (this.isKeyword('Syslog')) {
      this.take();
      this.statsSyslog = this.syslogValue(this.statsSyslog, this.syslog, '.');
      return true;
    }
    return false;
  }

  // -------------------------------------------------------------------------
  // Helper

  private helperLine(): boolean {
    if (this.isKeyword('Setup')) {
      this.take();
      this.helperSetup = this.bool();
      return true;
    }
    return this.helperType();
  }

  /**
   * 1.4.7's helper grammar nests freely (a Type inside a Type, QueueNum
   * outside any Type): QueueNum, QueueLen and Policy push onto a stack and
   * the next Type to close takes everything on it.
   */
  private helperType(): boolean {
    const token = this.peek();
    if (token.kind !== 'keyword') return false;
    switch (token.value) {
      case 'Type':
        this.take();
        this.helperTypeBlock();
        return true;
      case 'QueueNum':
      case 'QueueLen':
        this.take();
        this.helperStack.push({ kind: token.value === 'QueueNum' ? 'queueNum' : 'queueLen', value: this.number() });
        return true;
      case 'Policy':
        this.take();
        this.helperPolicyBlock();
        return true;
      default:
        return false;
    }
  }

  private helperTypeBlock(): void {
    const name = this.expect('word').text;
    const l3 = this.expect('word').text;
    const l4 = this.expect('word').text;
    this.block(() => this.helperType());
    if (l3 !== 'inet' && l3 !== 'inet6') throw new Fatal('unknown layer 3 protocol');
    if (l4 !== 'tcp' && l4 !== 'udp') throw new Fatal('unknown layer 4 protocol');
    if (!helperExists(name, l4)) throw new Fatal(`Unknown \`${name}' helper`);
    const type: HelperConfig['types'][number] = { name, family: l3 === 'inet' ? 4 : 6, protocol: l4, policies: [] };
    for (let item = this.helperStack.pop(); item; item = this.helperStack.pop()) {
      if (item.kind === 'queueNum') type.queueNum = item.value;
      else if (item.kind === 'queueLen') type.queueLen = item.value;
      else if (item.kind === 'policy') {
        if (!helperPolicies(name).includes(item.policy.name)) {
          throw new Fatal(`Unknown policy \`${item.policy.name}' in helper configuration`);
        }
        type.policies.push(item.policy);
      } else throw new Fatal('Unexpected symbol parsing helper policy');
    }
    // 1.4.7 adds each helper at the head of its list: the last one is set up first.
    this.helperTypes.unshift(type);
  }

  private helperPolicyBlock(): void {
    const name = this.expect('word').text;
    this.block(() => {
      const token = this.peek();
      if (token.kind !== 'keyword' || (token.value !== 'ExpectMax' && token.value !== 'ExpectTimeout')) return false;
      this.take();
      const value = this.number();
      const leaf: PolicyItem = this.popLeaf() ?? { kind: 'leaf', policy: { name: '', expectMax: 0, expectTimeout: 0 } };
      if (token.value === 'ExpectMax') leaf.policy.expectMax = value;
      else leaf.policy.expectTimeout = value;
      this.helperStack.push(leaf);
      return true;
    });
    const leaf = this.popLeaf();
    if (!leaf) throw new Fatal('Helper policy configuration empty, fix your configuration file, please');
    if (name.length > HELPER_NAME_MAX) throw new Fatal(`Helper Policy is longer than ${HELPER_NAME_MAX} characters`);
    leaf.policy.name = name.slice(0, HELPER_NAME_MAX - 1);
    this.helperStack.push({ kind: 'policy', policy: leaf.policy });
  }

  /** The topmost Policy being read, removed from the stack. */
  private popLeaf(): PolicyItem | undefined {
    for (let i = this.helperStack.length - 1; i >= 0; i--) {
      const item = this.helperStack[i]!;
      if (item.kind === 'leaf') {
        this.helperStack.splice(i, 1);
        return item;
      }
    }
    return undefined;
  }

  // -------------------------------------------------------------------------
  // Result

  /** The Config with 1.4.7's defaults (a 0 in the file means "default" for most numbers). */
  result(): ParseResult {
    const modeWarnings: string[] = [];
    const config: Config = {
      general: {
        hashSize: this.hashSize >>> 0 || 65536,
        hashLimit: this.hashLimit >>> 0 || 262144,
        lockFile: this.lockFile || DEFAULT_LOCKFILE,
        netlinkOverrunResync: this.overrunResync < 0 ? 0 : this.overrunResync || 30,
        netlinkEventsReliable: this.eventsReliable,
        eventIterationLimit: this.eventIterationLimit || 100,
        systemd: this.systemd,
      },
    };
    const general = config.general;
    if (this.logFile !== undefined) general.logFile = this.logFile;
    if (this.syslog !== undefined) general.syslog = this.syslog;
    if (this.unixPath !== undefined) general.unixPath = this.unixPath;
    if (this.netlinkBufferSize !== undefined) general.netlinkBufferSize = this.netlinkBufferSize;
    if (this.netlinkBufferSizeMaxGrowth !== undefined) general.netlinkBufferSizeMaxGrowth = this.netlinkBufferSizeMaxGrowth;
    if (this.pollSecs !== undefined) general.pollSecs = this.pollSecs;
    if (this.filter !== undefined) general.filter = this.filter;
    // Without a Type the daemon keeps its own default (RR 99), whatever the Priority.
    if (this.schedulerType !== undefined) general.scheduler = { type: this.schedulerType, priority: this.schedulerPriority };

    if (this.syncSeen) {
      let mode: SyncMode;
      if (this.modes.has('ftfw')) mode = 'ftfw';
      else if (this.modes.has('alarm')) mode = 'alarm';
      else if (this.modes.has('notrack')) mode = 'notrack';
      else {
        modeWarnings.push('No synchronization mode specified. Defaulting to FT-FW mode.');
        mode = 'ftfw';
      }
      let commitTimeout = this.commitTimeout > 0 ? this.commitTimeout : undefined;
      if (commitTimeout !== undefined && this.disableExternalCache) {
        modeWarnings.push(
          "`CommitTimeout' can't be combined with `DisableExternalCache', ignoring this option. Fix your configuration file.",
        );
        commitTimeout = undefined;
      }
      const errorQueueLength = this.errorQueueLength || 128;
      config.sync = {
        mode,
        resendQueueSize: this.resendQueueSize >>> 0 || 131072,
        ackWindowSize: this.ackWindowSize >>> 0 || 300,
        purgeTimeout: this.purgeTimeout >>> 0 || 60,
        refreshTime: this.refreshTime >>> 0 || 60,
        cacheTimeout: this.cacheTimeout >>> 0 || 180,
        disableExternalCache: this.disableExternalCache,
        disableInternalCache: this.disableInternalCache,
        startupResync: this.startupResync,
        channels: this.channels.map((c) => (c.kind === 'tcp' ? { ...c, errorQueueLength } : c)),
        tcpWindowTracking: this.tcpWindowTracking,
      };
      if (commitTimeout !== undefined) config.sync.commitTimeout = commitTimeout;
      if (this.expectationSync) {
        config.sync.expectationSync = this.expectationHelpers.length > 0 ? this.expectationHelpers : 'all';
      }
    }
    if (this.statsSeen) {
      config.stats = {};
      if (this.statsLogFile !== undefined) config.stats.logFile = this.statsLogFile;
      if (this.statsSyslog !== undefined) config.stats.syslog = this.statsSyslog;
    }
    if (this.helperSeen) config.helper = { setup: this.helperSetup, types: this.helperTypes };
    return { config, warnings: this.warnings, modeWarnings };
  }
}
