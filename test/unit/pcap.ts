/**
 * The UDP datagrams of a pcap file written by `tcpdump -w` on an Ethernet
 * (or veth) interface: enough of the format to read our own captures.
 */
import { readFileSync } from 'node:fs';

export interface CapturedDatagram {
  /** Seconds since the epoch, with microseconds. */
  time: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload: Buffer;
}

const PCAP_MAGIC_LE = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;
const ETHERTYPE_IPV4 = 0x0800;
const IPPROTO_UDP = 17;

export function readPcapUdp(file: string): CapturedDatagram[] {
  const buf = readFileSync(file);
  if (buf.readUInt32LE(0) !== PCAP_MAGIC_LE) throw new Error(`${file}: not a little-endian microsecond pcap`);
  if (buf.readUInt32LE(20) !== LINKTYPE_ETHERNET) throw new Error(`${file}: not an Ethernet capture`);
  const out: CapturedDatagram[] = [];
  for (let off = 24; off + 16 <= buf.length; ) {
    const time = buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) / 1e6;
    const caplen = buf.readUInt32LE(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    if (frame.readUInt16BE(12) !== ETHERTYPE_IPV4) continue;
    const ip = frame.subarray(14);
    if (ip[9] !== IPPROTO_UDP) continue;
    const udp = ip.subarray((ip[0]! & 0x0f) * 4);
    out.push({
      time,
      src: ip.subarray(12, 16).join('.'),
      dst: ip.subarray(16, 20).join('.'),
      sport: udp.readUInt16BE(0),
      dport: udp.readUInt16BE(2),
      payload: Buffer.from(udp.subarray(8, udp.readUInt16BE(4))),
    });
  }
  return out;
}
