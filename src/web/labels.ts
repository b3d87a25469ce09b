/**
 * Words the pages show for the codes of the evaluation (risk levels, statuses, families, roles).
 * The same words as the PDF (templates/pdf/report-layout.json), so a page and its PDF agree.
 */
import type { Family, FindingStatus, RiskLevel } from '../rules/types.js';

/** Risk levels, lowest first, with their label and the CSS class that colours them. */
export const RISK_LABELS: Readonly<Record<RiskLevel, string>> = {
  very_low: 'Very low',
  low: 'Low',
  moderate: 'Moderate',
  high: 'High',
  very_high: 'Very high',
};

/** Statuses in the order the pages list them (most urgent first). */
export const STATUS_ORDER: readonly FindingStatus[] = ['not_met', 'not_assessed', 'rationale_documented', 'alternative_implemented', 'met', 'not_applicable'];

/** How each status reads. */
export const STATUS_LABELS: Readonly<Record<FindingStatus, string>> = {
  not_met: 'Not met',
  not_assessed: 'Not assessed',
  rationale_documented: 'Rationale only',
  alternative_implemented: 'Alternative measure',
  met: 'Met',
  not_applicable: 'Not applicable',
};

/** Statuses that call for action: they fill the heat map and the remediation list (as in the PDF). */
export const NEEDS_ACTION: ReadonlySet<string> = new Set(['not_met', 'not_assessed', 'rationale_documented']);

/** Safeguard families with their heading and the part of the rule they come from. */
export const FAMILY_LABELS: Readonly<Record<Family, { readonly label: string; readonly citation: string }>> = {
  administrative: { label: 'Administrative safeguards', citation: '§164.308' },
  physical: { label: 'Physical safeguards', citation: '§164.310' },
  technical: { label: 'Technical safeguards', citation: '§164.312' },
  organizational: { label: 'Organizational requirements', citation: '§164.314' },
  documentation: { label: 'Policies, procedures and documentation', citation: '§164.316' },
  ai: { label: 'AI-specific safeguards', citation: 'AI guidance' },
};

/** Role names as people read them. */
export const ROLE_LABELS: Readonly<Record<string, string>> = {
  compliance_officer: 'Compliance officer',
  auditor: 'Auditor',
  admin: 'Administrator',
};

/** The label of a code from one of the tables above, or the code itself when unknown. */
export function labelOf(table: Readonly<Record<string, string>>, code: string | null | undefined): string {
  if (code === null || code === undefined) return '—';
  return Object.hasOwn(table, code) ? table[code]! : code;
}
