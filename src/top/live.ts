import type { Conntrack } from '../api/conntrack';
import type { FlowFilter } from '../ctnetlink/filter';
import type { Flow } from '../ctnetlink/flow';
import { GROUP_KEYS, KEY_READERS, KEY_WORDS, sameKey } from './group-key';
import { GroupTable, type GroupRow, type SortColumn } from './group-table';
import { TopFlows, type FlowRow } from './flow-row';
import { HeaderSampler, type HeaderState } from './header';
import { parseFilter, UsageError, type TopOptions } from './options';
import { alignedTable } from './table-text';
import { ENTER, LEAVE, fit, frame, style, type Style } from './screen';

/** A read from the terminal as keys: fast typing (or a paste) brings several in one chunk; arrows are `ESC [ X`. */
function splitKeys(text: string): string[] {
  const keys: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = text.startsWith('\x1b[', i) ? 3 : 1;
    keys.push(text.slice(i, i + n));
    i += n;
  }
  return keys;
}

type FlowSort = 'bytes' | 'packets' | 'timeout';
const FLOW_SORTS: readonly FlowSort[] = ['bytes', 'packets', 'timeout'];
const GROUP_SORTS: readonly SortColumn[] = ['entries', 'bytes', 'packets'];
/** The share of one core that refreshing may use on average. */
const CPU_BUDGET = 0.5;
/** Lines besides the list: header (3), counters hint, column titles, status. */
const CHROME = 6;

const human = (n: number): string =>
  n >= 1e9 ? `${(n / 1e9).toFixed(1)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n));
const rate = (now: number, before: number | undefined, seconds: number): string => (before === undefined || seconds <= 0 ? '-' : `${human(Math.max(0, now - before) / seconds)}/s`);

/**
 * The full-screen view. Each refresh is one streaming dump of the (filtered)
 * table into bounded tables (the top flows that fit the screen, or the group
 * totals), so memory stays flat. The next refresh starts after the
 * interval, or later when the last one cost more CPU time (all threads: the
 * kernel's share of a dump runs on the receiving thread) than CPU_BUDGET of a
 * core over the time since it started: on a huge table the view refreshes as
 * often as that budget allows, whatever the machine's load, while keys stay
 * answered between the dump's receive batches.
 */
class LiveView {
  private readonly style: Style;
  private grouped: boolean;
  private groupKey: number;
  private flowSort = 0;
  private groupSort: number;
  private reverse = false;
  private paused = false;
  private filter: FlowFilter;
  private filterWords: string[];
  private selected = 0;
  /** Text being typed after `/`; undefined when not editing. */
  private editing: string | undefined;
  /** A pending `d`: what will be deleted on `y`. */
  private confirm: { what: string; run: () => Promise<number> } | undefined;
  private message = '';
  private header: HeaderState | undefined;
  private flows: FlowRow[] = [];
  private groups: GroupRow[] = [];
  /** The last refresh's group totals: a new sort, order or screen size ranks them again without a dump. */
  private table: GroupTable | undefined;
  private previousFlows = new Map<number, { packets: number; bytes: number }>();
  private previousGroups = new Map<string, { packets: number; bytes: number }>();
  private seconds = 0;
  /** When the list was last read (its dump ended), shown because on a huge table that is seconds apart. */
  private readAt: Date | undefined;
  private lastRefresh = 0;
  private events = 0;
  private eventRate: number | undefined;
  private acctOff = false;
  private timer: NodeJS.Timeout | undefined;
  private sampler: HeaderSampler;
  /** A refresh is in progress; a key asking for another sets `again` instead of starting a second dump. */
  private refreshing = false;
  private again = false;
  private stopped = false;
  /** The last dump asked for: dumps run one after another (see oneAtATime). */
  private dumps: Promise<unknown> = Promise.resolve();
  private done: () => void = () => {};

  constructor(
    private readonly conntrack: Conntrack,
    private readonly opts: TopOptions,
  ) {
    this.style = style((process.env.NO_COLOR ?? '') !== '');
    this.grouped = opts.groupBy !== undefined;
    this.groupKey = Math.max(0, GROUP_KEYS.indexOf(opts.groupBy ?? 'src'));
    this.groupSort = GROUP_SORTS.indexOf(opts.sort);
    this.filter = opts.filter;
    this.filterWords = opts.filterWords;
    this.sampler = new HeaderSampler(conntrack);
  }

  /** One refresh and render, then the next one scheduled. */
  private async tick(): Promise<void> {
    clearTimeout(this.timer);
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = true;
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    try {
      if (!this.paused) {
        await this.oneAtATime(() => this.refresh(this.sampler));
        this.readAt = new Date();
      }
    } catch (err) {
      this.message = err instanceof Error ? err.message : String(err);
    }
    this.refreshing = false;
    if (this.stopped) return;
    this.render();
    if (this.again) {
      this.again = false;
      return this.tick();
    }
    const took = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    this.timer = setTimeout(() => void this.tick(), Math.max(this.opts.interval * 1000 - took, cpuMs / CPU_BUDGET - took));
  }

  async run(): Promise<void> {
    const { stdin, stdout } = process;
    const events = this.conntrack.rawEvents({ transient: true });
    events.on('event', () => this.events++);
    events.on('error', () => {});
    stdout.write(ENTER);
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', (chunk: Buffer) => {
      for (const key of splitKeys(chunk.toString('utf8'))) this.keys(key);
    });
    stdout.on('resize', () => {
      this.rank();
      this.render();
    });
    const finished = new Promise<void>((resolve) => (this.done = resolve));
    const restore = (): void => {
      stdout.write(LEAVE);
      if (stdin.isTTY) stdin.setRawMode(false);
    };
    process.once('exit', restore);
    try {
      await this.tick();
      await finished;
    } finally {
      // Before any error is printed: on the normal screen, not the alternate one about to vanish.
      this.stopped = true;
      clearTimeout(this.timer);
      events.close();
      stdin.pause();
      restore();
      process.removeListener('exit', restore);
    }
  }

  private async refresh(sampler: HeaderSampler): Promise<void> {
    const now = performance.now();
    this.seconds = this.lastRefresh === 0 ? 0 : (now - this.lastRefresh) / 1000;
    this.lastRefresh = now;
    this.eventRate = this.seconds > 0 ? this.events / this.seconds : undefined;
    this.events = 0;
    this.header = await sampler.sample();
    if (this.grouped) {
      const table = new GroupTable(GROUP_KEYS[this.groupKey]!, this.header.entries);
      await this.conntrack.dumpRaw(this.filter, {}, (e) => table.add(e));
      // Keys pressed during the dump may have changed the mode: the refresh they asked for follows.
      if (!this.grouped || table.groupKey !== GROUP_KEYS[this.groupKey]) return;
      this.previousGroups = new Map(this.groups.map((g) => [g.group, g]));
      this.table = table;
      this.rank();
      this.acctOff = table.size > 0 && !table.counted;
    } else {
      const top = new TopFlows(FLOW_SORTS[this.flowSort]!, this.room(), this.reverse);
      await this.conntrack.dumpRaw(this.filter, {}, (e) => top.add(e));
      if (this.grouped) return;
      this.previousFlows = new Map(this.flows.flatMap((f) => (f.flow.id === undefined ? [] : [[f.flow.id, f]])));
      this.flows = top.rows;
      this.acctOff = this.flows.length > 0 && this.flows.every((f) => f.flow.countersOrig === undefined);
      this.selected = Math.min(this.selected, Math.max(0, this.flows.length - 1));
    }
  }

  /**
   * Runs `work` (which dumps) after the dumps asked for before it: the
   * library's query socket refuses a second dump while one runs (EBUSY), and
   * a `d` on a group dumps while refreshes go on.
   */
  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const next = this.dumps.then(work, work);
    this.dumps = next.catch(() => {});
    return next;
  }

  /** List rows that fit the terminal. */
  private room(): number {
    return Math.max(1, (process.stdout.rows ?? 24) - CHROME);
  }

  /** The groups shown, from the last totals in the current order. */
  private rank(): void {
    if (this.table === undefined) return;
    this.groups = this.table.top(GROUP_SORTS[this.groupSort]!, this.room(), this.reverse);
    this.selected = Math.min(this.selected, Math.max(0, this.groups.length - 1));
  }

  /** A new order: groups are ranked again from the last totals at once; flows need a dump (only the rows shown are kept). */
  private reorder(): void {
    if (!this.grouped || this.table === undefined) return this.refreshNow();
    this.rank();
    this.render();
  }

  private render(): void {
    const width = process.stdout.columns ?? 80;
    const rows = process.stdout.rows ?? 24;
    const s = this.style;
    const lines = [...this.headerLines(width), ...this.listLines(width)];
    while (lines.length < rows - 1) lines.push('');
    lines.length = rows - 1;
    lines.push(s.reverse(fit(this.statusLine(), width).padEnd(width)));
    process.stdout.write(frame(lines, rows));
  }

  private headerLines(width: number): string[] {
    const s = this.style;
    const h = this.header;
    if (h === undefined) return ['conntrack-top: reading the table...', '', ''];
    const fill = h.max ? h.entries / h.max : 0;
    const gaugeWidth = 20;
    const bar = `[${'#'.repeat(Math.round(fill * gaugeWidth)).padEnd(gaugeWidth, '.')}]`;
    let first = fit(`entries ${h.entries} / max ${h.max ?? '?'} ${bar} ${(fill * 100).toFixed(1)}%   buckets ${h.buckets ?? '?'}   expectations ${h.expectations}`, width);
    if (fill > 0.9) first = s.alert(`${first}  TABLE ALMOST FULL`);
    const r = h.rates;
    const stat = (name: string): string => `${name} ${r ? `${human(r[name]!)}/s` : '-'}`;
    const second = fit(
      `${['found', 'insert', 'insert_failed', 'drop', 'early_drop', 'invalid', 'search_restart'].map(stat).join('  ')}  events ${this.eventRate === undefined ? '-' : `${human(this.eventRate)}/s`}`,
      width,
    );
    const dropping = r !== undefined && (r.drop! > 0 || r.early_drop! > 0 || r.insert_failed! > 0);
    const mode = this.grouped ? `group by ${GROUP_KEYS[this.groupKey]} (k: next key)` : 'flows';
    const third = fit(`${mode}   sort ${this.grouped ? GROUP_SORTS[this.groupSort] : FLOW_SORTS[this.flowSort]}${this.reverse ? ' (reversed)' : ''}   filter: ${this.filterWords.join(' ') || '(none)'}${this.paused ? '   PAUSED' : ''}${this.readAt ? `   read at ${this.readAt.toTimeString().slice(0, 8)}` : ''}`, width);
    return [s.bold(first), dropping ? s.warn(second) : second, third];
  }

  private listLines(width: number): string[] {
    const s = this.style;
    const seconds = this.seconds;
    let table: string[];
    if (this.grouped) {
      const key = GROUP_KEYS[this.groupKey]!;
      table = alignedTable(
        [key.toUpperCase(), 'ENTRIES', 'PACKETS', 'BYTES', 'PKT/S', 'BYTES/S'],
        this.groups.map((g) => {
          const before = this.previousGroups.get(g.group);
          return [g.group, String(g.entries), human(g.packets), human(g.bytes), rate(g.packets, before?.packets, seconds), rate(g.bytes, before?.bytes, seconds)];
        }),
        [false, true, true, true, true, true],
      );
    } else {
      table = alignedTable(
        ['PROTO', 'SRC', 'DST', 'STATE', 'TIMEOUT', 'MARK', 'ZONE', 'PACKETS', 'BYTES', 'PKT/S', 'BYTES/S', 'NAT'],
        this.flows.map((f) => {
          const before = f.flow.id === undefined ? undefined : this.previousFlows.get(f.flow.id);
          return [f.proto, f.src, f.dst, f.state, String(f.timeout), String(f.mark), String(f.zone), human(f.packets), human(f.bytes), rate(f.packets, before?.packets, seconds), rate(f.bytes, before?.bytes, seconds), f.nat ?? ''];
        }),
        [false, false, false, false, true, true, true, true, true, true, true, false],
      );
    }
    const [title, ...body] = table.map((l) => fit(l, width));
    const acct = this.acctOff ? [s.warn(fit('byte/packet counters are off: sysctl -w net.netfilter.nf_conntrack_acct=1 (counts flows made after it)', width))] : [];
    return [...acct, s.bold(title!), ...body.map((l, i) => (i === this.selected ? s.reverse(l.padEnd(width)) : l))];
  }

  private statusLine(): string {
    if (this.editing !== undefined) return `filter (conntrack -L options, Enter applies, Esc cancels): ${this.editing}`;
    if (this.confirm) return `delete ${this.confirm.what}? y/n`;
    return `${this.message ? `${this.message} | ` : ''}q quit  s sort  r reverse  g group  k key  p pause  / filter  d delete  arrows select`;
  }

  private keys(text: string): void {
    if (this.editing !== undefined) return this.editKeys(text);
    if (this.confirm) {
      const pending = this.confirm;
      this.confirm = undefined;
      if (text === 'y' || text === 'Y') {
        this.message = `deleting ${pending.what}...`;
        pending.run().then(
          (n) => ((this.message = `deleted ${n} flow${n === 1 ? '' : 's'}`), this.refreshNow()),
          (err: unknown) => ((this.message = `delete failed: ${err instanceof Error ? err.message : String(err)}`), this.render()),
        );
      } else this.message = 'delete cancelled';
      return this.render();
    }
    switch (text) {
      case 'q':
      case '\x03':
        return this.done();
      case 's':
        if (this.grouped) this.groupSort = (this.groupSort + 1) % GROUP_SORTS.length;
        else this.flowSort = (this.flowSort + 1) % FLOW_SORTS.length;
        return this.reorder();
      case 'r':
        this.reverse = !this.reverse;
        return this.reorder();
      case 'g':
        this.grouped = !this.grouped;
        return this.newList();
      case 'k':
        this.groupKey = (this.groupKey + 1) % GROUP_KEYS.length;
        this.grouped = true;
        return this.newList();
      case 'p':
      case ' ':
        this.paused = !this.paused;
        return this.render();
      case '/':
        this.editing = this.filterWords.join(' ');
        return this.render();
      case 'd':
        this.confirm = this.deletion();
        return this.render();
      case '\x1b[A':
        this.selected = Math.max(0, this.selected - 1);
        return this.render();
      case '\x1b[B':
        this.selected = Math.min(this.selected + 1, Math.max(0, (this.grouped ? this.groups.length : this.flows.length) - 1));
        return this.render();
    }
  }

  private editKeys(text: string): void {
    if (text === '\x1b') this.editing = undefined;
    else if (text === '\r' || text === '\n') {
      const words = this.editing!.split(/\s+/).filter(Boolean);
      this.editing = undefined;
      try {
        this.filter = parseFilter(words);
        this.filterWords = words;
        this.message = '';
        return this.refreshNow();
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        this.message = `filter refused: ${err.message}`;
      }
    } else if (text === '\x7f' || text === '\b') this.editing = this.editing!.slice(0, -1);
    else if (!text.startsWith('\x1b')) this.editing += text;
    this.render();
  }

  /** What `d` would delete: the selected flow, or every entry of the selected group (within the filter). */
  private deletion(): LiveView['confirm'] {
    if (!this.grouped) {
      const row = this.flows[this.selected];
      if (row === undefined) return undefined;
      return { what: `flow ${row.proto} ${row.src} -> ${row.dst}`, run: async () => ((await this.conntrack.delete(row.flow)) ? 1 : 0) };
    }
    const row = this.groups[this.selected];
    if (row === undefined) return undefined;
    const reader = KEY_READERS[GROUP_KEYS[this.groupKey]!];
    return {
      what: `the ${row.entries} flows of ${GROUP_KEYS[this.groupKey]} ${row.group}`,
      run: async () => {
        // The group's entries as of now (new ones may have joined since the screen was drawn).
        const members: Flow[] = [];
        const key = new Uint32Array(KEY_WORDS);
        await this.oneAtATime(() =>
          this.conntrack.dumpRaw(this.filter, {}, (e) => {
            reader.read(e.index(reader.attrs), key);
            if (sameKey(key, row.key)) members.push(e.flow());
          }),
        );
        const deleted = await Promise.all(members.map((f) => this.conntrack.delete(f)));
        return deleted.filter(Boolean).length;
      },
    };
  }

  /** Another kind of list: the old rows never show under the new titles, even for the length of a dump. */
  private newList(): void {
    this.groups = [];
    this.table = undefined;
    this.flows = [];
    this.previousGroups.clear();
    this.previousFlows.clear();
    this.selected = 0;
    this.refreshNow();
  }

  private refreshNow(): void {
    this.render();
    void this.tick();
  }
}

export function runLive(conntrack: Conntrack, opts: TopOptions): Promise<void> {
  return new LiveView(conntrack, opts).run();
}
