/**
 * conntrackd.conf parsing: the lexer's cuts, every option and its default,
 * aliases, warnings, fatal errors with 1.4.7's texts, and the Debian example
 * configs. The expectations come from running 1.4.7 on the same text (the
 * differential test checks the corpus against it continuously).
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Config } from '../../src/conntrackd/config/config';
import { Lexer } from '../../src/conntrackd/config/lexer';
import { ConfigError, parseConfig, readConfig, type ParseResult } from '../../src/conntrackd/config/parse';

const PROTOCOLS: Readonly<Record<string, number>> = { tcp: 6, TCP: 6, udp: 17, UDP: 17, sctp: 132, SCTP: 132, dccp: 33, DCCP: 33 };
const options = {
  interfaceExists: (name: string) => name === 'eth2' || name === 'lo',
  protocolNumber: (name: string) => PROTOCOLS[name],
};
const parse = (text: string): ParseResult => parseConfig(text, options);

/** The error parseConfig throws for `text`, with the warnings printed before it. */
function failure(text: string): { message: string; warnings: readonly string[] } {
  try {
    parse(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return { message: err.message, warnings: err.warnings };
  }
  assert.fail(`accepted: ${text}`);
}

const GENERAL = 'General {\n\tLockFile /run/l\n\tUNIX { Path /run/s }\n}\n';
const UDP = 'UDP {\n IPv4_address 192.168.100.100\n IPv4_Destination_Address 192.168.100.200\n Interface eth2\n Port 3780\n}\n';
const sync = (lines: string): string => `${GENERAL}Sync {\n${lines}\n}\n`;
const general = (lines: string): string => `General {\n${lines}\n}\n`;

const DEFAULT_GENERAL: Config['general'] = {
  hashSize: 65536,
  hashLimit: 262144,
  lockFile: '/var/lock/conntrackd.lock',
  netlinkOverrunResync: 30,
  netlinkEventsReliable: false,
  eventIterationLimit: 100,
  systemd: true,
};

describe('lexer', () => {
  const tokens = (text: string): string[] => {
    const warnings: string[] = [];
    const lexer = new Lexer(text, (w) => warnings.push(w));
    const out: string[] = [];
    for (let t = lexer.next(); t.kind !== 'eof'; t = lexer.next()) out.push(`${t.kind}:${t.value}@${t.line}`);
    return [...out, ...warnings.map((w) => `warning:${w}`)];
  };

  const cases: [string, string[]][] = [
    ['LockFile Lockfile', ['keyword:LockFile@1', 'word:Lockfile@1']],
    ['on ON yes No OFF o| || |o', ['on:on@1', 'on:ON@1', 'on:yes@1', 'off:No@1', 'off:OFF@1', 'on:o|@1', 'on:||@1', 'off:|o@1']],
    ['12 12ab cafe f dhcpv6 -5 +7', ['number:12@1', 'ip:12ab@1', 'ip:cafe@1', 'ip:f@1', 'word:dhcpv6@1', 'signed:-5@1', 'signed:+7@1']],
    ['1.2.3.4/24 999.1.1.1 ::1 fe80::/10 1:2:3:4:5:6:7:8', ['ip:1.2.3.4/24@1', 'ip:999.1.1.1@1', 'ip:::1@1', 'ip:fe80::/10@1', 'ip:1:2:3:4:5:6:7:8@1']],
    ['1:2::3::4', ['ip:1:2::3:@1', 'char::@1', 'number:4@1']],
    ['/a/b}\t#x y', ['path:/a/b}\t#x@1', 'word:y@1']],
    ['x # c\ny\r\n# end', ['word:x@1', 'word:y@2', 'char:#@3', 'word:end@3']],
    ['ALARM ftfw NoTrack persistenT persistent', ['mode:alarm@1', 'mode:ftfw@1', 'mode:notrack@1', 'mode:alarm@1', 'word:persistent@1', "warning:Now `persistent' mode is called `alarm'. Please, update your conntrackd.conf file."]],
    ['NACK', ['mode:ftfw@1', "warning:Now `nack' mode is called `ftfw'. Please, update your conntrackd.conf file.\n"]],
    ['SocketBufferSizeMaxGrown CLOSE UNIXy IPv6-ICMP', ['keyword:NetlinkBufferSizeMaxGrowth@1', 'keyword:CLOSED@1', 'word:UNIXy@1', 'word:IPv6-ICMP@1']],
    ['x;{}\0y', ['word:x@1', 'char:;@1', 'char:{@1', 'char:}@1']],
    ['/a\0b x', ['path:/a@1', 'word:x@1']],
  ];
  for (const [text, expected] of cases) {
    test(JSON.stringify(text), () => assert.deepEqual(tokens(text), expected));
  }
});

describe('defaults', () => {
  test('a General block alone', () => {
    assert.deepEqual(parse(general('')), { config: { general: DEFAULT_GENERAL }, warnings: [], modeWarnings: [] });
  });

  test('an empty file', () => {
    assert.deepEqual(parse('').config, { general: DEFAULT_GENERAL });
  });

  test('Sync with nothing in it: FTFW, with a warning when the mode starts', () => {
    const r = parse(sync(''));
    assert.deepEqual(r.config.sync, {
      mode: 'ftfw',
      resendQueueSize: 131072,
      ackWindowSize: 300,
      purgeTimeout: 60,
      refreshTime: 60,
      cacheTimeout: 180,
      disableExternalCache: false,
      disableInternalCache: false,
      startupResync: false,
      channels: [],
      tcpWindowTracking: false,
    });
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.modeWarnings, ['No synchronization mode specified. Defaulting to FT-FW mode.']);
  });

  test('a channel: checksum on, IPv4, TCP error queue 128', () => {
    const r = parse(sync(`Mode FTFW { }\n${UDP.replace('UDP', 'TCP Default')}`));
    assert.deepEqual(r.config.sync!.channels, [
      {
        kind: 'tcp',
        isDefault: true,
        family: 4,
        checksum: true,
        address: '192.168.100.100',
        destination: '192.168.100.200',
        interface: 'eth2',
        port: 3780,
        errorQueueLength: 128,
      },
    ]);
  });

  test('0 means the default for the sizes and timers', () => {
    const r = parse(
      general('HashSize 0 HashLimit 0 EventIterationLimit 0 NetlinkOverrunResync 0') +
        'Sync { Mode FTFW { ResendQueueSize 0 ACKWindowSize 0 PurgeTimeout 0 CommitTimeout 0 } RefreshTime 0 CacheTimeout 0 }\n',
    );
    assert.deepEqual(r.config.general, { ...DEFAULT_GENERAL, lockFile: '/var/lock/conntrackd.lock' });
    const s = r.config.sync!;
    assert.deepEqual([s.resendQueueSize, s.ackWindowSize, s.purgeTimeout, s.refreshTime, s.cacheTimeout, s.commitTimeout], [131072, 300, 60, 60, 180, undefined]);
  });
});

describe('options', () => {
  // [file text, what to look at, its value]
  const cases: [string, (c: Config) => unknown, unknown][] = [
    [general('HashSize 8192'), (c) => c.general.hashSize, 8192],
    [general('HashSize 4294967297'), (c) => c.general.hashSize, 1],
    [general('HashLimit 65535'), (c) => c.general.hashLimit, 65535],
    [general('LogFile on'), (c) => c.general.logFile, '/var/log/conntrackd.log'],
    [general('LogFile /x/y.log'), (c) => c.general.logFile, '/x/y.log'],
    [general('LogFile /x/y.log LogFile off'), (c) => c.general.logFile, '/x/y.log'],
    [general('Syslog on'), (c) => c.general.syslog, 'daemon'],
    [general('Syslog local7'), (c) => c.general.syslog, 'local7'],
    [general('Syslog local7 Syslog off'), (c) => c.general.syslog, undefined],
    [general('LockFile /a/b'), (c) => c.general.lockFile, '/a/b'],
    [general('UNIX { Path /a/s Backlog 5 }'), (c) => c.general.unixPath, '/a/s'],
    [general(`UNIX { Path /${'a'.repeat(106)} }`), (c) => c.general.unixPath!.length, 106],
    [general('NetlinkBufferSize 100 NetlinkBufferSizeMaxGrowth 200'), (c) => [c.general.netlinkBufferSize, c.general.netlinkBufferSizeMaxGrowth], [100, 200]],
    [general('SocketBufferSize 1 SocketBufferSizeMaxGrown 2'), (c) => [c.general.netlinkBufferSize, c.general.netlinkBufferSizeMaxGrowth], [1, 2]],
    [general('SocketBufferSizeMaxGrowth 3'), (c) => c.general.netlinkBufferSizeMaxGrowth, 3],
    [general('NetlinkOverrunResync on'), (c) => c.general.netlinkOverrunResync, 30],
    [general('NetlinkOverrunResync off'), (c) => c.general.netlinkOverrunResync, 0],
    [general('NetlinkOverrunResync 7'), (c) => c.general.netlinkOverrunResync, 7],
    [general('NetlinkEventsReliable yes'), (c) => c.general.netlinkEventsReliable, true],
    [general('EventIterationLimit 7'), (c) => c.general.eventIterationLimit, 7],
    [general('PollSecs 9'), (c) => c.general.pollSecs, 9],
    [general('Scheduler { Type fifo Priority 5 }'), (c) => c.general.scheduler, { type: 'FIFO', priority: 5 }],
    [general('Scheduler { Type RR }'), (c) => c.general.scheduler, { type: 'RR', priority: 0 }],
    // Without a Type the daemon keeps its RR 99 (observed with chrt).
    [general('Scheduler { Priority 5 }'), (c) => c.general.scheduler, undefined],
    [general('Systemd off'), (c) => c.general.systemd, false],
    [general('Nice -5'), (c) => c.general, DEFAULT_GENERAL],
    [general('Filter { }'), (c) => c.general.filter, { kernelspace: false }],
    [general('Filter From Kernelspace { }'), (c) => c.general.filter, { kernelspace: true }],
    [general('Filter From Userspace { Protocol Accept { TCP udp SCTP } Protocol Ignore { DCCP TCP } }'), (c) => c.general.filter!.protocol, { policy: 'ignore', protocols: [6, 17, 132, 33] }],
    [
      general('Filter { Address Ignore { IPv4_address 127.0.0.1 IPv4_address 010.0.0.0/8 IPv6_address ::1 IPv6_address FE80::/10 } }'),
      (c) => c.general.filter!.address,
      {
        policy: 'ignore',
        addresses: [
          { family: 4, address: '127.0.0.1', prefix: 32 },
          { family: 4, address: '8.0.0.0', prefix: 8 },
          { family: 6, address: '::1', prefix: 128 },
          { family: 6, address: 'fe80::', prefix: 10 },
        ],
      },
    ],
    [general('Filter { State Accept { SYN_SENT SYN_RECV ESTABLISHED FIN_WAIT for TCP CLOSE_WAIT LAST_ACK TIME_WAIT CLOSE CLOSED LISTEN for TCP for TCP } }'), (c) => c.general.filter!.state, { policy: 'accept', states: [1, 2, 3, 4, 5, 6, 7, 8, 10] }],
    [sync('Mode ALARM { RefreshTime 5 CacheTimeout 6 CommitTimeout 7 PurgeTimeout 8 }'), (c) => { const s = c.sync!; return [s.mode, s.refreshTime, s.cacheTimeout, s.commitTimeout, s.purgeTimeout]; }, ['alarm', 5, 6, 7, 8]],
    [sync('RefreshTime 5 CacheTimeout 6 CommitTimeout 7 PurgeTimeout 8'), (c) => { const s = c.sync!; return [s.refreshTime, s.cacheTimeout, s.commitTimeout, s.purgeTimeout]; }, [5, 6, 7, 8]],
    [sync('Mode FTFW { ResendQueueSize 9 ACKWindowSize 10 DisableExternalCache on StartupResync on }'), (c) => { const s = c.sync!; return [s.mode, s.resendQueueSize, s.ackWindowSize, s.disableExternalCache, s.startupResync]; }, ['ftfw', 9, 10, true, true]],
    [sync('Mode NOTRACK { DisableInternalCache on DisableExternalCache on StartupResync on }'), (c) => { const s = c.sync!; return [s.mode, s.disableInternalCache, s.disableExternalCache, s.startupResync]; }, ['notrack', true, true, true]],
    // Both blocks set their flag; FTFW wins over ALARM, ALARM over NOTRACK (observed with -n).
    [sync('Mode NOTRACK { } Mode ALARM { }'), (c) => c.sync!.mode, 'alarm'],
    [sync('Mode ALARM { } Mode FTFW { }'), (c) => c.sync!.mode, 'ftfw'],
    [sync('Mode nack { }'), (c) => c.sync!.mode, 'ftfw'],
    [sync('Options { TCPWindowTracking on ExpectationSync on }'), (c) => [c.sync!.tcpWindowTracking, c.sync!.expectationSync], [true, 'all']],
    [sync('Options { ExpectationSync { ftp sip } }'), (c) => c.sync!.expectationSync, ['ftp', 'sip']],
    [sync('Options { ExpectationSync on ExpectationSync off }'), (c) => c.sync!.expectationSync, undefined],
    [sync('Options { ExpectationSync on ExpectationSync { ftp } ExpectationSync on }'), (c) => c.sync!.expectationSync, ['ftp']],
    [sync('Options { ExpectationSync { } }'), (c) => c.sync!.expectationSync, 'all'],
    [`${general(`LockFile /${'a'.repeat(255)}`)}`, (c) => c.general.lockFile.length, 255],
    [`${general('HashSize 5')}${general('HashLimit 6 HashSize 7')}`, (c) => [c.general.hashSize, c.general.hashLimit], [7, 6]],
    [sync('UDP Default { Port 1 } UDP { Port 2 } UDP Default { Port 3 }'), (c) => c.sync!.channels.map((ch) => ch.isDefault), [true, false, true]],
    [
      sync('Multicast Default { IPv4_address 225.0.0.50 Group 3780 IPv4_interface 192.168.100.100 Interface eth2 SndSocketBuffer 1249280 RcvSocketBuffer 1249281 Checksum off }'),
      (c) => c.sync!.channels,
      [{ kind: 'multicast', isDefault: true, family: 4, checksum: false, address: '225.0.0.50', interfaceAddress: '192.168.100.100', interface: 'eth2', port: 3780, sndSocketBuffer: 1249280, rcvSocketBuffer: 1249281 }],
    ],
    [sync('UDP { IPv6_address fe80::1 IPv6_Destination_Address fe80::2 Port 70000 }'), (c) => c.sync!.channels, [{ kind: 'udp', isDefault: false, family: 6, checksum: true, address: 'fe80::1', destination: 'fe80::2', port: 4464 }]],
    [sync('TCP { ErrorQueueLength 64 } TCP { }'), (c) => c.sync!.channels.map((ch) => ch.errorQueueLength), [64, 64]],
    [`${GENERAL}Stats { LogFile on Syslog local1 }`, (c) => c.stats, { logFile: '/var/log/conntrackd-stats.log', syslog: 'local1' }],
    [`${GENERAL}Stats { LogFile /s.log Syslog on Syslog off }`, (c) => c.stats, { logFile: '/s.log' }],
    [`${GENERAL}Stats { }`, (c) => c.stats, {}],
    [
      // The last Type is first in 1.4.7's list; the first QueueNum pushed is the one that stays.
      'Helper { Setup off QueueNum 9 Type ftp inet tcp { QueueNum 1 QueueNum 2 QueueLen 3 Policy ftp { ExpectTimeout 300 } } Type rpc inet6 udp { Policy rpc { ExpectMax 2 ExpectTimeout 4 } } }',
      (c) => c.helper,
      {
        setup: false,
        types: [
          { name: 'rpc', family: 6, protocol: 'udp', policies: [{ name: 'rpc', expectMax: 2, expectTimeout: 4 }] },
          { name: 'ftp', family: 4, protocol: 'tcp', queueNum: 9, queueLen: 3, policies: [{ name: 'ftp', expectMax: 0, expectTimeout: 300 }] },
        ],
      },
    ],
  ];
  for (const [text, pick, expected] of cases) {
    test(text.replace(GENERAL, '').replace(/\s+/g, ' ').slice(0, 110), () => assert.deepEqual(pick(parse(text).config), expected));
  }
});

describe('warnings', () => {
  // [file text, warnings while reading, warnings when the mode starts]
  const cases: [string, string[], string[]?][] = [
    [general('Nice -5'), ['deprecated nice configuration, ignoring. The nice value can be set externally with nice(1) and renice(1).']],
    [general('UNIX { Backlog 5 }'), ['deprecated unix backlog configuration, ignoring.']],
    [general('Syslog bogus') + 'Stats { Syslog other }', ["'bogus' is not a known syslog facility, ignoring", "'other' is not a known syslog facility, ignoring."]],
    [general('Syslog local1') + 'Stats { Syslog local2 }', ['conflicting Syslog facility values, defaulting to General']],
    [general('Syslog on') + 'Stats { Syslog local2 }', ['conflicting Syslog facility values, defaulting to General']],
    [general('Syslog local1') + 'Stats { Syslog on }', []],
    [general('Filter { Protocol Accept { bogus } }'), ["getprotobyname() cannot find protocol `bogus' in /etc/protocols"]],
    [
      general('Filter { Address Ignore { IPv4_address 10.0.0.0/33 IPv4_address 300.1.1.1 IPv4_address 1.2.3.4 IPv4_address 1.2.3.4/32 IPv4_address 10.0.0.0/8 IPv4_address 10.0.0.0/8 IPv6_address fe80::/129 IPv6_address 1:: IPv6_address fe80::/10 IPv6_address fe80::/10 } }'),
      ['10.0.0.0/33 is not a valid network, ignoring', '300.1.1.1 is not a valid IPv4, ignoring', 'netmask 10.0.0.0 is repeated in the ignore pool', 'fe80::/129 is not a valid network, ignoring'],
    ],
    [sync('Mode nack { }'), ["Now `nack' mode is called `ftfw'. Please, update your conntrackd.conf file.\n"]],
    [sync('Mode persistenT { }'), ["Now `persistent' mode is called `alarm'. Please, update your conntrackd.conf file."]],
    [sync(''), [], ['No synchronization mode specified. Defaulting to FT-FW mode.']],
    [sync('Mode FTFW { CommitTimeout 5 DisableExternalCache on }'), [], ["`CommitTimeout' can't be combined with `DisableExternalCache', ignoring this option. Fix your configuration file."]],
    [sync('Mode FTFW { } UDP { IPv4_address 1.2.3.4/24 IPv6_Destination_Address 1:2::3 Interface eth9 }'), ['1.2.3.4/24 is not a valid IPv4 address', 'eth9 is an invalid interface']],
    [sync('Mode FTFW { } Multicast { IPv6_interface ::1 }'), ["`IPv6_interface' not required, ignoring"]],
    [
      sync('Mode FTFW { } Multicast { Interface eth2 IPv6_address ff02::1 IPv4_address 225.0.0.1 IPv4_interface 1.2.3.4 }'),
      [
        'ff02::1 is an invalid interface',
        'your multicast address is IPv4 but is binded to an IPv6 interface? Surely, this is not what you want',
        'your multicast interface is IPv4 but is binded to an IPv6 interface? Surely, this is not what you want',
      ],
    ],
    [sync('Mode FTFW { } Multicast { IPv4_address 225.0.0.1 IPv6_address ff02::1 }'), ['your multicast address is IPv6 but is binded to an IPv4 interface? Surely this is not what you want']],
  ];
  for (const [text, warnings, modeWarnings = []] of cases) {
    test(text.replace(GENERAL, '').replace(/\s+/g, ' ').slice(0, 110), () => {
      const r = parse(text);
      assert.deepEqual([r.warnings, r.modeWarnings], [warnings, modeWarnings]);
    });
  }
});

describe('fatal errors', () => {
  // [file text, 1.4.7's message, warnings printed before it]
  const cases: [string, string, string[]?][] = [
    [general('\tLockfile /x'), "parsing config file in line (2), symbol 'Lockfile': syntax error"],
    ['General {\n\tHashSize 0x10\n}', "parsing config file in line (2), symbol 'x10': syntax error"],
    ['General {\n\tHashSize -5\n}', "parsing config file in line (2), symbol '-5': syntax error"],
    ['General {\n\tHashSize 12ab\n}', "parsing config file in line (2), symbol '12ab': syntax error"],
    ['General {\n\tLogFile tmp/x\n}', "parsing config file in line (2), symbol 'tmp': syntax error"],
    ['General {\n\tUNIX { Path /s}\n}\n', "parsing config file in line (4), symbol '': syntax error"],
    ['General {\n}\n# last line', "parsing config file in line (3), symbol '#': syntax error"],
    ['General {\n}\n}', "parsing config file in line (3), symbol '}': syntax error"],
    ['Stats { NetlinkEventsReliable on }', "parsing config file in line (1), symbol 'NetlinkEventsReliable': syntax error"],
    ['General { Nice 5 }', "parsing config file in line (1), symbol '5': syntax error"],
    ['General { Nice -5 HashSize x }', "parsing config file in line (1), symbol 'x': syntax error", ['deprecated nice configuration, ignoring. The nice value can be set externally with nice(1) and renice(1).']],
    ['Sync { Mode nack { } Mode x { } }', "parsing config file in line (1), symbol 'x': syntax error", ["Now `nack' mode is called `ftfw'. Please, update your conntrackd.conf file.\n"]],
    ['Sync { Mode persistent { } }', "parsing config file in line (1), symbol 'persistent': syntax error"],
    ['Sync { Mode ALARM { ResendQueueSize 1 } }', "parsing config file in line (1), symbol 'ResendQueueSize': syntax error"],
    ['Sync { Multicast { IPv4_Destination_Address 1.2.3.4 } }', "parsing config file in line (1), symbol 'IPv4_Destination_Address': syntax error"],
    ['Sync { UDP { ErrorQueueLength 1 } }', "parsing config file in line (1), symbol 'ErrorQueueLength': syntax error"],
    ['Sync { UDP { Interface cafe } }', "parsing config file in line (1), symbol 'cafe': syntax error"],
    ['General { Filter { State Accept { ESTABLISHED } } }', "parsing config file in line (1), symbol '}': syntax error"],
    ['General { Filter { Protocol Accept { 6 } } }', "parsing config file in line (1), symbol '6': syntax error"],
    ['General { Filter From Nowhere { } }', "parsing config file in line (1), symbol 'Nowhere': syntax error"],
    ['General { Filter { Address Accept { IPv6_address ::ffff:1.2.3.4 } } }', "parsing config file in line (1), symbol '.': syntax error"],
    ['Helper { Setup 1 }', "parsing config file in line (1), symbol '1': syntax error"],
    ['Helper { Type ftp inet TCP { } }', "parsing config file in line (1), symbol 'TCP': syntax error"],
    ['Sync { } Stats { }', "cannot use both `Stats' and `Sync' clauses in conntrackd.conf"],
    ['Stats { } Sync { }', "cannot use both `Stats' and `Sync' clauses in conntrackd.conf"],
    ['Sync { UDP { } Multicast { } }', "cannot use `Multicast' with other dedicated link protocols!"],
    ['Sync { Multicast { } TCP { } }', "cannot use `TCP' with other dedicated link protocols!"],
    ['Sync { TCP { } UDP { } }', "cannot use `UDP' with other dedicated link protocols!"],
    [`Sync { ${'UDP { Port 1 } '.repeat(4)}UDP { Port 1 } }`, 'too many dedicated links in the configuration file (Maximum: 4)'],
    [`Sync { ${'UDP { } '.repeat(5)}UDP { Checksum on } }`, 'too many dedicated links in the configuration file (Maximum: 4)'],
    // The option's value is read before the link count is checked.
    [`Sync { ${'UDP { } '.repeat(4)}UDP { Checksum 5 } }`, "parsing config file in line (1), symbol '5': syntax error"],
    ['General { Scheduler { Type OTHER } }', "unknown scheduler `OTHER'"],
    ['General { Scheduler { Priority 100 } }', "`Priority' must be [0, 99]\n"],
    ['General { Scheduler { Priority 4294967295 } }', "`Priority' must be [0, 99]\n"],
    ['General { PollSecs 0 }', "`PollSecs' clause must be > 0"],
    [`General { UNIX { Path /${'a'.repeat(107)} } }`, 'Path is longer than 107 characters'],
    [`General { LogFile /${'a'.repeat(256)} }`, 'LogFile path is longer than 256 characters'],
    [`General { LockFile /${'a'.repeat(256)} }`, 'LockFile path is longer than 256 characters'],
    [`Stats { LogFile /${'a'.repeat(256)} }`, 'stats LogFile path is longer than 256 characters'],
    ['Helper { Type bogus inet tcp { } }', "Unknown `bogus' helper"],
    ['Helper { Type ftp inet udp { } }', "Unknown `ftp' helper"],
    ['Helper { Type ftp ipx sctp { } }', 'unknown layer 3 protocol'],
    ['Helper { Type ftp inet sctp { } }', 'unknown layer 4 protocol'],
    ['Helper { Type ftp inet tcp { Policy foo { ExpectMax 1 } } }', "Unknown policy `foo' in helper configuration"],
    ['Helper { Type ftp inet tcp { Policy ftp { } } }', 'Helper policy configuration empty, fix your configuration file, please'],
    ['Helper { Type ftp inet tcp { Policy abcdefghijklmnopq { ExpectMax 1 } } }', 'Helper Policy is longer than 16 characters'],
    ['Helper { Type ftp inet tcp { Type bogus inet udp { } } }', "Unknown `bogus' helper"],
  ];
  for (const [text, message, warnings = []] of cases) {
    test(text.replace(/\s+/g, ' ').slice(0, 110), () => assert.deepEqual(failure(text), { message, warnings }));
  }
});

describe('default look-ups', () => {
  test('interfaces of this namespace, /etc/protocols', () => {
    const r = parseConfig('General { Filter { Protocol Accept { tcp ICMP nosuchproto } } } Sync { UDP { Interface lo } UDP { Interface nosuchif0 } UDP { Interface abcdefghijklmnop } }');
    assert.deepEqual(r.config.general.filter!.protocol!.protocols, [6, 1]);
    assert.deepEqual(r.warnings, [
      "getprotobyname() cannot find protocol `nosuchproto' in /etc/protocols",
      'nosuchif0 is an invalid interface',
      'abcdefghijklmnop is an invalid interface',
    ]);
  });
});

describe('config files', () => {
  test('readConfig: a missing file, a directory', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ctd-config-'));
    try {
      const missing = path.join(dir, 'nope.conf');
      assert.throws(() => readConfig(missing), { message: `can't open config file \`${missing}'`, exitCode: 1, plain: false });
      assert.throws(() => readConfig(dir), { message: 'input in flex scanner failed', exitCode: 2, plain: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const EXAMPLES = '/usr/share/doc/conntrackd/examples';
  const SYNC_GENERAL: Config['general'] = {
    ...DEFAULT_GENERAL,
    hashSize: 32768,
    hashLimit: 131072,
    logFile: '/var/log/conntrackd.log',
    lockFile: '/var/lock/conntrack.lock',
    unixPath: '/var/run/conntrackd.ctl',
    netlinkBufferSize: 2097152,
    netlinkBufferSizeMaxGrowth: 8388608,
    filter: {
      kernelspace: false,
      protocol: { policy: 'accept', protocols: [6, 132, 33] },
      address: {
        policy: 'ignore',
        addresses: ['127.0.0.1', '192.168.0.100', '192.168.1.100', '192.168.0.1', '192.168.1.1', '192.168.100.100'].map((address) => ({ family: 4, address, prefix: 32 })),
      },
    },
  };
  const SYNC: NonNullable<Config['sync']> = {
    mode: 'ftfw',
    resendQueueSize: 131072,
    ackWindowSize: 300,
    purgeTimeout: 60,
    refreshTime: 60,
    cacheTimeout: 180,
    disableExternalCache: false,
    disableInternalCache: false,
    startupResync: false,
    channels: [{ kind: 'multicast', isDefault: false, family: 4, checksum: true, address: '225.0.0.50', interfaceAddress: '192.168.100.100', interface: 'eth2', port: 3780, sndSocketBuffer: 1249280, rcvSocketBuffer: 1249280 }],
    tcpWindowTracking: false,
  };
  const expected: [string, Config][] = [
    [
      'stats',
      {
        general: {
          ...DEFAULT_GENERAL,
          hashSize: 8192,
          hashLimit: 65535,
          lockFile: '/var/lock/conntrack.lock',
          unixPath: '/var/run/conntrackd.ctl',
          netlinkBufferSize: 262142,
          netlinkBufferSizeMaxGrowth: 655355,
          filter: { kernelspace: false, protocol: { policy: 'accept', protocols: [6] }, address: { policy: 'ignore', addresses: [{ family: 4, address: '127.0.0.1', prefix: 32 }] } },
        },
        stats: { logFile: '/var/log/conntrackd-stats.log' },
      },
    ],
    ['sync/ftfw', { general: SYNC_GENERAL, sync: SYNC }],
    ['sync/notrack', { general: SYNC_GENERAL, sync: { ...SYNC, mode: 'notrack' } }],
    ['sync/alarm', { general: SYNC_GENERAL, sync: { ...SYNC, mode: 'alarm', refreshTime: 15 } }],
  ];
  for (const [name, config] of expected) {
    test(`Debian example ${name}`, () => {
      assert.ok(existsSync(EXAMPLES), `${EXAMPLES} not found (apt-get install conntrackd)`);
      assert.deepEqual(readConfig(`${EXAMPLES}/${name}/conntrackd.conf`, options), { config, warnings: [], modeWarnings: [] });
    });
  }
});

describe('any input', () => {
  const TOKENS = ['General', 'Sync', 'Stats', 'Helper', 'UNIX', 'Path', 'Mode', 'UDP', 'Multicast', 'TCP', 'Filter', 'Address', 'IPv4_address', 'IPv6_address', 'Interface', 'Type', 'Policy', 'ExpectMax', 'Priority', '{', '}', 'on', 'nack', 'ftfw', '5', '::1', '1.2.3.4/8', '/p', 'eth2', 'ftp', 'inet', 'tcp', '#', '\n', ' '];
  test('either a result or a ConfigError, never anything else', () => {
    const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((t) => t.join(' '));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), soup), (text) => {
        try {
          const r = parse(text);
          assert.ok(r.config.general.hashSize > 0);
        } catch (err) {
          assert.ok(err instanceof ConfigError, String(err));
          assert.ok(!err.message.includes('undefined'), err.message);
        }
      }),
      { numRuns: 2000, seed: 20261207 },
    );
  });
});
