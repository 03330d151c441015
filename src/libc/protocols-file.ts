/**
 * The protocols(5) database as glibc's getprotobyname/getprotobynumber see
 * it: both programs resolve protocol names (`-p igmp`, `Protocol Accept { TCP }`)
 * through the same file, in file order.
 */
import { readFileSync } from 'node:fs';

export interface ProtocolEntry {
  readonly name: string;
  readonly number: number;
  readonly aliases: readonly string[];
}

/** The entries of a protocols(5) file, in file order (what getprotobyname/-number search). */
export function readProtocolsFile(file = '/etc/protocols'): ProtocolEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return [];
  }
  const entries: ProtocolEntry[] = [];
  for (const line of text.split('\n')) {
    const [name, number, ...aliases] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (name && number && /^\d+$/.test(number)) entries.push({ name, number: Number(number), aliases });
  }
  return entries;
}
