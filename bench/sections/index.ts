import type { BenchSection } from '../lib/types.ts';
import { ingestSection } from './ingest.ts';
import { fleetSummarySection } from '../fleet-summary.ts';
import { engineSection } from '../engine.ts';
import { dashboardSection } from '../dashboard.ts';
import { loadSection } from '../load.ts';

/** Every section of `npm run bench`, in run order; `npm run bench -- NAME…` runs only those. */
export const sections: BenchSection[] = [ingestSection, fleetSummarySection, engineSection, dashboardSection, loadSection];
