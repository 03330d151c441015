/**
 * The HTTP side: the metrics at the telemetry path (text or OpenMetrics,
 * as the Accept header asks), a landing page at `/`, 404 elsewhere. A
 * scrape that fails as a whole (a bug, not a collector: those report
 * through `up`) is a 500 with its reason as the body.
 */
import { createServer, type Server } from 'node:http';
import { CONTENT_TYPES, negotiate, writeExposition, type MetricFamily } from './exposition';

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function landingPage(telemetryPath: string): string {
  const path = escapeHtml(telemetryPath);
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>conntrack exporter</title></head>
<body><h1>conntrack exporter</h1>
<p>Linux connection tracking (conntrack) and conntrackd metrics for Prometheus.</p>
<p><a href="${path}">Metrics</a></p>
</body></html>
`;
}

export function metricsServer(telemetryPath: string, scrape: () => Promise<MetricFamily[]>): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://exporter');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    } else if (url.pathname === telemetryPath) {
      const format = negotiate(req.headers.accept);
      scrape().then(
        (families) => res.writeHead(200, { 'Content-Type': CONTENT_TYPES[format] }).end(writeExposition(families, format)),
        (err: unknown) =>
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`scrape failed: ${err instanceof Error ? err.message : String(err)}\n`),
      );
    } else if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(landingPage(telemetryPath));
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
    }
  });
}
