import { MessageFlags } from '../netlink/constants';
import type { MessageCursor } from '../netlink/messages';
import { messageType, NFGENMSG_LEN, Subsystem } from '../nfnetlink/header';
import { CtMsg } from './constants';
import type { Flow } from './flow';
import { decodeFlow } from './flow-codec';

/**
 * Conntrack events: what the kernel multicasts to NFNLGRP_CONNTRACK_NEW,
 * _UPDATE and _DESTROY listeners, one message per event.
 *
 * ```
 * nlmsghdr  type  IPCTNL_MSG_CT_NEW  flags NLM_F_CREATE|NLM_F_EXCL   NEW
 *                 IPCTNL_MSG_CT_NEW  flags 0                         UPDATE
 *                 IPCTNL_MSG_CT_DELETE                               DESTROY
 *           pid   port id of the socket whose request caused it; 0 = the kernel (traffic, timeouts)
 * nfgenmsg  family of the entry
 * CTA_*     the entry: for UPDATE only what changed besides the tuples,
 *           status, timeout and id; CTA_MARK only when non-zero or changed
 * ```
 */

/** Which change an event reports (`conntrack -E`: `[NEW]`, `[UPDATE]`, `[DESTROY]`). */
export type EventType = 'new' | 'update' | 'destroy';

/** Event kinds as bits, for selecting them: each is the bind() bit of its multicast group. */
export enum EventMask {
  NEW = 1, // 1 << (NFNLGRP_CONNTRACK_NEW - 1)
  UPDATE = 2, // 1 << (NFNLGRP_CONNTRACK_UPDATE - 1)
  DESTROY = 4, // 1 << (NFNLGRP_CONNTRACK_DESTROY - 1)
  ALL = 7,
}

export interface ConntrackEvent {
  type: EventType;
  flow: Flow;
  /**
   * Port id of the netlink socket whose request caused the event (a
   * `conntrack -D`, a daemon), or 0 when the kernel made it on its own.
   * `conntrack -E` shows it as `[USERSPACE] portid=…`.
   */
  portid: number;
}

const CT_NEW = messageType(Subsystem.CTNETLINK, CtMsg.NEW);
const CT_DELETE = messageType(Subsystem.CTNETLINK, CtMsg.DELETE);

/** The event kind a message header announces (1.4.7's event_cb); undefined for anything else. */
export function eventType(m: MessageCursor): EventType | undefined {
  if (m.type === CT_NEW) return m.flags & MessageFlags.CREATE ? 'new' : 'update';
  if (m.type === CT_DELETE) return 'destroy';
  return undefined;
}

/** Decodes one event message; undefined for messages that are no conntrack event. Throws ProtocolError when malformed. */
export function decodeEvent(m: MessageCursor): ConntrackEvent | undefined {
  const type = eventType(m);
  if (type === undefined || m.end - m.payload < NFGENMSG_LEN) return undefined;
  return { type, flow: decodeFlow(m.buf, m.payload + NFGENMSG_LEN, m.end, m.buf[m.payload]!), portid: m.pid };
}
