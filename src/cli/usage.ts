/**
 * The usage text of `conntrack -h` and the protocol help of
 * `-h -p P`, byte for byte. Every option line is generated from the
 * option table; this file only fixes the layout: which entries each section
 * lists and in what order, since 1.4.7's text does not follow the check order.
 */
import { COMMANDS, optionByFlag, type HelpEntry, type OptionFlag } from './options';
import { VERSION } from './problems';
import { protocolHelpName, type SelectedProtocol } from './protocols';
import { readProtocolsFile, type ProtocolEntry } from '../libc/protocols-file';

const CONNTRACK_OPTIONS: readonly OptionFlag[] = [
  'src-nat', 'dst-nat', 'any-nat', 'mark', 'secmark', 'event-mask', 'zero', 'output', 'label',
];
const EXPECTATION_OPTIONS: readonly OptionFlag[] = ['tuple-src', 'tuple-dst'];
const UPDATE_OPTIONS: readonly OptionFlag[] = ['label-add', 'label-del'];
const COMMON_OPTIONS: readonly OptionFlag[] = [
  'src', 'dst', 'reply-src', 'reply-dst', 'protonum', 'family', 'timeout', 'status', 'zone', 'orig-zone',
  'reply-zone', 'buffer-size', 'mask-src', 'mask-dst',
];
/** The commands 1.4.7 documents, in its order. */
const DOCUMENTED_COMMANDS = ['L', 'G', 'D', 'I', 'U', 'E', 'F', 'C', 'S'];

const line = (synopsis: string, help: HelpEntry): string => `  ${synopsis}${help.argName}${help.tabs}${help.text}\n`;

function optionLines(flags: readonly OptionFlag[]): string {
  return flags
    .map((flag) => {
      const option = optionByFlag(flag);
      const names = [...(option.letter ? [`-${option.letter}`] : []), ...option.longs.map((l) => `--${l}`)];
      return line(names.join(', '), option.help!);
    })
    .join('');
}

/** The usage text; `argv0` as the program was invoked. */
export function usageText(argv0: string): string {
  const commands = DOCUMENTED_COMMANDS.map((letter) => {
    const command = COMMANDS.find((c) => c.letter === letter)!;
    return line(`-${letter}`, command.help!);
  }).join('');
  return (
    `Command line interface for the connection tracking system. Version ${VERSION}\n` +
    `Usage: ${argv0} [commands] [options]\n` +
    `\nCommands:\n${commands}` +
    `\nTables: conntrack, expect, dying, unconfirmed\n` +
    `\nConntrack parameters and options:\n${optionLines(CONNTRACK_OPTIONS)}` +
    `\nExpectation parameters and options:\n${optionLines(EXPECTATION_OPTIONS)}` +
    `\nUpdating parameters and options:\n${optionLines(UPDATE_OPTIONS)}` +
    `\nCommon parameters and options:\n${optionLines(COMMON_OPTIONS)}\n`
  );
}

/** What `-h -p P` prints after the usage text. */
export function protocolHelpText(
  selected: SelectedProtocol,
  protocols: readonly ProtocolEntry[] = readProtocolsFile(),
): string {
  const lines = selected.module.help.map((l) => `${l}\n`).join('');
  return `Proto \`${protocolHelpName(selected, protocols)}' help:\n${lines}`;
}
