/**
 * Plain ANSI escapes: the view needs an alternate screen, cursor homing,
 * line clearing and four attributes, which every terminal emulator in use
 * understands; a curses-style library would add a dependency and start-up
 * time for nothing more here.
 *
 * Colours: only reverse video, bold, and red/yellow foregrounds, never a
 * fixed background, so the view reads on light and dark themes alike.
 * NO_COLOR (any non-empty value) drops the colours, keeping reverse and bold
 * (attributes, not colours).
 */
export interface Style {
  bold(s: string): string;
  reverse(s: string): string;
  warn(s: string): string;
  alert(s: string): string;
}

export function style(noColor: boolean): Style {
  const wrap = (on: string) => (s: string) => `\x1b[${on}m${s}\x1b[0m`;
  return {
    bold: wrap('1'),
    reverse: wrap('7'),
    warn: noColor ? wrap('1') : wrap('1;33'),
    alert: noColor ? wrap('1;7') : wrap('1;31'),
  };
}

export const ENTER = '\x1b[?1049h\x1b[?25l';
export const LEAVE = '\x1b[?25h\x1b[?1049l';

/** Cuts plain text to `width` columns (escapes are added after cutting, so this sees none). */
export const fit = (s: string, width: number): string => (s.length > width ? s.slice(0, width) : s);

/** One full frame: every line cleared to its end, the rest of the screen cleared. */
export function frame(lines: readonly string[], rows: number): string {
  const shown = lines.slice(0, rows);
  return `\x1b[H${shown.map((l) => `${l}\x1b[K`).join('\r\n')}\x1b[J`;
}
