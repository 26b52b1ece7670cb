import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scrape target like node_exporter: each scrape answers `fault_probe_scrape_seq` (1, 2, …)
 * and a few gauges, so the test knows exactly which samples were scraped.
 */
export interface ScrapeTarget {
  url: string;
  /** Scrapes answered so far (= the last seq). */
  readonly served: number;
  /** While down, scrapes get a 503 and carry no probe samples. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export const PROBE_SERIES_PER_SCRAPE = 4;

export async function startScrapeTarget(): Promise<ScrapeTarget> {
  let served = 0;
  let down = false;
  const server: Server = createServer((_req, res) => {
    if (down) {
      res.writeHead(503).end();
      return;
    }
    served++;
    const lines = [
      '# TYPE fault_probe_scrape_seq gauge',
      `fault_probe_scrape_seq ${served}`,
      '# TYPE fault_probe_value gauge',
      ...[0, 1, 2].map((k) => `fault_probe_value{k="${k}"} ${served * 10 + k}`),
    ];
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    get served() {
      return served;
    },
    setDown: (value) => {
      down = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
