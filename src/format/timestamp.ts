/**
 * Time texts of the conntrack output: the `-o timestamp` event prefix and the
 * C library's ctime() rendering used by `[start=…]`/`[stop=…]`. Both use local
 * time of the process (the TZ environment variable), as C does.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `%.2d`: at least two digits, zero padded. */
function twoDigits(n: number): string {
  return n < 10 ? '0' + n : '' + n;
}

/**
 * The event line prefix of `conntrack -E -o timestamp` (non-XML):
 * `printf("[%-.8ld.%-.6ld]\t", tv_sec, tv_usec)`. A precision on an integer is
 * a minimum digit count filled with zeros (the `-` flag is moot without a
 * width), so seconds get at least 8 digits and microseconds exactly 6.
 */
export function timestampPrefix(sec: number, usec: number): string {
  return '[' + String(sec).padStart(8, '0') + '.' + String(usec).padStart(6, '0') + ']\t';
}

/**
 * The line prefix of `conntrack -L expect` / `-E expect` with `-o timestamp`
 * (non-XML): `printf("[%-8ld.%-6ld]\t", tv_sec, tv_usec)`. Unlike the
 * conntrack events' prefix these are widths, not precisions: the numbers
 * are left-justified and padded with spaces (usec 54302 prints `54302 `).
 */
export function expectTimestampPrefix(sec: number, usec: number): string {
  return '[' + String(sec).padEnd(8) + '.' + String(usec).padEnd(6) + ']\t';
}

/** The wall clock as gettimeofday() gives it: whole seconds and microseconds. */
export function wallClockTimeval(): { sec: number; usec: number } {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return { sec: Math.floor(micros / 1e6), usec: micros % 1e6 };
}

/**
 * ctime() of `seconds` without its trailing newline, e.g.
 * `Sun Nov 22 08:28:51 2026`: glibc's asctime layout
 * `%.3s %.3s%3d %.2d:%.2d:%.2d %d`, so the day of month is space padded.
 */
export function ctimeText(seconds: number): string {
  const t = new Date(seconds * 1000);
  const day = t.getDate();
  return (
    DAYS[t.getDay()] + ' ' + MONTHS[t.getMonth()] + (day < 10 ? '  ' : ' ') + day + ' ' +
    twoDigits(t.getHours()) + ':' + twoDigits(t.getMinutes()) + ':' + twoDigits(t.getSeconds()) +
    ' ' + t.getFullYear()
  );
}

/**
 * `<when>…</when>` of XML events with `-o timestamp`: the local time `t` as
 * libnetfilter_conntrack prints a struct tm (hour unpadded, minutes and
 * seconds two digits, weekday 1 = Sunday, month 1 = January).
 */
export function xmlWhen(t: Date): string {
  return (
    '<when><hour>' + t.getHours() + '</hour><min>' + twoDigits(t.getMinutes()) +
    '</min><sec>' + twoDigits(t.getSeconds()) + '</sec><wday>' + (t.getDay() + 1) +
    '</wday><day>' + t.getDate() + '</day><month>' + (t.getMonth() + 1) +
    '</month><year>' + t.getFullYear() + '</year></when>'
  );
}

const NSEC_PER_SEC = 1000000000n;

/** Wall-clock seconds, as time(NULL) returns them. */
export function wallClockSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** `%llu` of a time_t difference: a negative one (clock skew) wraps to 2^64 − n. */
function unsigned64(n: number): string {
  return n >= 0 ? '' + n : '' + BigInt.asUintN(64, BigInt(n));
}

/**
 * `delta-time=` of the default format (libnetfilter_conntrack 1.0.9): each
 * timestamp is truncated to whole seconds first, then subtracted; a stop time
 * that is absent *or zero* means "still running", i.e. now.
 */
export function textDeltaTime(start: bigint, stop: bigint | undefined, now: number): string {
  const end = stop === undefined || stop === 0n ? now : Number(stop / NSEC_PER_SEC);
  return unsigned64(end - Number(start / NSEC_PER_SEC));
}

/**
 * `<deltatime>` of the XML format, which differs from the text format: with a
 * stop attribute present (even zero) it is the unsigned 64-bit nanosecond
 * difference truncated once, `(stop - start) / 1e9`; otherwise now − start.
 */
export function xmlDeltaTime(start: bigint, stop: bigint | undefined, now: number): string {
  if (stop !== undefined) return '' + BigInt.asUintN(64, stop - start) / NSEC_PER_SEC;
  return unsigned64(now - Number(start / NSEC_PER_SEC));
}

/** ctime text of a nanosecond kernel timestamp, truncated to its second. */
export function ctimeOfNanoseconds(ns: bigint): string {
  return ctimeText(Number(ns / NSEC_PER_SEC));
}
