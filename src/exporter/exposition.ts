/**
 * The Prometheus text exposition format (version 0.0.4) and OpenMetrics
 * 1.0.0, written from one model. Pure: families in, text out.
 *
 * The two differ where scrapers notice: OpenMetrics names a counter family
 * without `_total` (its samples keep it), puts the unit in a `# UNIT` line
 * and ends with `# EOF`; the 0.0.4 format names the family as its samples.
 */

export type MetricType = 'gauge' | 'counter';

export interface Sample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface MetricFamily {
  /** Full name without `_total`: counters get it in the samples. Base units in the name (`_seconds`, `_bytes`). */
  name: string;
  help: string;
  type: MetricType;
  /** The unit the name ends with (`seconds`, `bytes`), for OpenMetrics' UNIT line. */
  unit?: string;
  samples: readonly Sample[];
}

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/**
 * The format an Accept header asks for: OpenMetrics when it names
 * `application/openmetrics-text` with a q above every text/plain one
 * (Prometheus sends both, preferring OpenMetrics when so configured),
 * else the 0.0.4 text.
 */
export function negotiate(accept: string | undefined): ExpositionFormat {
  let open = -1;
  let plain = -1;
  for (const part of (accept ?? '').split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim());
    const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? 1);
    if (type === 'application/openmetrics-text') open = Math.max(open, q);
    else if (type === 'text/plain' || type === '*/*') plain = Math.max(plain, q);
  }
  return open > 0 && open >= plain ? 'openmetrics' : 'prometheus';
}

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function number(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

/** The families as one exposition in `format`. A family without samples still says what it is. */
export function writeExposition(families: readonly MetricFamily[], format: ExpositionFormat): string {
  const lines: string[] = [];
  for (const f of families) {
    const sample = f.type === 'counter' ? `${f.name}_total` : f.name;
    const family = format === 'openmetrics' ? f.name : sample;
    lines.push(`# HELP ${family} ${escapeHelp(f.help)}`, `# TYPE ${family} ${f.type}`);
    if (format === 'openmetrics' && f.unit) lines.push(`# UNIT ${family} ${f.unit}`);
    for (const s of f.samples) lines.push(`${sample}${labelText(s.labels)} ${number(s.value)}`);
  }
  if (format === 'openmetrics') lines.push('# EOF');
  return lines.join('\n') + '\n';
}
