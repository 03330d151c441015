import { HelpRequest, parseExporterOptions, UsageError, type ExporterOptions } from './options';
import { Scraper } from './scraper';
import { metricsServer } from './server';

/**
 * `conntrack-exporter FLAGS...`: the only place that prints and exits.
 * Bad flags: one line, exit 2; a port it cannot listen on: one line, exit 1.
 * Runs until SIGTERM or SIGINT.
 */
export function main(processArgv: readonly string[]): void {
  let opts: ExporterOptions;
  try {
    opts = parseExporterOptions(processArgv.slice(2));
  } catch (err) {
    if (err instanceof HelpRequest) {
      process.stdout.write(`${err.message}\n`);
      return;
    }
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`conntrack-exporter: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  const log = (line: string): void => void process.stderr.write(`conntrack-exporter: ${line}\n`);
  const scraper = new Scraper(opts, log);
  scraper.start();
  const server = metricsServer(opts.telemetryPath, () => scraper.scrape());
  const stop = (): void => {
    scraper.close();
    server.close();
    server.closeAllConnections();
  };
  server.on('error', (err) => {
    log(`cannot listen on ${opts.listen.host ?? ''}:${opts.listen.port}: ${err.message}`);
    process.exitCode = 1;
    stop();
  });
  server.listen(opts.listen.port, opts.listen.host, () => {
    const address = server.address();
    log(`listening on ${typeof address === 'object' && address ? `${address.address}:${address.port}` : String(address)}${opts.telemetryPath}`);
  });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
