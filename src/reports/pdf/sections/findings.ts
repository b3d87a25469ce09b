/** The findings grouped by safeguard family, and the remediation plan ordered by risk. */
import { compareCitations } from '../../../rules/citation-sort.js';
import type { PdfFinding } from '../model.js';
import { actionPlan, familiesOf, levelBadge, levelLabel, startSection, statusBadge, t, typeBadge } from '../context.js';
import type { RenderContext } from '../context.js';
import type { Column, DetailBlock, Row } from '../canvas.js';

/** Draws every family that has findings, each as a table with the finding's reasons and remediation. */
export function drawFindings(ctx: RenderContext): void {
  const { canvas: c, layout, model } = ctx;
  const sizes = layout.fontSizes;
  const heading = t(ctx, 'findings.heading');
  const outline = startSection(ctx, heading, 1);
  c.heading(heading, 1);
  c.paragraph(t(ctx, 'findings.intro'), { size: sizes.body, lineGap: 2.4 }, { gap: 10 });
  const col = (name: string): string => t(ctx, `findings.columns.${name}`);
  const columns: Column[] = [
    { header: col('citation'), width: 112 },
    { header: col('specification'), width: '*' },
    { header: col('type'), width: 30, align: 'center' },
    { header: col('status'), width: 84 },
    { header: col('risk'), width: 58 },
  ];
  for (const family of familiesOf(ctx)) {
    const findings = model.findings.filter((f) => f.family === family.code);
    if (findings.length === 0) continue;
    const title = family.citation === '' ? family.label : `${family.label} (${family.citation})`;
    c.heading(title, 2, 90);
    startSectionAtHeading(ctx, family.label, outline);
    c.table(columns, findings.map((f) => findingRow(ctx, f)), {
      onContinue: () => {
        c.textAt(`${title} (continued)`, c.left, c.y, c.width, { font: 'bold', size: sizes.small, color: layout.colors.muted });
        c.y += 12;
      },
    });
  }
}

// The family heading was just drawn: register its destination at the heading, not below it.
function startSectionAtHeading(ctx: RenderContext, title: string, parent: PDFKit.PDFOutline): void {
  const y = ctx.canvas.y;
  ctx.canvas.y = Math.max(ctx.canvas.top, y - 24);
  startSection(ctx, title, 2, parent);
  ctx.canvas.y = y;
}

function findingRow(ctx: RenderContext, f: PdfFinding): Row {
  const { layout } = ctx;
  const sizes = layout.fontSizes;
  const standard = [f.standard, f.standardCitation].filter((s) => s !== undefined && s !== '' && s !== f.specification).join(' · ');
  const specLines = [{ text: f.specification || f.standard || '—', font: 'bold' as const, size: sizes.table }];
  if (standard !== '' && f.specification !== '') specLines.push({ text: standard, font: 'regular' as const, size: sizes.small, color: layout.colors.muted } as never);
  const details: DetailBlock[] = [];
  if (f.answers.length > 0) details.push({ label: t(ctx, 'findings.because'), lines: f.answers, bullets: true });
  if (f.unmetConditions.length > 0) details.push({ label: t(ctx, 'findings.conditions'), lines: f.unmetConditions });
  if (f.error !== undefined) details.push({ label: t(ctx, 'findings.error'), lines: [f.error] });
  if (f.needsAction) {
    const raised = f.impactRaisedBy.length > 0 ? `; ${t(ctx, 'findings.raisedBy', { contexts: f.impactRaisedBy.join(', ') })}` : '';
    details.push({
      label: t(ctx, 'findings.likelihoodImpact'),
      lines: [t(ctx, 'findings.riskBasis', { likelihood: levelLabel(ctx, f.likelihood), impact: levelLabel(ctx, f.impact), risk: levelLabel(ctx, f.risk), raised })],
    });
    details.push({ label: t(ctx, 'findings.remediation'), lines: [f.remediation] });
  }
  return {
    cells: [
      { lines: [{ text: f.citation, font: 'bold', size: sizes.table, color: layout.colors.primary }] },
      { lines: specLines },
      { badges: [typeBadge(ctx, f.type)].map((b) => ({ ...b, label: b.short })), align: 'center' },
      { badges: [statusBadge(ctx, f.status)] },
      { badges: f.needsAction ? [levelBadge(ctx, f.risk)] : [] },
    ],
    details,
  };
}

/** Draws the remediation plan: findings that need action, highest risk first, then by citation. */
export function drawRemediation(ctx: RenderContext): void {
  const { canvas: c, layout } = ctx;
  const sizes = layout.fontSizes;
  const heading = t(ctx, 'remediation.heading');
  startSection(ctx, heading, 1);
  c.heading(heading, 1);
  c.paragraph(t(ctx, 'remediation.intro'), { size: sizes.body, lineGap: 2.4 }, { gap: 10 });
  const plan = actionPlan(ctx, compareCitations);
  if (plan.length === 0) {
    c.paragraph(t(ctx, 'remediation.none'), { size: sizes.body, color: layout.colors.muted });
    return;
  }
  const col = (name: string): string => t(ctx, `remediation.columns.${name}`);
  c.table(
    [
      { header: col('rank'), width: 20, align: 'right' },
      { header: col('risk'), width: 62 },
      { header: col('citation'), width: 148 },
      { header: col('status'), width: 80 },
      { header: col('action'), width: '*' },
    ],
    plan.map((f, i) => ({
      cells: [
        { lines: [{ text: String(i + 1), size: sizes.table, color: layout.colors.muted, align: 'right' }] },
        { badges: [levelBadge(ctx, f.risk)] },
        { lines: [{ text: f.citation, font: 'bold', size: sizes.table, color: layout.colors.primary }, { text: f.specification, size: sizes.small, color: layout.colors.muted, gapBefore: 1.5 }] },
        { badges: [statusBadge(ctx, f.status)] },
        { lines: [{ text: f.remediation, size: sizes.table }] },
      ],
    })),
  );
}
