/**
 * The report as the PDF shows it: parsed from the stored report bytes, checked, sorted, with
 * answer codes turned into the questionnaire's labels. The renderer draws only this model, so
 * what the PDF says is a pure function of the report bytes, the questionnaire data and the layout.
 */
import { AppError } from '../../errors.js';
import { loadQuestionnaire } from '../../questionnaire/load.js';
import type { Questionnaire } from '../../questionnaire/types.js';
import { compareCitations } from '../../rules/citation-sort.js';
import { EVALUATION_SCHEMA, FAMILIES, FINDING_STATUSES } from '../../rules/types.js';
import type { Family, Finding, FindingStatus, RiskLevel, SpecType } from '../../rules/types.js';
import { canonicalJson } from '../../util/canonical-json.js';
import { REPORT_SCHEMA } from '../report.js';
import type { Report } from '../report.js';
import { parseIsoInstant } from './format.js';
import { text } from './layout.js';
import type { PdfLayout } from './layout.js';

/** One finding, ready to draw. */
export interface PdfFinding {
  readonly citation: string;
  readonly standard: string;
  readonly standardCitation: string | undefined;
  /** The implementation specification, or the standard when it has none. */
  readonly specification: string;
  readonly type: SpecType;
  readonly family: Family;
  readonly status: FindingStatus;
  readonly likelihood: RiskLevel;
  readonly impact: RiskLevel;
  readonly risk: RiskLevel;
  /** Contexts that raised the impact, e.g. `identifiable_phi (+1)`. */
  readonly impactRaisedBy: readonly string[];
  /** The answers behind the status, one line each: `question: answer label`. */
  readonly answers: readonly string[];
  /** Requirement conditions that did not hold (✗) or could not be decided (?). */
  readonly unmetConditions: readonly string[];
  readonly remediation: string;
  readonly error: string | undefined;
  readonly needsAction: boolean;
}

/** A version stamp shown on the cover and the methodology page. */
export interface PdfVersionStamp {
  readonly label: 'questionnaire' | 'ruleset' | 'engine';
  readonly value: string;
  readonly sha256: string | undefined;
}

/** Everything the PDF shows. */
export interface PdfReportModel {
  readonly reportId: string;
  readonly assessment: {
    readonly id: string;
    readonly title: string;
    readonly organization: string;
    readonly revision: string;
    readonly submittedBy: string;
    readonly submittedAt: Date;
  };
  readonly signing: Report['signing'];
  readonly versions: readonly PdfVersionStamp[];
  readonly answersSha256: string;
  readonly overallRisk: RiskLevel;
  readonly escalated: boolean;
  /** Findings by family in layout order, each family by citation. */
  readonly findings: readonly PdfFinding[];
  /** Ruleset and finding sources, de-duplicated, in order of first appearance. */
  readonly sources: readonly string[];
}

// Condition operators in words, for the "expected" note of an answer.
const OPERATOR_TEXT: Readonly<Record<string, string>> = {
  equal: '',
  notEqual: 'not',
  in: 'one of',
  notIn: 'none of',
  contains: 'includes',
  doesNotContain: 'excludes',
  greaterThanInclusive: '≥',
  lessThanInclusive: '≤',
  greaterThan: '>',
  lessThan: '<',
};

// Far beyond any real answer; keeps one finding's row within one page.
const MAX_LINE_CHARS = 420;
const MAX_LINES = 14;
const MAX_REMEDIATION_CHARS = 1400;

/**
 * Parses and checks report bytes: JSON, `schema` = the report schema, an evaluation of the known
 * schema, and the identity fields the PDF must state. Guarantees: returns the parsed report
 * unchanged; throws `AppError('bad-request')` saying what is wrong otherwise.
 */
export function parseReportBytes(bytes: Uint8Array): Report {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad('the report bytes are not JSON');
  }
  const r = value as Partial<Report> | null;
  if (!isRecord(r)) throw bad('the report is not a JSON object');
  if (r.schema !== REPORT_SCHEMA) throw bad(`unsupported report schema ${JSON.stringify(r.schema)}`);
  const a = r.assessment;
  if (!isRecord(a) || !isRecord(a.organization) || !isRecord(a.submittedBy)) throw bad('the assessment identity is missing');
  for (const [name, v] of [['reportId', r.reportId], ['assessment.id', a.id], ['assessment.title', a.title], ['assessment.organization.name', a.organization.name], ['assessment.submittedAt', a.submittedAt], ['signing.kid', r.signing?.kid]] as const) {
    if (typeof v !== 'string' || v === '') throw bad(`${name} is missing`);
  }
  if (typeof a.revision !== 'number') throw bad('assessment.revision is missing');
  const e = r.evaluation;
  if (!isRecord(e) || e.schema !== EVALUATION_SCHEMA || !Array.isArray(e.findings) || !isRecord(e.summary)) throw bad(`the evaluation is not of schema ${EVALUATION_SCHEMA}`);
  for (const f of e.findings as unknown[]) {
    const finding = isRecord(f) ? f : {};
    if (!FINDING_STATUSES.includes(finding.status as FindingStatus) || !FAMILIES.includes(finding.family as Family)) {
      throw bad(`finding ${String(finding.citation)} has an unknown status or family`);
    }
  }
  return value as Report;
}

/**
 * Builds the model of a checked report.
 *
 * Guarantees: deterministic (no clock, locale or randomness; sorting by code points and
 * numbers); answer codes are shown with the questionnaire version's labels when it knows them;
 * long free texts are shortened with the layout's marker saying that report.json has them whole.
 */
export function buildPdfModel(report: Report, layout: PdfLayout): PdfReportModel {
  const evaluation = report.evaluation;
  const questionnaire = loadQuestionnaire(evaluation.questionnaire.version);
  let submittedAt: Date;
  try {
    submittedAt = parseIsoInstant(report.assessment.submittedAt);
  } catch {
    throw bad(`assessment.submittedAt is not an ISO 8601 timestamp: ${report.assessment.submittedAt}`);
  }
  const needsAction = new Map(layout.statuses.map((s) => [s.code, s.needsAction]));
  const familyOrder = new Map(layout.families.map((f, i) => [f.code, i]));
  const findings = evaluation.findings
    .map((f) => readFinding(f, layout, questionnaire, needsAction.get(f.status) ?? f.status !== 'met'))
    .sort((a, b) => (familyOrder.get(a.family) ?? 99) - (familyOrder.get(b.family) ?? 99) || compareCitations(a.citation, b.citation));

  const sources: string[] = [];
  const addSource = (s: { readonly title: string; readonly url?: string }): void => {
    const line = s.url === undefined ? s.title : `${s.title} (${s.url})`;
    if (!sources.includes(line)) sources.push(line);
  };
  for (const f of evaluation.findings) f.sources.forEach(addSource);

  return {
    reportId: report.reportId,
    assessment: {
      id: report.assessment.id,
      title: report.assessment.title,
      organization: report.assessment.organization.name,
      revision: String(report.assessment.revision),
      submittedBy: report.assessment.submittedBy.name,
      submittedAt,
    },
    signing: report.signing,
    versions: [
      { label: 'questionnaire', value: `${evaluation.questionnaire.id} v${evaluation.questionnaire.version}`, sha256: undefined },
      ...evaluation.rulesets.map((r) => ({ label: 'ruleset' as const, value: `${r.id} ${r.version}`, sha256: r.sha256 })),
      { label: 'engine', value: `${evaluation.engine.name} ${evaluation.engine.version}`, sha256: undefined },
    ],
    answersSha256: evaluation.answersSha256,
    overallRisk: evaluation.summary.overallRisk,
    escalated: evaluation.summary.escalated,
    findings,
    sources,
  };
}

function readFinding(f: Finding, layout: PdfLayout, questionnaire: Questionnaire | undefined, needsAction: boolean): PdfFinding {
  const marker = text(layout, 'findings.truncated');
  // The answers to the requirement's own questions led to the status; the use-case answers that
  // gate applicability or raise the impact are named in the risk line (all are in report.json).
  const requirement = f.reasons.conditions.filter((c) => c.role === 'requirement');
  const requirementPaths = new Set(requirement.map((c) => c.path));
  const primary = f.reasons.answers.filter((a) => requirementPaths.has(a.questionId));
  const shownAnswers = primary.length > 0 ? primary : f.reasons.answers;
  const unmet = needsAction ? requirement.filter((c) => c.result !== true) : [];
  const expectation = (path: string): string => {
    // Only short expectations (one value) help the reader; lists are in report.json.
    const expected = unmet.filter((c) => c.path === path && !Array.isArray(c.value)).map((c) => `${[OPERATOR_TEXT[c.operator] ?? c.operator, valueLabel(questionnaire, c.path, c.value)].filter((x) => x !== '').join(' ')}`);
    return expected.length === 0 ? '' : `  (${text(layout, 'findings.expected')} ${expected.join('; ')})`;
  };
  const answers = shownAnswers.map((a) => {
    const shown = a.state === 'hidden' ? text(layout, 'findings.hidden') : a.state === 'unanswered' || a.answer === null ? text(layout, 'findings.notAnswered') : answerLabel(questionnaire, a.questionId, a.answer);
    return clip(`${a.questionText}  →  ${shown}${expectation(a.questionId)}`, MAX_LINE_CHARS, marker);
  });
  const shownPaths = new Set(shownAnswers.map((a) => a.questionId));
  const otherUnmet = unmet
    .filter((c) => !shownPaths.has(c.path))
    .map((c) => clip(`${c.path} ${[OPERATOR_TEXT[c.operator] ?? c.operator, valueLabel(questionnaire, c.path, c.value)].filter((x) => x !== '').join(' ')}`, MAX_LINE_CHARS, marker));
  return {
    citation: f.citation,
    standard: f.standard,
    standardCitation: f.standardCitation ?? undefined,
    specification: f.specification ?? f.standard,
    type: f.type,
    family: f.family,
    status: f.status,
    likelihood: f.likelihood.overall,
    impact: f.impact.level,
    risk: f.risk,
    impactRaisedBy: f.impact.raisedBy.map((r) => `${r.context} (+${r.levels})`),
    answers: limitLines(answers, marker),
    unmetConditions: limitLines(otherUnmet, marker),
    remediation: clip(f.remediation, MAX_REMEDIATION_CHARS, marker),
    error: f.error ?? undefined,
    needsAction,
  };
}

/** The option label(s) of an answer, or the answer as written. */
function answerLabel(questionnaire: Questionnaire | undefined, questionId: string, answer: unknown): string {
  const question = questionnaire?.byId.get(questionId);
  const label = (v: unknown): string => {
    const option = question?.options?.find((o) => o.value === v);
    return option === undefined ? (typeof v === 'string' ? v : jsonText(v)) : option.label;
  };
  return Array.isArray(answer) ? (answer.length === 0 ? '—' : answer.map(label).join('; ')) : label(answer);
}

function valueLabel(questionnaire: Questionnaire | undefined, questionId: string, value: unknown): string {
  const one = (v: unknown): string => {
    const option = questionnaire?.byId.get(questionId)?.options?.find((o) => o.value === v);
    return option === undefined ? jsonText(v) : `"${option.label}"`;
  };
  return Array.isArray(value) ? `[${value.map(one).join(', ')}]` : one(value);
}

function limitLines(lines: readonly string[], marker: string): string[] {
  return lines.length <= MAX_LINES ? [...lines] : [...lines.slice(0, MAX_LINES), marker.trim()];
}

function clip(value: string, max: number, marker: string): string {
  const chars = Array.from(value);
  return chars.length <= max ? value : `${chars.slice(0, max).join('').trimEnd()} ${marker.trim()}`;
}

function jsonText(value: unknown): string {
  try {
    return value === undefined ? 'undefined' : canonicalJson(value);
  } catch {
    return String(value);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(detail: string): AppError {
  return new AppError('bad-request', `cannot render the report PDF: ${detail}`);
}

