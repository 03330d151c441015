import { AttributeCursor } from '../netlink/attributes';

/** One counter of a statistics message: its attribute number and value. */
export interface StatsValue {
  /** StatsCpuAttr, StatsGlobalAttr or StatsExpAttr, depending on the message. */
  type: number;
  value: number;
}

/**
 * The be32 counters in `buf[start, end)`, in the order the kernel sent them:
 * the per-CPU messages of IPCTNL_MSG_CT_GET_STATS_CPU / IPCTNL_MSG_EXP_GET_STATS_CPU
 * (`conntrack -S`, the CPU in nfgenmsg.res_id) and the reply to
 * IPCTNL_MSG_CT_GET_STATS (`conntrack -C`). Kept in order and by number,
 * not by name, because `-S` prints them in wire order and newer kernels add
 * counters. Throws ProtocolError for a counter shorter than 4 bytes.
 */
export function decodeStats(buf: Buffer, start: number, end: number): StatsValue[] {
  const values: StatsValue[] = [];
  const c = new AttributeCursor(buf, start, end);
  while (c.next()) values.push({ type: c.type, value: c.u32be() });
  return values;
}
