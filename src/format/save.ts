/**
 * `conntrack -o save`: an entry as the command-line options that recreate it
 * (conntrack-tools 1.4.7 ct_save_snprintf() and the protocol modules' print
 * tables). Each option appears only when its attribute is present.
 * The lines are meant to be replayed with `conntrack -R`.
 */

import { Family, Proto } from '../ctnetlink/constants';
import type { Flow, Tuple } from '../ctnetlink/flow';
import { Status } from '../ctnetlink/status';
import {
  DCCP_ROLES,
  DCCP_STATES,
  l4Layout,
  L4Layout,
  l4Name,
  SAVE_SCTP_STATES,
  saveName,
  saveStatusList,
  TCP_STATES,
} from './names';

/** `-A` for dumps, gets, updates and NEW events; `-U` for UPDATE events; `-D` for deletes and DESTROY events. */
export type SavePrefix = '-A' | '-D' | '-U';

/** The stderr line (without newline) 1.4.7 prints for an entry it cannot save. */
export function unsupportedL3Warning(l3: number): string {
  return 'WARNING: unsupported l3proto ' + l3 + ', skipping.';
}

/**
 * Whether the reply source shows destination NAT (`-g` instead of `-r`), as
 * libnetfilter_conntrack 1.0.9's NFCT_GOPT_IS_DNAT decides: the
 * DST_NAT_DONE bit, or no status attribute at all, and a reply source that is
 * not the original destination. Address texts are canonical, so comparing
 * strings compares addresses.
 */
function isDnat(flow: Flow): boolean {
  return (flow.status === undefined || (flow.status & Status.DST_NAT_DONE) !== 0) && flow.reply.src !== flow.orig.dst;
}

/** Source NAT likewise: SRC_NAT_DONE and a reply destination that is not the original source. */
function isSnat(flow: Flow): boolean {
  return (flow.status === undefined || (flow.status & Status.SRC_NAT_DONE) !== 0) && flow.reply.dst !== flow.orig.src;
}

/** `NAME VALUE ` when the value is present. */
function option(name: string, value: number | string | undefined): string {
  return value === undefined ? '' : name + ' ' + value + ' ';
}

/** The port options every port-based protocol module prints (GRE names them keys, in decimal). */
function portOptions(o: Tuple, r: Tuple, gre: boolean): string {
  return (
    option(gre ? '--srckey' : '--sport', o.sport) +
    option(gre ? '--dstkey' : '--dport', o.dport) +
    option(gre ? '--reply-key-src' : '--reply-port-src', r.sport) +
    option(gre ? '--reply-key-dst' : '--reply-port-dst', r.dport)
  );
}

/** 32-bit byte swap: the kernel keeps SCTP vtags in network order and C swaps them back. */
function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** `-p …` and the protocol module's options; protocols without a module print only their number. */
function protocolOptions(flow: Flow): string {
  const { orig: o, reply: r } = flow;
  const proto = o.proto ?? 0;
  const layout = l4Layout(proto);
  if (layout === L4Layout.NONE) return '-p ' + proto + ' ';
  let s = '-p ' + l4Name(proto) + ' ';
  if (layout === L4Layout.ICMP) {
    // One shared attribute each in C: the original tuple's type, code and id.
    const v6 = proto === Proto.ICMPV6 ? 'v6' : '';
    return s + option('--icmp' + v6 + '-type', o.icmpType) + option('--icmp' + v6 + '-code', o.icmpCode) +
      option('--icmp' + v6 + '-id', o.icmpId);
  }
  s += portOptions(o, r, layout === L4Layout.GRE_KEYS);
  if (proto === Proto.TCP && flow.tcp?.state !== undefined) {
    s += '--state ' + saveName(TCP_STATES, flow.tcp.state) + ' ';
  } else if (proto === Proto.SCTP && flow.sctp !== undefined) {
    const { state, vtagOrig, vtagReply } = flow.sctp;
    if (state !== undefined) s += '--state ' + saveName(SAVE_SCTP_STATES, state) + ' ';
    if (vtagOrig !== undefined) s += '--orig-vtag ' + swap32(vtagOrig) + ' ';
    if (vtagReply !== undefined) s += '--reply-vtag ' + swap32(vtagReply) + ' ';
  } else if (proto === Proto.DCCP && flow.dccp !== undefined) {
    const { state, role } = flow.dccp;
    if (state !== undefined) s += '--state ' + saveName(DCCP_STATES, state) + ' ';
    if (role !== undefined) s += '--role ' + saveName(DCCP_ROLES, role) + ' ';
  }
  return s;
}

/**
 * One entry in the save format, or `undefined` for an entry whose family is
 * neither IPv4 nor IPv6: the caller then prints {@link unsupportedL3Warning}
 * on stderr. (1.4.7 would go on to print the half-built line; the kernel never
 * sends such entries, so we print nothing.)
 */
export function formatSave(flow: Flow, prefix: SavePrefix): string | undefined {
  if (flow.family !== Family.INET && flow.family !== Family.INET6) return undefined;
  const { orig: o, reply: r } = flow;
  const s =
    prefix + ' ' +
    option('-t', flow.timeout) +
    option('-u', flow.status === undefined ? undefined : saveStatusList(flow.status)) +
    option('-c', flow.secmark) +
    option('-w', flow.zone) +
    option('--orig-zone', o.zone) +
    option('--reply-zone', r.zone) +
    option('-s', o.src) +
    option('-d', o.dst) +
    option(isDnat(flow) ? '-g' : '-r', r.src) +
    option(isSnat(flow) ? '-n' : '-q', r.dst) +
    protocolOptions(flow);
  // Every option ends with a space; C trims the trailing one.
  return s.slice(0, -1);
}
