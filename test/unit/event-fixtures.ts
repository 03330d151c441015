/**
 * Conntrack event messages as the kernel sends them, built from Flow objects
 * with our own encoder: IPCTNL_MSG_CT_NEW (NLM_F_CREATE for NEW events) or
 * IPCTNL_MSG_CT_DELETE, nlmsg_pid = the port id of the process whose request
 * caused the event (0 for the kernel's own).
 */
import { MessageWriter } from '../../src/netlink/attributes';
import { MessageFlags } from '../../src/netlink/constants';
import { beginNfMessage, Subsystem } from '../../src/nfnetlink/header';
import { CtMsg } from '../../src/ctnetlink/constants';
import type { Flow } from '../../src/ctnetlink/flow';
import { encodeFlow } from '../../src/ctnetlink/flow-codec';
import type { EventType } from '../../src/format/text';

export function eventMessage(flow: Flow, type: EventType = 'new', portid = 0): Buffer {
  const w = new MessageWriter();
  const msg = type === 'destroy' ? CtMsg.DELETE : CtMsg.NEW;
  const flags = type === 'new' ? MessageFlags.CREATE | MessageFlags.EXCL : 0;
  const start = beginNfMessage(w, Subsystem.CTNETLINK, msg, flags, 0, flow.family);
  encodeFlow(w, flow);
  w.endMessage(start);
  const message = w.toBuffer();
  message.writeUInt32LE(portid, 12); // nlmsg_pid
  return message;
}
