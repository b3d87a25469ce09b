/**
 * What changed between two reports: findings whose status or risk differ, and findings present
 * in only one (a ruleset version that added or removed a rule). Keyed by ruleset id + citation;
 * output sorted by that key, so the diff is as deterministic as the reports.
 *
 * Any two reports can be compared: two revisions of one assessment, one revision under two
 * ruleset versions, or two assessments (two vendors' versions of a use case). Each side therefore
 * says what it is (report, assessment, revision, ruleset versions), and `sameAssessment` whether
 * the diff is one assessment's history; before, a diff of two assessments looked exactly like a
 * revision diff.
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

/** One side of a diff: which report of which assessment and revision, under which ruleset versions. */
export interface ReportDiffSide {
  readonly reportId: string;
  readonly assessmentId: string;
  readonly revision: number;
  /** The ruleset versions the report was evaluated under, in the report's order. */
  readonly rulesets: readonly { readonly id: string; readonly version: string }[];
  readonly overallRisk: string;
}

export interface ReportDiff {
  readonly from: ReportDiffSide;
  readonly to: ReportDiffSide;
  /** Both reports are of one assessment (revisions, or a revision re-evaluated): its history. */
  readonly sameAssessment: boolean;
  readonly overallRiskChanged: boolean;
  readonly changes: readonly FindingChange[];
  readonly unchanged: number;
}

interface DiffableReport {
  readonly reportId: string;
  readonly assessment: { readonly id: string; readonly revision: number };
  readonly evaluation: { readonly rulesets: readonly { readonly id: string; readonly version: string }[]; readonly summary: { readonly overallRisk: string }; readonly findings: readonly DiffableFinding[] };
}

const sideOf = (r: DiffableReport): ReportDiffSide => ({
  reportId: r.reportId,
  assessmentId: r.assessment.id,
  revision: r.assessment.revision,
  rulesets: r.evaluation.rulesets.map((s) => ({ id: s.id, version: s.version })),
  overallRisk: r.evaluation.summary.overallRisk,
});

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
    from: sideOf(a),
    to: sideOf(b),
    sameAssessment: a.assessment.id === b.assessment.id,
    overallRiskChanged: a.evaluation.summary.overallRisk !== b.evaluation.summary.overallRisk,
    changes,
    unchanged,
  };
}
