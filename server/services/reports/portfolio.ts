import type { HealthReport, PortfolioEntry } from './schema.ts';

/**
 * How much attention a customer needs, 0–100: capacity running out, old software, missed
 * response targets, unhappy survey answers, detections outside SERENITY and lost
 * availability, each capped so no single factor hides the others.
 */
export function portfolioEntry(report: HealthReport): PortfolioEntry {
  const pools90 = report.capacity.pools.filter((p) => p.reaches90Within30).length;
  const pools80 = report.capacity.pools.filter((p) => p.reaches80Within30 && !p.reaches90Within30).length;
  const oldSoftware = report.oldSoftware.appliances.length;
  const missed = report.responseTargets.missed;
  const satisfaction = report.satisfaction.average;
  const notCovered = report.notCovered?.open ?? 0;
  const uptime = report.availability.uptimePercent;

  const reasons: string[] = [];
  let score = 0;
  const factor = (points: number, cap: number, reason: string) => {
    if (points <= 0) return;
    score += Math.min(points, cap);
    reasons.push(reason);
  };
  factor(pools90 * 20 + pools80 * 8, 35, `${pools90 + pools80} pool(s) filling up within 30 days`);
  factor(oldSoftware * 4, 12, `${oldSoftware} appliance(s) on old software`);
  factor(missed * 10, 25, `${missed} response target(s) missed`);
  if (satisfaction !== null && satisfaction < 4) factor((4 - satisfaction) * 10, 15, `satisfaction ${satisfaction.toFixed(2)} / 5`);
  factor(notCovered * 3, 10, `${notCovered} detection(s) without SERENITY coverage`);
  if (uptime !== null && uptime < 99.9) factor((99.9 - uptime) * 5, 15, `availability ${uptime.toFixed(2)} %`);

  return {
    customerId: report.customer.id,
    customerName: report.customer.name,
    tier: report.customer.tier,
    entitled: report.customer.entitled,
    riskScore: Math.round(Math.min(100, score) * 10) / 10,
    risks: {
      poolsNear90: pools90,
      poolsNear80: pools80,
      appliancesOnOldSoftware: oldSoftware,
      responseTargetsMissed: missed,
      satisfactionAverage: satisfaction,
      notCoveredFindings: notCovered,
      uptimePercent: uptime,
    },
    reasons,
  };
}

/** Riskiest first; ties by name so the order is stable. */
export function rankPortfolio(reports: Iterable<HealthReport>): PortfolioEntry[] {
  return [...reports].map(portfolioEntry).sort((a, b) => b.riskScore - a.riskScore || a.customerName.localeCompare(b.customerName));
}
