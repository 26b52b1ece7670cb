export { computeHealthReports, RECURRING_THRESHOLD, type ReportPeriod } from './compute.ts';
export { renderHealthReportHtml } from './html.ts';
export { renderHealthReportCsv } from './csv.ts';
export { portfolioEntry, rankPortfolio } from './portfolio.ts';
export {
  generateWeeklyReports,
  getStoredReport,
  healthReport,
  listReports,
  portfolio,
  previousWeek,
  resolvePeriod,
} from './stored.ts';
export * from './schema.ts';
