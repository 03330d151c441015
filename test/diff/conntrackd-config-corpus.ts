/**
 * Config files for conntrackd, each with what 1.4.7 does with it (see
 * CorpusVerdict), and seeded edits of them (configMutations).
 * The differential config test runs them through the C daemon and through
 * our parser; the harness re-runs them against our whole daemon.
 *
 * A case's text holds placeholders, so that many cases can run at once in
 * one namespace: `@DIR@` is a directory of its own (lock file, socket, logs)
 * and `@PORT@` a UDP/TCP port of its own. The namespace needs the link that
 * corpusNetnsSetup() makes: `eth2` with 192.168.100.100/24 (the Debian
 * examples' dedicated link).
 */
import { readFileSync } from 'node:fs';

/**
 * `start`: it runs. `refuse`: the config is rejected (status and error line).
 * `fail`: the config is accepted (its warnings printed) but the daemon cannot
 * set itself up with it, and says so after them.
 */
export type CorpusVerdict = 'start' | 'refuse' | 'fail';

export interface CorpusCase {
  name: string;
  /** What 1.4.7 does with it; absent for generated files (configMutations). */
  expected?: CorpusVerdict;
  /** The file, with @DIR@ and @PORT@ to fill in (see materializeCase). */
  text: string;
}

/** The dedicated link of the corpus: the interface and address its sync cases use. */
export const CORPUS_LINK = { name: 'eth2', peer: 'eth2p', address: '192.168.100.100', prefix: 24 } as const;

/** `ip` commands (run inside the namespace) that make CORPUS_LINK. */
export function corpusNetnsSetup(): string[][] {
  const { name, peer, address, prefix } = CORPUS_LINK;
  return [
    ['link', 'add', name, 'type', 'veth', 'peer', 'name', peer],
    ['addr', 'add', `${address}/${prefix}`, 'dev', name],
    ['link', 'set', name, 'up'],
    ['link', 'set', peer, 'up'],
  ];
}

/** The case's file for its own directory and port. */
export function materializeCase(c: CorpusCase, dir: string, port: number): string {
  return c.text.replace(/@DIR@/g, dir).replace(/@PORT@/g, String(port));
}

const GENERAL_LINES = `	LockFile @DIR@/lock
	UNIX {
		Path @DIR@/sock
	}
`;
const GENERAL = `General {\n${GENERAL_LINES}}\n`;
const UDP = `	UDP {
		IPv4_address 192.168.100.100
		IPv4_Destination_Address 192.168.100.200
		Interface eth2
		Port @PORT@
	}
`;
const MULTICAST = `	Multicast {
		IPv4_address 225.0.0.50
		Group @PORT@
		IPv4_interface 192.168.100.100
		Interface eth2
	}
`;

/** A file with the usual General block, then `rest`. */
const withGeneral = (rest: string): string => GENERAL + rest;
/** A General block with `lines` added, then `rest`. */
const generalWith = (lines: string, rest = 'Stats {\n}\n'): string => `General {\n${GENERAL_LINES}${lines}}\n${rest}`;
/** A Sync block with one UDP link and `lines`. */
const syncWith = (lines: string, link = UDP): string => withGeneral(`Sync {\n${lines}${link}}\n`);
/** A Filter block with `items`. */
const filterWith = (items: string, head = 'Filter'): string => generalWith(`	${head} {\n${items}	}\n`);

const EDGE_CASES: readonly CorpusCase[] = [
  // Lexical rules
  { name: 'keywords are case-sensitive', expected: 'refuse', text: generalWith('	Lockfile /tmp/x\n') },
  { name: 'section names are case-sensitive', expected: 'refuse', text: `general {\n${GENERAL_LINES}}\n` },
  { name: 'booleans in any case', expected: 'start', text: generalWith('	NetlinkEventsReliable YES\n	Systemd oFf\n	NetlinkOverrunResync No\n') },
  { name: 'a number with hex letters lexes as an IPv6 address', expected: 'refuse', text: generalWith('	HashSize 12ab\n') },
  { name: 'hex number prefix', expected: 'refuse', text: generalWith('	HashSize 0x10\n') },
  { name: 'signed number where an unsigned one is due', expected: 'refuse', text: generalWith('	HashSize -5\n') },
  { name: 'number that wraps in a C int', expected: 'start', text: generalWith('	HashSize 4294967296\n	HashLimit 99999999999\n') },
  { name: 'path without a leading slash', expected: 'refuse', text: generalWith('	LogFile tmp/x.log\n') },
  { name: 'quote ends a path', expected: 'refuse', text: generalWith('	LogFile /tmp/"x.log\n') },
  { name: 'brace glued to a path belongs to it', expected: 'refuse', text: `General {\n	LockFile @DIR@/lock\n	UNIX { Path @DIR@/sock}\n}\n` },
  { name: 'comments anywhere', expected: 'start', text: `# head\nGeneral { # open\n	LockFile @DIR@/lock # lock\n	UNIX { Path @DIR@/sock } #\n}#tail\nStats{}\n` },
  { name: 'comment on a last line without newline', expected: 'refuse', text: withGeneral('Stats {\n}\n# no newline') },
  { name: 'CRLF line ends', expected: 'start', text: withGeneral('Stats {\r\n	LogFile off\r\n}\r\n') },
  { name: 'NUL inside a path ends it', expected: 'start', text: generalWith('	LogFile @DIR@/log\0.ignored\n') },
  { name: 'NUL ends the input', expected: 'start', text: withGeneral('Stats {\n}\n\0garbage {') },
  { name: 'unknown character', expected: 'refuse', text: generalWith('	HashSize 10;\n') },
  { name: 'missing closing brace', expected: 'refuse', text: `General {\n${GENERAL_LINES}Stats {\n}\n` },
  { name: 'extra closing brace', expected: 'refuse', text: withGeneral('Stats {\n}\n}\n') },
  { name: 'empty block and no mode at all', expected: 'start', text: GENERAL },
  { name: 'a stray | in the boolean character classes', expected: 'start', text: generalWith('	Systemd o|\n	NetlinkEventsReliable |o\n') },
  { name: 'keyword glued to its number', expected: 'refuse', text: generalWith('	HashSize10\n') },
  { name: 'overrun resync 0 and off', expected: 'start', text: generalWith('	NetlinkOverrunResync 0\n	NetlinkOverrunResync off\n') },
  { name: 'scheduler type in lower case', expected: 'start', text: generalWith('	Scheduler {\n		Type rr\n		Priority 1\n	}\n') },
  { name: 'non-ASCII byte', expected: 'refuse', text: generalWith('	HashSize 5 \u00e9\n') },
  { name: 'two General blocks and empty lists', expected: 'start', text: generalWith('	UNIX {\n	}\n	Filter {\n		Protocol Accept {\n		}\n		Address Ignore {\n		}\n		State Ignore {\n		}\n	}\n', `General {\n	HashSize 1024\n}\nStats {\n}\n`) },
  // General
  { name: 'every General option', expected: 'start', text: generalWith(
    '	HashSize 8192\n	HashLimit 65535\n	LogFile @DIR@/log\n	Syslog local3\n	SocketBufferSize 262142\n	SocketBufferSizeMaxGrown 655355\n	EventIterationLimit 50\n	NetlinkOverrunResync 10\n	NetlinkEventsReliable on\n	Scheduler {\n		Type FIFO\n		Priority 10\n	}\n	Systemd off\n') },
  { name: 'SocketBufferSizeMaxGrowth alias', expected: 'start', text: generalWith('	NetlinkBufferSize 262142\n	SocketBufferSizeMaxGrowth 655355\n') },
  { name: 'deprecated Nice', expected: 'start', text: generalWith('	Nice -5\n') },
  { name: 'Nice without a sign', expected: 'refuse', text: generalWith('	Nice 5\n') },
  { name: 'deprecated UNIX Backlog', expected: 'start', text: generalWith('	UNIX { Backlog 20 }\n') },
  { name: 'unknown syslog facility', expected: 'start', text: generalWith('	Syslog bogus\n', 'Stats {\n	Syslog other\n}\n') },
  { name: 'conflicting syslog facilities', expected: 'start', text: generalWith('	Syslog local1\n', 'Stats {\n	Syslog local2\n}\n') },
  { name: 'unknown scheduler', expected: 'refuse', text: generalWith('	Scheduler { Type OTHER }\n') },
  { name: 'scheduler priority out of range', expected: 'refuse', text: generalWith('	Scheduler { Type RR Priority 100 }\n') },
  { name: 'PollSecs 0', expected: 'refuse', text: generalWith('	PollSecs 0\n') },
  { name: 'PollSecs', expected: 'start', text: generalWith('	PollSecs 5\n') },
  { name: 'UNIX path too long', expected: 'refuse', text: generalWith(`	UNIX { Path /${'a'.repeat(107)} }\n`) },
  { name: 'LogFile path too long', expected: 'refuse', text: generalWith(`	LogFile /${'a'.repeat(256)}\n`) },
  { name: 'misplaced option in Stats', expected: 'refuse', text: withGeneral('Stats {\n	NetlinkEventsReliable on\n}\n') },
  { name: 'Stats LogFile', expected: 'start', text: withGeneral('Stats {\n	LogFile @DIR@/stats.log\n	Syslog off\n}\n') },
  // Filter
  { name: 'every Filter entry', expected: 'start', text: filterWith(
    '		Protocol Accept {\n			TCP\n			UDP\n			SCTP\n			IPv6-ICMP\n		}\n		Address Ignore {\n			IPv4_address 127.0.0.1\n			IPv4_address 10.0.0.0/8\n			IPv6_address ::1\n			IPv6_address fe80::/10\n		}\n		State Accept {\n			ESTABLISHED CLOSED TIME_WAIT for TCP\n			CLOSE LISTEN SYN_SENT for TCP\n		}\n') },
  { name: 'Filter From Kernelspace', expected: 'start', text: filterWith('		Protocol Ignore { UDP }\n', 'Filter From Kernelspace') },
  { name: 'Filter From nowhere', expected: 'refuse', text: filterWith('', 'Filter From Nowhere') },
  { name: 'unknown protocol name', expected: 'start', text: filterWith('		Protocol Accept { tcp bogus }\n') },
  { name: 'protocol number in a Protocol filter', expected: 'refuse', text: filterWith('		Protocol Accept { 6 }\n') },
  { name: 'state list without for TCP', expected: 'refuse', text: filterWith('		State Accept { ESTABLISHED }\n') },
  { name: 'state list for UDP', expected: 'refuse', text: filterWith('		State Accept { ESTABLISHED for UDP }\n') },
  { name: 'address without its family keyword', expected: 'refuse', text: filterWith('		Address Accept { 1.2.3.4 }\n') },
  { name: 'bad prefix and bad and repeated addresses', expected: 'start', text: filterWith(
    '		Address Ignore {\n			IPv4_address 10.0.0.0/33\n			IPv4_address 300.1.1.1\n			IPv4_address 1.2.3.4\n			IPv4_address 1.2.3.4/32\n			IPv4_address 10.0.0.0/8\n			IPv4_address 10.0.0.0/8\n		}\n') },
  { name: 'IPv6 address with two gaps', expected: 'refuse', text: filterWith('		Address Ignore {\n			IPv6_address 1:2::3::4\n		}\n') },
  { name: 'IPv6 forms', expected: 'start', text: filterWith('		Address Accept {\n			IPv6_address ::\n			IPv6_address 2001:db8::/32\n			IPv6_address 1:2:3:4:5:6:7:8\n			IPv6_address ::/0\n			IPv6_address fe80::1/129\n		}\n') },
  { name: 'IPv6 with nine groups', expected: 'refuse', text: filterWith('		Address Accept {\n			IPv6_address 1:2:3:4:5:6:7:8:9\n		}\n') },
  { name: 'IPv6 with an IPv4 tail', expected: 'refuse', text: filterWith('		Address Accept {\n			IPv6_address ::ffff:1.2.3.4\n		}\n') },
  { name: 'IPv4 with octal and long parts', expected: 'start', text: filterWith('		Address Accept {\n			IPv4_address 010.0.0.1\n			IPv4_address 0001.2.3.4/024\n			IPv4_address 08.1.1.1\n		}\n') },
  // Sync
  { name: 'Sync and Stats', expected: 'refuse', text: syncWith('	Mode FTFW {\n	}\n') + 'Stats {\n}\n' },
  { name: 'Stats and Sync', expected: 'refuse', text: withGeneral('Stats {\n}\nSync {\n	Mode FTFW {\n	}\n}\n') },
  { name: 'no Mode defaults to FTFW', expected: 'start', text: syncWith('') },
  { name: 'every FTFW option', expected: 'start', text: syncWith(
    '	Mode FTFW {\n		ResendQueueSize 1000\n		CommitTimeout 10\n		PurgeTimeout 5\n		ACKWindowSize 20\n		DisableExternalCache off\n		StartupResync on\n	}\n	Options {\n		TCPWindowTracking on\n		ExpectationSync {\n			ftp\n			sip\n		}\n	}\n') },
  { name: 'ALARM timers', expected: 'start', text: syncWith('	Mode ALARM {\n		RefreshTime 5\n		CacheTimeout 20\n		CommitTimeout 3\n		PurgeTimeout 4\n	}\n	RefreshTime 6\n') },
  { name: 'NOTRACK caches', expected: 'start', text: syncWith('	Mode NOTRACK {\n		DisableInternalCache on\n		DisableExternalCache on\n	}\n	Options { ExpectationSync on }\n') },
  { name: 'CommitTimeout with DisableExternalCache', expected: 'start', text: syncWith('	Mode FTFW {\n		CommitTimeout 5\n		DisableExternalCache on\n	}\n') },
  { name: 'mode names in any case', expected: 'start', text: syncWith('	Mode nOtRaCk {\n	}\n') },
  { name: 'old nack mode name', expected: 'start', text: syncWith('	Mode nack {\n	}\n') },
  { name: 'old persistent mode name', expected: 'start', text: syncWith('	Mode PERSISTENT {\n	}\n') },
  { name: 'persistent with a lower-case t', expected: 'refuse', text: syncWith('	Mode persistent {\n	}\n') },
  { name: 'FTFW option in ALARM', expected: 'refuse', text: syncWith('	Mode ALARM {\n		ResendQueueSize 10\n	}\n') },
  { name: 'RefreshTime in FTFW', expected: 'refuse', text: syncWith('	Mode FTFW {\n		RefreshTime 10\n	}\n') },
  { name: 'unknown mode', expected: 'refuse', text: syncWith('	Mode FAST {\n	}\n') },
  { name: 'multicast link', expected: 'start', text: syncWith('	Mode FTFW {\n	}\n', MULTICAST.replace('	}\n', '		SndSocketBuffer 1249280\n		RcvSocketBuffer 1249280\n		Checksum off\n		IPv6_interface ::1\n	}\n')) },
  { name: 'Default links, up to 4', expected: 'start', text: syncWith('	Mode FTFW {\n	}\n' + UDP + UDP.replace('UDP {', 'UDP Default {') + UDP, UDP) },
  { name: 'more than 4 links', expected: 'refuse', text: syncWith('	Mode FTFW {\n	}\n' + UDP + UDP + UDP + UDP) },
  { name: 'mixed link types', expected: 'refuse', text: syncWith('	Mode FTFW {\n	}\n' + MULTICAST) },
  { name: 'invalid link addresses and interface', expected: 'fail', text: syncWith('	Mode FTFW {\n	}\n', '	UDP {\n		IPv4_address 192.168.100.100\n		IPv4_Destination_Address 1.2.3.4/24\n		IPv4_Destination_Address 192.168.100.200\n		Interface eth9\n		Port @PORT@\n	}\n') },
  { name: 'multicast IPv6 group after Interface', expected: 'fail', text: syncWith('', '	Multicast {\n		Interface eth2\n		IPv6_address ff02::1\n		IPv4_address 225.0.0.50\n		Group @PORT@\n	}\n') },
  { name: 'interface name that lexes as an address', expected: 'refuse', text: syncWith('', '	UDP {\n		Interface cafe\n	}\n') },
  { name: 'Destination in a multicast link', expected: 'refuse', text: syncWith('', MULTICAST.replace('Group', 'IPv4_Destination_Address 1.2.3.4\n		Group')) },
  { name: 'ErrorQueueLength in UDP', expected: 'refuse', text: syncWith('', UDP.replace('Port', 'ErrorQueueLength 10\n		Port')) },
  { name: 'Checksum without a value', expected: 'refuse', text: syncWith('', UDP.replace('Port', 'Checksum\n		Port')) },
  { name: 'ALARM wins over NOTRACK', expected: 'start', text: syncWith('	Mode NOTRACK {\n	}\n	Mode ALARM {\n	}\n	Options {\n		ExpectationSync {\n		}\n		TCPWindowTracking no\n	}\n') },
  { name: 'TCP link', expected: 'start', text: syncWith('	Mode FTFW {\n	}\n', UDP.replace('UDP', 'TCP').replace('Port', 'ErrorQueueLength 64\n		Checksum on\n		Port')) },
  { name: 'Sync without a link', expected: 'fail', text: withGeneral('Sync {\n	Mode FTFW {\n	}\n}\n') },
  { name: 'interface name longer than IFNAMSIZ', expected: 'fail', text: syncWith('', UDP.replace('eth2', 'abcdefghijklmnopqrst')) },
  { name: 'polling mode with Sync', expected: 'start', text: generalWith('	PollSecs 3\n', `Sync {\n	Mode FTFW {\n	}\n${UDP}}\n`) },
  { name: 'IPv6 link', expected: 'start', text: syncWith('	Mode FTFW {\n	}\n', '	UDP {\n		IPv6_address ::1\n		IPv6_Destination_Address ::1\n		Interface lo\n		Port @PORT@\n	}\n') },
  { name: 'kernel-space filter with every mode option', expected: 'start', text: generalWith(
    '	Filter From Kernelspace {\n		Address Accept { IPv4_address 1.2.3.0/24 }\n		State Accept { LISTEN for TCP }\n	}\n',
    `Sync {\n	Mode NOTRACK {\n		DisableInternalCache on\n		DisableExternalCache on\n	}\n	Options { ExpectationSync on }\n${UDP}}\n`) },
  { name: 'a Mode block twice', expected: 'start', text: syncWith('	Mode FTFW {\n		ACKWindowSize 5\n	}\n	Mode FTFW {\n		ResendQueueSize 7\n	}\n') },
  { name: 'TCPWindowTracking without a boolean', expected: 'refuse', text: syncWith('	Options {\n		TCPWindowTracking 1\n	}\n') },
  // Helper
  { name: 'unknown helper', expected: 'refuse', text: withGeneral('Helper {\n	Type bogus inet tcp {\n	}\n}\n') },
  { name: 'helper for the wrong protocol', expected: 'refuse', text: withGeneral('Helper {\n	Type ftp inet udp {\n	}\n}\n') },
  { name: 'unknown layer 3 protocol', expected: 'refuse', text: withGeneral('Helper {\n	Type ftp ipx tcp {\n	}\n}\n') },
  { name: 'unknown layer 4 protocol', expected: 'refuse', text: withGeneral('Helper {\n	Type ftp inet sctp {\n	}\n}\n') },
  { name: 'unknown helper policy', expected: 'refuse', text: withGeneral('Helper {\n	Setup no\n	Type ftp inet tcp {\n		QueueNum 5\n		Policy foo {\n			ExpectMax 1\n		}\n	}\n}\n') },
  { name: 'empty helper policy', expected: 'refuse', text: withGeneral('Helper {\n	Type ftp inet tcp {\n		Policy ftp {\n		}\n	}\n}\n') },
  { name: 'helper Setup without a boolean', expected: 'refuse', text: withGeneral('Helper {\n	Setup 1\n}\n') },
  { name: 'upper-case protocol in a helper Type', expected: 'refuse', text: withGeneral('Helper {\n	Type ftp inet TCP {\n	}\n}\n') },
  { name: 'nested helper Type with an unknown helper', expected: 'refuse', text: withGeneral('Helper {\n	QueueNum 1\n	Type ftp inet tcp {\n		Type bogus inet udp {\n		}\n	}\n}\n') },
  { name: 'helper policy name too long', expected: 'refuse', text: withGeneral('Helper {\n	Type ftp inet tcp {\n		Policy abcdefghijklmnopq {\n			ExpectTimeout 1\n		}\n	}\n}\n') },
];

/** The Debian example configs, with their paths, link and port made the test's own. */
const EXAMPLES = [
  '/usr/share/doc/conntrackd/examples/stats/conntrackd.conf',
  '/usr/share/doc/conntrackd/examples/sync/ftfw/conntrackd.conf',
  '/usr/share/doc/conntrackd/examples/sync/notrack/conntrackd.conf',
  '/usr/share/doc/conntrackd/examples/sync/alarm/conntrackd.conf',
];

/** An example config made runnable in the corpus namespace (the files must exist: the test fails loudly if not). */
export function exampleCase(file: string): CorpusCase {
  const text = readFileSync(file, 'latin1')
    .replace(/^(\s*)LogFile on/gm, '$1LogFile @DIR@/log')
    .replace(/^(\s*)LockFile \S+/gm, '$1LockFile @DIR@/lock')
    .replace(/^(\s*)Path \S+/gm, '$1Path @DIR@/sock')
    .replace(/^(\s*)Group \d+/gm, '$1Group @PORT@');
  return { name: `example ${file.split('/').slice(-2).join('/')}`, expected: 'start', text };
}

/** The whole corpus: the Debian examples, then the edge cases. */
export function configCorpus(): CorpusCase[] {
  return [...EXAMPLES.map(exampleCase), ...EDGE_CASES];
}

/** Words and characters the mutations insert: tokens of every kind, and some that are none. */
const VOCABULARY = [
  '{', '}', 'on', 'off', 'yes', 'No', '5', '0', '-3', '1.2.3.4', '10.0.0.0/8', '::1', 'fe80::/64', '/tmp/x', 'eth2',
  'foo', 'ftfw', 'ALARM', 'nack', 'NOTRACK', '#c\n', ';', '\n', 'Default', 'General', 'Sync', 'Stats', 'Helper',
  'UNIX', 'Path', 'Mode', 'UDP', 'TCP', 'Multicast', 'Filter', 'From', 'Protocol', 'Address', 'State', 'Accept',
  'Ignore', 'for', 'ESTABLISHED', 'IPv4_address', 'IPv6_address', 'Interface', 'Port', 'Group', 'HashSize',
  'Options', 'ExpectationSync', 'Type', 'Policy', 'ExpectMax', 'QueueNum', 'Scheduler', 'Priority', 'Nice',
  'Backlog', 'CommitTimeout', 'DisableExternalCache', 'Setup', 'ftp', 'inet', 'tcp', 'cafe', 'daemon',
];
const CHARACTERS = '.:/-_|#"0aZ\t\n\r{}';
/** Tokens the mutations leave alone, so that every file keeps its own lock file and logs. */
const PROTECTED = /@|LockFile|LogFile|Syslog/;

/**
 * `count` files made from the corpus's accepted ones by one to three seeded
 * edits each, with no verdict of their own: 1.4.7 decides. An edit may make
 * a file use the system's default lock file (by commenting its LockFile out,
 * say): run only those that keep to their directory.
 */
export function configMutations(count: number, seed: number): CorpusCase[] {
  let state = seed;
  const random = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state % n;
  };
  const bases = configCorpus().filter((c) => c.expected === 'start');
  return Array.from({ length: count }, (_, i) => {
    const base = bases[random(bases.length)]!;
    const tokens = base.text.split(/(\s+)/);
    const edits = 1 + random(3);
    for (let e = 0; e < edits; e++) {
      const at = random(tokens.length);
      const token = tokens[at]!;
      if (PROTECTED.test(token)) continue;
      const word = VOCABULARY[random(VOCABULARY.length)]!;
      const ch = random(Math.max(token.length, 1));
      switch (random(5)) {
        case 0:
          tokens.splice(at, 1);
          break;
        case 1:
          tokens.splice(at, 0, ` ${word} `);
          break;
        case 2:
          tokens[at] = ` ${word} `;
          break;
        case 3:
          tokens[at] = token.slice(0, ch) + (token[ch] ?? '').toUpperCase() + token.slice(ch + 1);
          break;
        default:
          tokens[at] = token.slice(0, ch) + CHARACTERS[random(CHARACTERS.length)] + token.slice(ch + random(2));
      }
    }
    return { name: `mutation ${i} of ${base.name}`, text: tokens.join('') };
  });
}
