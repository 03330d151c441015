/** conntrackd's `-h` and `-v` texts, byte for byte 1.4.7's (its usage leaves out `-s process`). */

export const VERSION = '1.4.7';

export function usageText(progname: string): string {
  return (
    `Connection tracking userspace daemon v${VERSION}\n` +
    `Usage: ${progname} [commands] [options]\n\n` +
    'General commands:\n' +
    '  -d, run in daemon mode\n' +
    '  -C [configfile], configuration file path\n' +
    '  -v, display conntrackd version\n' +
    '  -h, display this help information\n\n' +
    'Client mode commands:\n' +
    '  -c [ct|expect], commit external cache to conntrack table\n' +
    '  -f [internal|external], flush internal and external cache\n' +
    '  -F [ct|expect], flush kernel conntrack table\n' +
    '  -i [ct|expect], display content of the internal cache\n' +
    '  -e [ct|expect], display the content of the external cache\n' +
    '  -k, kill conntrack daemon\n' +
    '  -s  [network|cache|runtime|link|rsqueue|queue|ct|expect], dump statistics\n' +
    '  -R [ct|expect], resync with kernel conntrack table\n' +
    '  -n, request resync with other node (only FT-FW and NOTRACK modes)\n' +
    '  -B, force a bulk send to other replica firewalls\n' +
    '  -x, dump cache in XML format (requires -i or -e)\n' +
    '  -t, reset the kernel timeout (see PurgeTimeout clause)\n\n'
  );
}

export const VERSION_TEXT = `Connection tracking userspace daemon v${VERSION}. Licensed under GPLv2.\n(C) 2006-2009 Pablo Neira Ayuso <pablo@netfilter.org>\n`;
