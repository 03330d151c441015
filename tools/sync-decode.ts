/**
 * Prints the sync messages of a pcap of a conntrackd sync link (UDP or
 * multicast), decoded: one line per message, datagram by datagram.
 *
 *   node dist/tools/sync-decode.js capture.pcap
 *
 * e.g. `14.95 192.168.77.2 > 192.168.77.1  CTL ACK [1796607674,1796607675] seq=1796607656`
 * or   `… CT_NEW seq=… {"family":2,"orig":{…},…}`; a rejected message prints its reason.
 */
import { MessageFlag, MessageType } from '../src/conntrackd/sync/header';
import { SyncDecodeError } from '../src/conntrackd/sync/errors';
import { decodeFrame, readFrames, type SyncMessage } from '../src/conntrackd/sync/message';
import { readPcapUdp } from '../test/unit/pcap';

const TYPES = ['CT_NEW', 'CT_UPD', 'CT_DEL', 'EXP_NEW', 'EXP_UPD', 'EXP_DEL'];
const FLAGS: Array<[number, string]> = [
  [MessageFlag.ACK, 'ACK'], [MessageFlag.NACK, 'NACK'], [MessageFlag.RESYNC, 'RESYNC'], [MessageFlag.ALIVE, 'ALIVE'],
  [MessageFlag.HELLO, 'HELLO'], [MessageFlag.HELLO_BACK, 'HELLO_BACK'],
];

function describe(m: SyncMessage): string {
  const flags = FLAGS.filter(([bit]) => m.flags & bit).map(([, name]) => name).join('|');
  if (m.type === MessageType.CTL) {
    const range = m.flags & (MessageFlag.ACK | MessageFlag.NACK | MessageFlag.RESYNC) ? ` [${m.from},${m.to}]` : '';
    return `CTL ${flags}${range} seq=${m.seq}`;
  }
  const body = 'flow' in m ? { ...m.flow, reply: undefined } : m.expectation;
  return `${TYPES[m.type]}${flags ? ' ' + flags : ''} seq=${m.seq} ${JSON.stringify(body)}`;
}

const file = process.argv[2];
if (!file) {
  console.error('usage: sync-decode capture.pcap');
  process.exit(2);
}
const datagrams = readPcapUdp(file);
const t0 = datagrams[0]?.time ?? 0;
for (const d of datagrams) {
  const head = `${(d.time - t0).toFixed(2).padStart(6)} ${d.src} > ${d.dst} `;
  const split = readFrames(d.payload);
  for (const f of split.frames) {
    try {
      console.log(head, describe(decodeFrame(f)));
    } catch (err) {
      if (!(err instanceof SyncDecodeError)) throw err;
      console.log(head, `rejected: ${err.reason}`);
    }
  }
  if (split.stop) console.log(head, `rest of the datagram dropped: ${split.stop}`);
}
