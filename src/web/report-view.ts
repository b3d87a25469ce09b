/**
 * A stored report as the result page shows it: overall risk, counts, the 5×5 heat map and the
 * findings grouped by safeguard family with the answers behind them. Read only from the report's
 * own bytes (what was signed), plus the questionnaire for option labels.
 */
import { getQuestionnaire, type Questionnaire } from '../questionnaire/index.js';
import type { Report } from '../reports/report.js';
import { TABLE_I2 } from '../rules/risk.js';
import { FAMILIES, RISK_LEVELS, type Finding, type RiskLevel } from '../rules/types.js';
import { FAMILY_LABELS, NEEDS_ACTION, RISK_LABELS, STATUS_LABELS, STATUS_ORDER } from './labels.js';

/** One cell of the heat map. */
export interface HeatCell {
  readonly likelihood: RiskLevel;
  readonly impact: RiskLevel;
  /** The level of risk of the cell (NIST SP 800-30 Table I-2), which colours it. */
  readonly risk: RiskLevel;
  readonly count: number;
  /** Spoken by screen readers: "Likelihood high, impact moderate: 3 findings (risk moderate)". */
  readonly label: string;
}

/** One reason: a question and the answer given. */
export interface ReasonView {
  readonly question: string;
  readonly answer: string;
  readonly state: string;
}

/** One finding as the page lists it. */
export interface FindingView {
  readonly citation: string;
  readonly title: string;
  readonly type: string;
  readonly status: string;
  readonly risk: RiskLevel;
  readonly likelihood: RiskLevel;
  readonly impact: RiskLevel;
  readonly needsAction: boolean;
  readonly reasons: readonly ReasonView[];
  readonly remediation: string;
  readonly error: string | null;
  readonly anchor: string;
}

/** The result page's model. */
export interface ReportView {
  readonly reportId: string;
  readonly overallRisk: RiskLevel;
  readonly escalated: boolean;
  readonly findingCount: number;
  readonly needsActionCount: number;
  readonly statusCounts: readonly { readonly status: string; readonly count: number }[];
  readonly riskCounts: readonly { readonly risk: RiskLevel; readonly count: number }[];
  /** Rows from very high likelihood (top) to very low; columns impact very low → very high. */
  readonly heatMap: readonly { readonly likelihood: RiskLevel; readonly cells: readonly HeatCell[] }[];
  readonly levels: readonly RiskLevel[];
  readonly families: readonly { readonly code: string; readonly label: string; readonly citation: string; readonly findings: readonly FindingView[]; readonly needsAction: number }[];
  /** Findings that need action, highest risk first (the remediation plan). */
  readonly actions: readonly FindingView[];
  readonly questionnaireVersion: string;
  readonly rulesets: readonly { readonly id: string; readonly version: string; readonly sha256: string }[];
  readonly answersSha256: string;
}

/** The level of risk for a likelihood and an impact (NIST SP 800-30 Table I-2, from the rules module). */
export function riskOf(likelihood: RiskLevel, impact: RiskLevel): RiskLevel {
  return TABLE_I2[likelihood][impact];
}

function answerText(questionnaire: Questionnaire | undefined, questionId: string, answer: unknown, state: string): string {
  if (state === 'hidden') return 'Not shown (branching)';
  if (answer === null || answer === undefined) return 'Not answered';
  const q = questionnaire?.byId.get(questionId);
  const label = (v: unknown): string => q?.options?.find((o) => o.value === v)?.label ?? (typeof v === 'boolean' ? (v ? 'Yes' : 'No') : String(v));
  if (Array.isArray(answer)) return answer.length === 0 ? 'None selected' : answer.map(label).join('; ');
  return label(answer);
}

function findingView(f: Finding, questionnaire: Questionnaire | undefined): FindingView {
  return {
    citation: f.citation,
    title: f.specification ?? f.standard,
    type: f.type,
    status: f.status,
    risk: f.risk,
    likelihood: f.likelihood.overall,
    impact: f.impact.level,
    needsAction: NEEDS_ACTION.has(f.status),
    reasons: f.reasons.answers.map((a) => ({ question: a.questionText, answer: answerText(questionnaire, a.questionId, a.answer, a.state), state: a.state })),
    remediation: f.remediation,
    error: f.error,
    anchor: `f-${f.rulesetId}-${f.citation}`.replace(/[^A-Za-z0-9_-]+/g, '-'),
  };
}

/** Builds the result page's model from a report. Pure. */
export function buildReportView(report: Report): ReportView {
  const ev = report.evaluation;
  const questionnaire = getQuestionnaire(ev.questionnaire.version);
  const findings = ev.findings.map((f) => findingView(f, questionnaire));
  const counts = new Map<string, number>();
  for (const f of findings) {
    if (!f.needsAction) continue;
    const key = `${f.likelihood}/${f.impact}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const heatMap = [...RISK_LEVELS].reverse().map((likelihood) => ({
    likelihood,
    cells: RISK_LEVELS.map((impact): HeatCell => {
      const count = counts.get(`${likelihood}/${impact}`) ?? 0;
      const risk = riskOf(likelihood, impact);
      return {
        likelihood,
        impact,
        risk,
        count,
        label: `Likelihood ${RISK_LABELS[likelihood].toLowerCase()}, impact ${RISK_LABELS[impact].toLowerCase()}: ${count} finding${count === 1 ? '' : 's'} needing action (risk ${RISK_LABELS[risk].toLowerCase()})`,
      };
    }),
  }));
  const riskRank = (r: RiskLevel): number => RISK_LEVELS.indexOf(r);
  const actions = findings.filter((f) => f.needsAction).sort((a, b) => riskRank(b.risk) - riskRank(a.risk));
  return {
    reportId: report.reportId,
    overallRisk: ev.summary.overallRisk,
    escalated: ev.summary.escalated,
    findingCount: ev.summary.findingCount,
    needsActionCount: actions.length,
    statusCounts: STATUS_ORDER.map((status) => ({ status, count: ev.summary.counts.byStatus[status] ?? 0 })),
    riskCounts: [...RISK_LEVELS].reverse().map((risk) => ({ risk, count: ev.summary.counts.byRisk[risk] ?? 0 })),
    heatMap,
    levels: RISK_LEVELS,
    families: FAMILIES.map((code) => {
      const list = findings.filter((_, i) => ev.findings[i]!.family === code);
      return { code, label: FAMILY_LABELS[code].label, citation: FAMILY_LABELS[code].citation, findings: list, needsAction: list.filter((f) => f.needsAction).length };
    }).filter((f) => f.findings.length > 0),
    actions,
    questionnaireVersion: ev.questionnaire.version,
    rulesets: ev.rulesets.map((r) => ({ id: r.id, version: r.version, sha256: r.sha256 })),
    answersSha256: ev.answersSha256,
  };
}

/** Status labels for templates that list the statuses of a diff. */
export const STATUS_TEXT = STATUS_LABELS;
