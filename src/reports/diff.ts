/**
 * What changed between two reports: findings whose status or risk differ, and findings present
 * in only one (a ruleset version that added or removed a rule). Keyed by ruleset id + citation;
 * output sorted by that key, so the diff is as deterministic as the reports.
 */
export interface DiffableFinding {
  readonly rulesetId: string;
  readonly citation: string;
  readonly status: string;
  readonly risk: string;
}

export interface FindingChange {
  readonly rulesetId: string;
  readonly citation: string;
  readonly from: { readonly status: string; readonly risk: string } | null;
  readonly to: { readonly status: string; readonly risk: string } | null;
}

export interface ReportDiff {
  readonly from: { readonly reportId: string; readonly overallRisk: string };
  readonly to: { readonly reportId: string; readonly overallRisk: string };
  readonly overallRiskChanged: boolean;
  readonly changes: readonly FindingChange[];
  readonly unchanged: number;
}

interface DiffableReport {
  readonly reportId: string;
  readonly evaluation: { readonly summary: { readonly overallRisk: string }; readonly findings: readonly DiffableFinding[] };
}

const keyOf = (f: DiffableFinding): string => `${f.rulesetId}\u0000${f.citation}`;

/** Compares report `a` (from) with report `b` (to). */
export function diffReports(a: DiffableReport, b: DiffableReport): ReportDiff {
  const before = new Map(a.evaluation.findings.map((f) => [keyOf(f), f]));
  const after = new Map(b.evaluation.findings.map((f) => [keyOf(f), f]));
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changes: FindingChange[] = [];
  let unchanged = 0;
  for (const key of keys) {
    const x = before.get(key);
    const y = after.get(key);
    if (x && y && x.status === y.status && x.risk === y.risk) {
      unchanged += 1;
      continue;
    }
    const f = (x ?? y)!;
    changes.push({
      rulesetId: f.rulesetId,
      citation: f.citation,
      from: x ? { status: x.status, risk: x.risk } : null,
      to: y ? { status: y.status, risk: y.risk } : null,
    });
  }
  return {
    from: { reportId: a.reportId, overallRisk: a.evaluation.summary.overallRisk },
    to: { reportId: b.reportId, overallRisk: b.evaluation.summary.overallRisk },
    overallRiskChanged: a.evaluation.summary.overallRisk !== b.evaluation.summary.overallRisk,
    changes,
    unchanged,
  };
}
