import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { languages, reportKinds, type Language } from '../../drizzle/schema/index.ts';
import { DOCUMENT_CSP } from '../http/security-headers.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter, type AppEnv } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { invalid } from '../lib/errors.ts';
import { errorResponses, IdParam, isoTime, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import {
  getStoredReport,
  healthReport,
  HealthReport,
  listReports,
  portfolio,
  PortfolioEntry,
  renderHealthReportCsv,
  renderHealthReportHtml,
  ReportFormat,
  resolvePeriod,
  StoredReportSummary,
} from '../services/reports/index.ts';

const PeriodQuery = z.object({
  from: isoTime.optional().openapi({ description: 'Period start (inclusive); default 30 days before `to`' }),
  to: isoTime.optional().openapi({ description: 'Period end (exclusive); default now' }),
});
const FormatQuery = z.object({
  format: ReportFormat.default('json'),
  lang: z.enum(languages).optional().openapi({ description: "Language of the HTML report (`en`, `it`); default the reader's own (PATCH /users/me)" }),
});

const reportResponse = (description: string) => ({
  description,
  content: {
    'application/json': { schema: HealthReport },
    'text/html': { schema: z.string().openapi({ description: 'Printable A4 report with inline SVG charts' }) },
    'text/csv': { schema: z.string().openapi({ description: 'section,subject,metric,value' }) },
  },
});

// The HTML report is a standalone document: nothing in it may run or load.

function fileName(report: HealthReport, ext: string): string {
  const slug = report.customer.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'customer';
  return `health-report-${slug}-${report.period.from.slice(0, 10)}-${report.period.to.slice(0, 10)}.${ext}`;
}

/** The report in the asked format; HTML in `lang`, else in the reader's language (the guide: English and Italian). */
function renderReport(c: Context<AppEnv>, report: HealthReport, format: ReportFormat, lang?: Language) {
  if (format === 'html') {
    c.header('Content-Security-Policy', DOCUMENT_CSP);
    c.header('Content-Disposition', `inline; filename="${fileName(report, 'html')}"`);
    return c.html(renderHealthReportHtml(report, lang ?? currentUser(c).language), 200);
  }
  if (format === 'csv') {
    c.header('Content-Type', 'text/csv; charset=utf-8');
    c.header('Content-Disposition', `attachment; filename="${fileName(report, 'csv')}"`);
    return c.body(renderHealthReportCsv(report), 200);
  }
  return c.json(report, 200);
}

export function reportRoutes(deps: AppDeps) {
  const app = newRouter();
  const { database } = deps;
  app.use('*', requireUser());
  // Staff and account managers only; a customer user reaches its own reports through /health and /reports.
  app.use('/portfolio', requireUser('admin', 'engineer', 'account_manager'));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      tags: ['reports'],
      summary: 'A customer’s health report for a period, computed now',
      request: { query: PeriodQuery.extend(FormatQuery.shape).extend({ customerId: z.uuid().optional() }) },
      responses: { 200: reportResponse('The health report'), ...errorResponses },
    }),
    async (c) => {
      const user = currentUser(c);
      const query = c.req.valid('query');
      const customerId = query.customerId ?? (user.role === 'customer' ? user.customerId : null);
      if (!customerId) throw invalid('customerId is required', [{ path: 'customerId', message: 'Required' }]);
      const now = deps.clock.now();
      const report = await healthReport(database, user, customerId, resolvePeriod(query.from, query.to, now), now);
      return renderReport(c, report, query.format, query.lang) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/portfolio',
      tags: ['reports'],
      summary: 'The caller’s customers ranked by risk (capacity, old software, missed targets, satisfaction, uncovered detections)',
      request: { query: PeriodQuery },
      responses: {
        200: jsonResponse(z.object({ from: z.string(), to: z.string(), items: z.array(PortfolioEntry) }).openapi('Portfolio'), 'Customers, riskiest first'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const now = deps.clock.now();
      const period = resolvePeriod(query.from, query.to, now);
      const items = await portfolio(database, currentUser(c), period, now);
      return c.json({ from: period.from.toISOString(), to: period.to.toISOString(), items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['reports'],
      summary: 'Stored reports (weekly and on demand) the caller may see, newest first',
      request: { query: PageQuery.extend({ customerId: z.uuid().optional(), kind: z.enum(reportKinds).optional() }) },
      responses: { 200: jsonResponse(listOf(StoredReportSummary, 'StoredReportList'), 'A page of reports'), ...errorResponses },
    }),
    async (c) => c.json(await listReports(database.db, currentUser(c), c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['reports'],
      summary: 'A stored report',
      request: { params: IdParam, query: FormatQuery },
      responses: { 200: reportResponse('The stored report'), ...errorResponses },
    }),
    async (c) => {
      const { report } = await getStoredReport(database.db, currentUser(c), c.req.valid('param').id);
      return renderReport(c, report, c.req.valid('query').format, c.req.valid('query').lang) as never;
    },
  );
  return app;
}
