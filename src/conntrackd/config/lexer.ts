/**
 * The tokens of conntrackd.conf, cut the way 1.4.7's flex scanner cuts them:
 * at every position the rule with the longest match wins, and a tie goes to
 * the rule listed first. That is what makes the language's odd corners:
 *
 * - keywords are case-sensitive (`Lockfile` is a bare word, hence an error);
 * - `on`/`yes` and `off`/`no` are booleans in any case, and so are words such
 *   as `o|` and `||` (the C character classes carry a stray `|`);
 * - a word of one to four hex digits (`cafe`, `f`, `Ab12`) is an IPv6 address
 *   before it is a bare word, and a run of digits is a number before it is an
 *   address;
 * - a path runs from `/` to the next space, quote or newline, so a tab or a
 *   `#` after it belongs to the path;
 * - a comment needs a newline after it: a `#` on a last line without one is a
 *   stray character (a syntax error);
 * - `ALARM`/`FTFW`/`NOTRACK` are case-insensitive, `nack` and `persistenT`
 *   (the C class for its last letter lacks the lower-case `t`) are old mode
 *   names that come with a warning the moment they are read;
 * - any other character is a token of its own, a NUL ends the input.
 */

/** Keywords, each with the name the grammar knows it by (aliases share one). */
const KEYWORDS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    UNIX: 'UNIX',
    IPv4_address: 'IPv4_address',
    IPv6_address: 'IPv6_address',
    IPv4_Destination_Address: 'IPv4_Destination_Address',
    IPv6_Destination_Address: 'IPv6_Destination_Address',
    IPv4_interface: 'IPv4_interface',
    IPv6_interface: 'IPv6_interface',
    Interface: 'Interface',
    Multicast: 'Multicast',
    UDP: 'UDP',
    TCP: 'TCP',
    HashSize: 'HashSize',
    RefreshTime: 'RefreshTime',
    CacheTimeout: 'CacheTimeout',
    CommitTimeout: 'CommitTimeout',
    HashLimit: 'HashLimit',
    Path: 'Path',
    Backlog: 'Backlog',
    Group: 'Group',
    Port: 'Port',
    LogFile: 'LogFile',
    Syslog: 'Syslog',
    LockFile: 'LockFile',
    General: 'General',
    Sync: 'Sync',
    Stats: 'Stats',
    SocketBufferSize: 'NetlinkBufferSize',
    SocketBufferSizeMaxGrown: 'NetlinkBufferSizeMaxGrowth',
    SocketBufferSizeMaxGrowth: 'NetlinkBufferSizeMaxGrowth',
    NetlinkBufferSize: 'NetlinkBufferSize',
    NetlinkBufferSizeMaxGrowth: 'NetlinkBufferSizeMaxGrowth',
    Mode: 'Mode',
    ResendQueueSize: 'ResendQueueSize',
    Checksum: 'Checksum',
    ACKWindowSize: 'ACKWindowSize',
    for: 'for',
    SYN_SENT: 'SYN_SENT',
    SYN_RECV: 'SYN_RECV',
    ESTABLISHED: 'ESTABLISHED',
    FIN_WAIT: 'FIN_WAIT',
    CLOSE_WAIT: 'CLOSE_WAIT',
    LAST_ACK: 'LAST_ACK',
    TIME_WAIT: 'TIME_WAIT',
    CLOSE: 'CLOSED',
    CLOSED: 'CLOSED',
    LISTEN: 'LISTEN',
    SndSocketBuffer: 'SndSocketBuffer',
    RcvSocketBuffer: 'RcvSocketBuffer',
    Filter: 'Filter',
    Protocol: 'Protocol',
    Address: 'Address',
    State: 'State',
    Accept: 'Accept',
    Ignore: 'Ignore',
    PurgeTimeout: 'PurgeTimeout',
    From: 'From',
    Userspace: 'Userspace',
    Kernelspace: 'Kernelspace',
    EventIterationLimit: 'EventIterationLimit',
    Default: 'Default',
    PollSecs: 'PollSecs',
    NetlinkOverrunResync: 'NetlinkOverrunResync',
    Nice: 'Nice',
    Scheduler: 'Scheduler',
    Type: 'Type',
    Priority: 'Priority',
    NetlinkEventsReliable: 'NetlinkEventsReliable',
    DisableInternalCache: 'DisableInternalCache',
    DisableExternalCache: 'DisableExternalCache',
    Options: 'Options',
    TCPWindowTracking: 'TCPWindowTracking',
    ExpectationSync: 'ExpectationSync',
    ErrorQueueLength: 'ErrorQueueLength',
    Helper: 'Helper',
    QueueNum: 'QueueNum',
    QueueLen: 'QueueLen',
    Policy: 'Policy',
    ExpectMax: 'ExpectMax',
    ExpectTimeout: 'ExpectTimeout',
    Systemd: 'Systemd',
    Setup: 'Setup',
    StartupResync: 'StartupResync',
  }),
);

export type TokenKind =
  | 'keyword' // value: the grammar's name for it
  | 'on'
  | 'off'
  | 'number' // value: the digits
  | 'signed' // a number with a sign: only `Nice` takes one
  | 'ip' // an IPv4 or IPv6 address, with an optional /prefix
  | 'path'
  | 'mode' // value: 'alarm' | 'ftfw' | 'notrack'
  | 'word'
  | 'char' // any other single character, `{` and `}` among them
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** The keyword's canonical name, the mode name, or the text itself. */
  value: string;
  /** The text as written: what a syntax error quotes. */
  text: string;
  /** 1 + the newlines before the end of the token (flex's yylineno). */
  line: number;
}

const HEX4 = '[0-9a-fA-F]{1,4}';
/** The body of an IPv6 address without its prefix: either form of the C scanner's pattern. */
const IPV6_BODY = new RegExp(`^(?:(?:${HEX4}:?){0,7}::(?:${HEX4}:?){0,7}|(?:${HEX4}:){0,7}${HEX4})$`);
/** No IPv6 body is longer: seven groups of five characters on both sides of `::`. */
const IPV6_BODY_MAX = 72;

interface Rule {
  /** Sticky regex whose greedy match is already the longest one. */
  re: RegExp;
  kind: TokenKind | 'skip';
  value?: string;
  warning?: string;
}

/** The scanner's rules after the keywords, in its order (the order breaks ties). */
const RULES: readonly Rule[] = [
  { re: /[y|Y][e|E][s|S]|[o|O][n|N]/y, kind: 'on' },
  { re: /[o|O][f|F][f|F]|[n|N][o|O]/y, kind: 'off' },
  { re: /[0-9]+/y, kind: 'number' },
  { re: /[-+][0-9]+/y, kind: 'signed' },
  { re: /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(?:\/[0-9]+)?/y, kind: 'ip' },
  // IPv6 is matched by ipv6Length(); this entry only keeps its place in the order.
  { re: /(?!)/y, kind: 'ip' },
  { re: /\/[^"\n ]*/y, kind: 'path' },
  { re: /[A|a][L|l][A|a][R|r][M|m]/y, kind: 'mode', value: 'alarm' },
  {
    re: /[P|p][E|e][R|r][S|s][I|i][S|s][T|t][E|e][N|n][T|T]/y,
    kind: 'mode',
    value: 'alarm',
    warning: "Now `persistent' mode is called `alarm'. Please, update your conntrackd.conf file.",
  },
  { re: /[F|f][T|t][F|f][W|w]/y, kind: 'mode', value: 'ftfw' },
  {
    re: /[N|n][A|a][C|c][K|k]/y,
    kind: 'mode',
    value: 'ftfw',
    warning: "Now `nack' mode is called `ftfw'. Please, update your conntrackd.conf file.\n",
  },
  { re: /[N|n][O|o][T|t][R|r][A|a][C|c][K|k]/y, kind: 'mode', value: 'notrack' },
  { re: /[a-zA-Z][a-zA-Z0-9._-]*/y, kind: 'word' },
  { re: /#[^\n]*(?=\n)/y, kind: 'skip' },
  { re: /[ \t]+/y, kind: 'skip' },
  { re: /[\n\r]/y, kind: 'skip' },
  { re: /[^\n]/y, kind: 'char' },
];
const IPV6_RULE = 5;
const KEYWORD_RULE: Rule = { re: /(?!)/y, kind: 'keyword' };

/** Length of the longest IPv6 address (with its optional /prefix) at `pos`, 0 if none. */
function ipv6Length(text: string, pos: number): number {
  let run = pos;
  while (run < text.length && run - pos < IPV6_BODY_MAX && /[0-9a-fA-F:]/.test(text[run]!)) run++;
  for (let end = run; end > pos; end--) {
    if (!IPV6_BODY.test(text.slice(pos, end))) continue;
    const prefix = /\/[0-9]+/y;
    prefix.lastIndex = end;
    return prefix.test(text) ? prefix.lastIndex - pos : end - pos;
  }
  return 0;
}

function ruleLength(rule: Rule, index: number, text: string, pos: number): number {
  if (index === IPV6_RULE) return ipv6Length(text, pos);
  rule.re.lastIndex = pos;
  return rule.re.test(text) ? rule.re.lastIndex - pos : 0;
}

/**
 * Reads tokens one at a time, on demand: a token's warning (the old mode
 * names) must come out exactly when the C parser reads it, so a syntax error
 * earlier in the file stops it from appearing.
 */
export class Lexer {
  private pos = 0;
  private line = 1;

  constructor(
    private readonly text: string,
    private readonly warn: (message: string) => void,
  ) {}

  next(): Token {
    for (;;) {
      if (this.pos >= this.text.length || this.text[this.pos] === '\0') {
        return { kind: 'eof', value: '', text: '', line: this.line };
      }
      const { length, rule, value } = this.longestMatch();
      const matched = this.text.slice(this.pos, this.pos + length);
      this.pos += length;
      for (const ch of matched) if (ch === '\n') this.line++;
      if (rule.kind === 'skip') continue;
      if (rule.warning) this.warn(rule.warning);
      // A path may hold a NUL; the C strings made of it end there.
      const nul = matched.indexOf('\0');
      const text = nul < 0 ? matched : matched.slice(0, nul);
      return { kind: rule.kind, value: value ?? rule.value ?? text, text, line: this.line };
    }
  }

  private longestMatch(): { length: number; rule: Rule; value?: string } {
    const { text, pos } = this;
    let best: { length: number; rule: Rule; value?: string } = { length: 0, rule: RULES[RULES.length - 1]! };
    // Keywords come first in the C scanner, so they win ties; the longest keyword that fits is the one.
    for (const [word, name] of KEYWORDS) {
      if (word.length > best.length && text.startsWith(word, pos)) {
        best = { length: word.length, rule: KEYWORD_RULE, value: name };
      }
    }
    RULES.forEach((rule, index) => {
      const length = ruleLength(rule, index, text, pos);
      if (length > best.length) best = { length, rule };
    });
    return best;
  }
}
