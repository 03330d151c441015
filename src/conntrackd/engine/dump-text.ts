/**
 * `-i`, `-e` and their `-x`: the cached flows as 1.4.7 prints them — conntrack's
 * plain format (the cache keeps no timeout) plus ` [active since Ns]`, or
 * one XML `<flow>` per line with no enclosing document.
 */
import type { Writable } from 'node:stream';
import { formatText } from '../../format/text';
import { formatXml } from '../../format/xml';
import type { CachedFlow } from './cache';
import type { ExternalFlow } from './external-cache';

export function internalLine(flow: CachedFlow, nowSeconds: number): string {
  return formatText(flow.flow()) + ' [active since ' + (nowSeconds - flow.since) + 's]';
}

export function internalXml(flow: CachedFlow): string {
  return formatXml(flow.flow());
}

/**
 * `-e`: a replicated flow has no reply tuple, so its line shows none; like
 * the internal cache's, it shows no timeout (the replicated one is stale).
 */
export function externalLine(entry: ExternalFlow, nowMs: number, expiresAfter?: number): string {
  let line = formatText({ ...entry.flow, timeout: undefined });
  if (expiresAfter !== undefined) {
    // ALARM: the flow is forgotten `expiresAfter` seconds after the peer last refreshed it (whole seconds left, as C).
    line += ' [expires in ' + Math.max(0, Math.floor((entry.updatedAt + expiresAfter * 1000 - nowMs) / 1000)) + 's]';
  }
  return line + ' [active since ' + (Math.floor(nowMs / 1000) - entry.since) + 's]';
}

export function externalXml(entry: ExternalFlow): string {
  return formatXml({ ...entry.flow, timeout: undefined });
}

/** Bytes gathered before each write: big dumps go out in pieces, honouring backpressure. */
const CHUNK = 64 * 1024;

/** Writes one line per item to `out`, waiting whenever it asks to. */
export async function writeLines<T>(out: Writable, items: Iterable<T>, line: (item: T) => string): Promise<void> {
  let text = '';
  for (const item of items) {
    text += line(item) + '\n';
    if (text.length >= CHUNK) {
      const more = out.write(text);
      text = '';
      if (!more) await drainedOrClosed(out);
      if (out.destroyed) return;
    }
  }
  if (text !== '') out.write(text);
}

/** A client that hangs up mid-dump never drains: stop waiting when it closes. */
function drainedOrClosed(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
