/**
 * The protocol modules of `conntrack -p`: their
 * options, value parsing, states, pair rules and help.
 *
 * A module's options exist only after `-p` selected it. Each option
 * writes into the request template the way 1.4.7's extension does, including
 * the byte-order and truncation quirks that are visible in the kernel.
 */
import { icmpReplyType } from '../ctnetlink/tuple';
import type { Flow, Tuple } from '../ctnetlink/flow';
import { Proto } from '../ctnetlink/constants';
import { legalityRow, type CommandSelection, type LegalityRow } from './options';
import { ParameterProblem } from './problems';
import { atoi, strtoul, truncate } from '../libc/numbers';
import type { ProtocolEntry } from '../libc/protocols-file';

/** A 32-bit value with its bytes reversed (htonl on a little-endian host). */
function swap32(value: number): number {
  return (((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) | (value >>> 24)) >>> 0;
}

// ---------------------------------------------------------------------------
// Protocol modules

/** What a protocol option writes into: 1.4.7's template objects. */
export interface ProtocolTarget {
  /** The conntrack template (tuples, protocol info). */
  readonly template: Flow;
  /** The expectation's expected tuple (`--tuple-*`). */
  readonly expected: Tuple;
  /** The expectation mask (`--mask-*`). */
  readonly mask: Tuple;
  /**
   * The reply-direction ICMP type that libnetfilter_conntrack computes when
   * the type is set; 255 (the kernel refuses it) when unknown.
   */
  icmpReplyType?: number;
}

export interface ProtocolOption {
  /** Name in messages and, prefixed with `--`, in the legality errors. */
  readonly flag: string;
  /** getopt long names. */
  readonly longs: readonly string[];
  readonly legal: LegalityRow;
  readonly parse: (value: string, target: ProtocolTarget) => void;
}

/** The pair rule of a module: the option indexes of each pair and the message for it. */
export interface PairRule {
  readonly pairs: readonly { readonly options: readonly [number, number]; readonly message: string }[];
}

export interface ProtocolModule {
  /** Name for `-p` and in `Proto `NAME' help:`; the generic module has none of its own. */
  readonly name: string;
  /** IPPROTO number; undefined for the generic module (the number comes from -p). */
  readonly number?: number;
  /**
   * 1.4.7 passes its getopt value to the module as a C char after subtracting
   * the offset of the LAST `-p` (a multiple of 256), so an option of an
   * earlier `-p` reaches the current module by its low byte. Options are
   * numbered `codeBase + index` ('1'... for tcp, gre, icmp; 1... for sctp, dccp).
   */
  readonly codeBase: number;
  /** In 1.4.7's flag-bit order, which is also the legality check order. */
  readonly options: readonly ProtocolOption[];
  readonly pairRule?: PairRule;
  /** Lines printed by `-h -p NAME`, without newline. */
  readonly help: readonly string[];
  /** The final check's side effect on the template (the TCP flags 1.4.7 adds); not run for -h. */
  readonly finish?: (template: Flow) => void;
}

/** Columns of the protocol matrices of ; other commands cannot reach them (-p is illegal there). */
const PROTO_COLUMNS: readonly CommandSelection[] = [
  'CT_LIST', 'CT_CREATE', 'CT_UPDATE', 'CT_DELETE', 'CT_GET', 'CT_EVENT', 'EXP_CREATE', 'EXP_DELETE', 'EXP_GET', 'CT_ADD',
];
const row = (marks: string): LegalityRow => legalityRow(PROTO_COLUMNS, marks);

/*                       -L -I -U -D -G -E Ix Dx Gx -A */
const PORT_ROW = row('    o  T  o  o  T  o  M  M  M  T');
const REPLY_PORT_ROW = row('o  T  o  o  T  o  .  M  M  T');
const EXPECT_ONLY_ROW = row('.  .  .  .  .  .  M  .  .  .');
const STATE_ROW = row('   o  M  o  o  o  o  .  .  .  M');
const VTAG_ROW = row('    .  M  o  .  o  .  M  .  .  M');
const ROLE_ROW = row('    .  M  .  .  .  .  M  .  .  M');
const ICMP_MANDATORY_ROW = row('o  M  o  o  M  o  .  .  .  M');
const ICMP_OPTIONAL_ROW = row('o  o  o  o  o  o  .  .  .  o');

/** `htons(atoi(value))` as a host number: ports and ICMP ids keep their low 16 bits. */
const port = (value: string): number => truncate(atoi(value), 16);

/** The tuples of a target: the template's two directions, the expected tuple, the mask. */
export type TargetTuple = 'orig' | 'reply' | 'expected' | 'mask';

export function tupleOf(target: ProtocolTarget, which: TargetTuple): Tuple {
  return which === 'orig' || which === 'reply' ? target.template[which] : target[which];
}

/**
 * A port (or GRE key) option: the value and the layer-4 protocol of its
 * tuple. For tcp, sctp and dccp the expected tuple's protocol becomes the low
 * byte of the network-order port, i.e. `port >> 8` (defect 9): visible in the
 * kernel, kept for state compatibility.
 */
function portOption(
  flag: string,
  longs: readonly string[],
  legal: LegalityRow,
  which: TargetTuple,
  field: 'sport' | 'dport',
  proto: number,
  opts: { readonly parseValue?: (value: string) => number; readonly expectProtoFromPort?: boolean } = {},
): ProtocolOption {
  const parseValue = opts.parseValue ?? port;
  return {
    flag,
    longs,
    legal,
    parse(value, target) {
      const tuple = tupleOf(target, which);
      tuple[field] = parseValue(value);
      tuple.proto = which === 'expected' && opts.expectProtoFromPort ? tuple[field]! >> 8 : proto;
    },
  };
}

/** The eight port options shared by tcp, udp, udplite, sctp and dccp. */
function portOptions(proto: number, expectProtoFromPort: boolean): ProtocolOption[] {
  const o = { expectProtoFromPort };
  return [
    portOption('sport', ['orig-port-src', 'sport'], PORT_ROW, 'orig', 'sport', proto, o),
    portOption('dport', ['orig-port-dst', 'dport'], PORT_ROW, 'orig', 'dport', proto, o),
    portOption('reply-port-src', ['reply-port-src'], REPLY_PORT_ROW, 'reply', 'sport', proto, o),
    portOption('reply-port-dst', ['reply-port-dst'], REPLY_PORT_ROW, 'reply', 'dport', proto, o),
    portOption('mask-port-src', ['mask-port-src'], EXPECT_ONLY_ROW, 'mask', 'sport', proto, o),
    portOption('mask-port-dst', ['mask-port-dst'], EXPECT_ONLY_ROW, 'mask', 'dport', proto, o),
  ];
}

function tuplePortOptions(proto: number, expectProtoFromPort: boolean): ProtocolOption[] {
  const o = { expectProtoFromPort };
  return [
    portOption('tuple-port-src', ['tuple-port-src'], EXPECT_ONLY_ROW, 'expected', 'sport', proto, o),
    portOption('tuple-port-dst', ['tuple-port-dst'], EXPECT_ONLY_ROW, 'expected', 'dport', proto, o),
  ];
}

/** A `--state` option: exact, case-sensitive names; `aliases` map extra names to values. */
function stateOption(
  names: readonly string[],
  unknownMessage: string,
  store: (template: Flow, state: number) => void,
  aliases: Readonly<Record<string, number>> = {},
): ProtocolOption {
  return {
    flag: 'state',
    longs: ['state'],
    legal: STATE_ROW,
    parse(value, target) {
      const state = names.includes(value) ? names.indexOf(value) : aliases[value];
      if (state === undefined) throw new ParameterProblem(`${unknownMessage} \`${value}'`);
      store(target.template, state);
    },
  };
}

const PORT_PAIRS = (replyMessage: string): PairRule => ({
  pairs: [
    { options: [0, 1], message: "you have to specify `--sport' and `--dport'" },
    { options: [2, 3], message: replyMessage },
  ],
});
const TCP_PAIRS = PORT_PAIRS("you have to specify `--reply-src-port' and `--reply-dst-port'");

const PORT_HELP = [
  '  --orig-port-src\t\toriginal source port',
  '  --orig-port-dst\t\toriginal destination port',
  '  --reply-port-src\t\treply source port',
  '  --reply-port-dst\t\treply destination port',
  '  --mask-port-src\t\tmask source port',
  '  --mask-port-dst\t\tmask destination port',
  '  --tuple-port-src\t\texpectation tuple src port',
  // sic: 1.4.7 names the dst option "src" in its help.
  '  --tuple-port-src\t\texpectation tuple dst port',
];

const TCP_STATES = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
] as const;
const SCTP_STATES = [
  'NONE', 'CLOSED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'ESTABLISHED', 'SHUTDOWN_SENT', 'SHUTDOWN_RECD', 'SHUTDOWN_ACK_SENT',
] as const;
const DCCP_STATES = [
  'NONE', 'REQUEST', 'RESPOND', 'PARTOPEN', 'OPEN', 'CLOSEREQ', 'CLOSING', 'TIMEWAIT', 'IGNORE', 'INVALID',
] as const;

/** TCP flags 1.4.7 puts on every tcp template. */
const IP_CT_TCP_FLAG_SACK_PERM = 0x02;
const IP_CT_TCP_FLAG_CLOSE_INIT = 0x04;
const IP_CT_TCP_FLAG_BE_LIBERAL = 0x08;
const TCP_CONNTRACK_TIME_WAIT = 7;

const tcp: ProtocolModule = {
  name: 'tcp',
  number: Proto.TCP,
  codeBase: 0x31,
  options: [
    ...portOptions(Proto.TCP, true),
    stateOption(TCP_STATES, 'unknown TCP state', (t, s) => (t.tcp = { ...t.tcp, state: s }), { LISTEN: 9 }),
    ...tuplePortOptions(Proto.TCP, true),
  ],
  pairRule: TCP_PAIRS,
  help: [...PORT_HELP, '  --state\t\t\tTCP state, fe. ESTABLISHED'],
  finish(template) {
    // Window tracking off for hand-made entries; CLOSE_INIT lets a TIME_WAIT
    // or later entry be reopened (RFC 1122), as 1.4.7's final check does.
    let flags = IP_CT_TCP_FLAG_BE_LIBERAL | IP_CT_TCP_FLAG_SACK_PERM;
    if ((template.tcp?.state ?? 0) >= TCP_CONNTRACK_TIME_WAIT) flags |= IP_CT_TCP_FLAG_CLOSE_INIT;
    template.tcp = { ...template.tcp, flagsOrig: { flags, mask: flags }, flagsReply: { flags, mask: flags } };
  },
};

function udpLike(name: string, number: number): ProtocolModule {
  return {
    name,
    number,
    codeBase: 0x31,
    options: [...portOptions(number, false), ...tuplePortOptions(number, false)],
    pairRule: TCP_PAIRS,
    help: PORT_HELP,
  };
}

/** `htonl(atoi(v))`: the tag is byte-swapped once more by the encoder, so the kernel stores it swapped. */
const vtag = (value: string): number => swap32(truncate(atoi(value), 32));

const sctp: ProtocolModule = {
  name: 'sctp',
  number: Proto.SCTP,
  codeBase: 1,
  options: [
    ...portOptions(Proto.SCTP, true),
    // 1.4.7 crashes on an unknown name (defect 12); the message is the one it intended.
    stateOption(SCTP_STATES, 'unknown SCTP state', (t, s) => (t.sctp = { ...t.sctp, state: s })),
    ...tuplePortOptions(Proto.SCTP, true),
    { flag: 'orig-vtag', longs: ['orig-vtag'], legal: VTAG_ROW,
      parse: (v, t) => (t.template.sctp = { ...t.template.sctp, vtagOrig: vtag(v) }) },
    { flag: 'reply-vtag', longs: ['reply-vtag'], legal: VTAG_ROW,
      parse: (v, t) => (t.template.sctp = { ...t.template.sctp, vtagReply: vtag(v) }) },
  ],
  pairRule: TCP_PAIRS,
  help: [
    ...PORT_HELP,
    '  --state\t\t\tSCTP state, fe. ESTABLISHED',
    '  --orig-vtag\t\toriginal verification tag',
    '  --reply-vtag\t\treply verification tag',
  ],
};

const DCCP_ROLES = ['client', 'server'] as const;

const dccp: ProtocolModule = {
  name: 'dccp',
  number: Proto.DCCP,
  codeBase: 1,
  options: [
    ...portOptions(Proto.DCCP, true),
    stateOption(DCCP_STATES, 'Unknown DCCP state', (t, s) => (t.dccp = { ...t.dccp, state: s })),
    ...tuplePortOptions(Proto.DCCP, true),
    {
      flag: 'role',
      longs: ['role'],
      legal: ROLE_ROW,
      parse(value, target) {
        // Any case-insensitive prefix, the empty one included, names a role.
        const role = DCCP_ROLES.findIndex((r) => r.startsWith(value.toLowerCase()));
        if (role < 0) throw new ParameterProblem(`Unknown DCCP role \`${value}'`);
        target.template.dccp = { ...target.template.dccp, role };
      },
    },
  ],
  pairRule: PORT_PAIRS("you have to specify `--reply-port-src' and `--report-port-dst'"),
  // sic: 1.4.7 documents no --role line.
  help: [...PORT_HELP, '  --state\t\t\tDCCP state, fe. RESPOND'],
};

/** GRE keys travel in the port fields; `htons(strtoul(v, 0))` keeps 16 bits and accepts 0x10. */
const greKey = (value: string): number => truncate(strtoul(value).value, 16);

const gre: ProtocolModule = {
  name: 'gre',
  number: Proto.GRE,
  codeBase: 0x31,
  options: [
    portOption('srckey', ['orig-key-src', 'srckey'], PORT_ROW, 'orig', 'sport', Proto.GRE, { parseValue: greKey }),
    portOption('dstkey', ['orig-key-dst', 'dstkey'], PORT_ROW, 'orig', 'dport', Proto.GRE, { parseValue: greKey }),
    portOption('reply-key-src', ['reply-key-src'], PORT_ROW, 'reply', 'sport', Proto.GRE, { parseValue: greKey }),
    portOption('reply-key-dst', ['reply-key-dst'], PORT_ROW, 'reply', 'dport', Proto.GRE, { parseValue: greKey }),
    portOption('mask-key-src', ['mask-key-src'], EXPECT_ONLY_ROW, 'mask', 'sport', Proto.GRE, { parseValue: greKey }),
    portOption('mask-key-dst', ['mask-key-dst'], EXPECT_ONLY_ROW, 'mask', 'dport', Proto.GRE, { parseValue: greKey }),
    portOption('tuple-key-src', ['tuple-key-src'], EXPECT_ONLY_ROW, 'expected', 'sport', Proto.GRE, { parseValue: greKey }),
    portOption('tuple-key-dst', ['tuple-key-dst'], EXPECT_ONLY_ROW, 'expected', 'dport', Proto.GRE, { parseValue: greKey }),
  ],
  pairRule: {
    pairs: [
      { options: [0, 1], message: "you have to specify `--srckey' and `--dstkey'" },
      { options: [2, 3], message: "you have to specify `--reply-src-key' and `--reply-dst-key'" },
    ],
  },
  help: [
    '  --orig-key-src\t\toriginal source key',
    '  --orig-key-dst\t\toriginal destination key',
    '  --reply-key-src\t\treply source key',
    '  --reply-key-dst\t\treply destination key',
    '  --mask-key-src\t\tmask source key',
    '  --mask-key-dst\t\tmask destination key',
    '  --tuple-key-src\t\texpectation tuple src key',
    '  --tuple-key-src\t\texpectation tuple dst key',
  ],
};

/**
 * The ICMP options. Setting the type also fixes the reply-direction type,
 * from the family the ORIGINAL direction has so far (an address parsed
 * later does not change it: defect 19). Each option also sets the reply l4
 * protocol when a reply address was given before it.
 */
function icmpModule(name: string, number: number): ProtocolModule {
  const icmpOption = (suffix: string, legal: LegalityRow, store: (target: ProtocolTarget, value: string) => void): ProtocolOption => ({
    flag: `${name}-${suffix}`,
    longs: [`${name}-${suffix}`],
    legal,
    parse(value, target) {
      store(target, value);
      target.template.orig.proto = number;
      if (target.template.reply.l3 !== undefined) target.template.reply.proto = number;
    },
  });
  return {
    name,
    number,
    codeBase: 0x31,
    options: [
      icmpOption('type', ICMP_MANDATORY_ROW, (target, value) => {
        const type = truncate(atoi(value), 8);
        target.template.orig.icmpType = type;
        const family = target.template.orig.l3;
        target.icmpReplyType = (family === undefined ? undefined : icmpReplyType(family, type)) ?? 255;
      }),
      icmpOption('code', ICMP_MANDATORY_ROW, (target, value) => (target.template.orig.icmpCode = truncate(atoi(value), 8))),
      icmpOption('id', ICMP_OPTIONAL_ROW, (target, value) => (target.template.orig.icmpId = port(value))),
    ],
    help: [`  --${name}-type\t\t\t${name} type`, `  --${name}-code\t\t\t${name} code`, `  --${name}-id\t\t\t${name} id`],
  };
}

/** The module for every protocol without options of its own. */
export const GENERIC_MODULE: ProtocolModule = {
  name: 'unknown',
  codeBase: 0,
  options: [],
  help: ['  no options (unsupported)'],
};

/** The built-in modules. */
export const PROTOCOL_MODULES: readonly ProtocolModule[] = [
  tcp,
  udpLike('udp', Proto.UDP),
  udpLike('udplite', Proto.UDPLITE),
  sctp,
  dccp,
  icmpModule('icmp', Proto.ICMP),
  icmpModule('icmpv6', Proto.ICMPV6),
  gre,
];

/** A resolved `-p` argument. */
export interface SelectedProtocol {
  readonly module: ProtocolModule;
  readonly number: number;
}

/**
 * Resolves `-p PROTO` as 1.4.7 does: a built-in name (any case), then
 * a name or alias of /etc/protocols (generic module even if the number has a
 * built-in one), then a number (strtoul base 0, whole string, at most 255).
 */
export function resolveProtocol(text: string, protocols: readonly ProtocolEntry[]): SelectedProtocol | undefined {
  const builtin = PROTOCOL_MODULES.find((m) => m.name.toLowerCase() === text.toLowerCase());
  if (builtin) return { module: builtin, number: builtin.number! };
  const entry = protocols.find((p) => p.name === text || p.aliases.includes(text));
  if (entry) return { module: GENERIC_MODULE, number: entry.number };
  const { value, end } = strtoul(text);
  if (end === 0 || end !== text.length || value > 255n) return undefined;
  const number = Number(value);
  return { module: PROTOCOL_MODULES.find((m) => m.number === number) ?? GENERIC_MODULE, number };
}

/** The name `-h -p` prints: the module's, or for the generic module the /etc/protocols name of the number. */
export function protocolHelpName(selected: SelectedProtocol, protocols: readonly ProtocolEntry[]): string {
  if (selected.module !== GENERIC_MODULE) return selected.module.name;
  return protocols.find((p) => p.number === selected.number)?.name ?? GENERIC_MODULE.name;
}
