/** The cover: who and what was assessed, the overall risk, and the report's identity and hashes. */
import { formatUtcDateTime, groupHex } from '../format.js';
import { levelBadge, levelLabel, t } from '../context.js';
import type { RenderContext } from '../context.js';

const BAND_HEIGHT = 262;

/** Draws the cover on the current (first) page. Guarantees: fits on one page. */
export function drawCover(ctx: RenderContext): void {
  const { canvas: c, layout, model } = ctx;
  const doc = c.doc;
  const colors = layout.colors;
  const sizes = layout.fontSizes;
  ctx.bare.add(0);
  doc.outline.addItem(model.assessment.title);

  // Title band
  c.rect(0, 0, doc.page.width, BAND_HEIGHT, colors.coverBand);
  c.rect(0, BAND_HEIGHT, doc.page.width, 4, colors.coverAccent);
  let y = 62;
  y += c.textAt(t(ctx, 'cover.kicker'), c.left, y, c.width, { font: 'bold', size: sizes.coverKicker, color: colors.coverAccent }) + 10;
  y += c.textAt(t(ctx, 'cover.title'), c.left, y, c.width, { font: 'bold', size: sizes.coverTitle, color: colors.coverBandText }) + 18;
  const labelStyle = { font: 'bold' as const, size: sizes.small, color: colors.coverAccent };
  const valueStyle = { font: 'bold' as const, size: sizes.coverSubtitle, color: colors.coverBandText, lineGap: 1 };
  const maxValue = (BAND_HEIGHT - 24 - y) / 2 - 14; // both blocks fit in the band, however long
  y += c.textAt(t(ctx, 'cover.useCase').toUpperCase(), c.left, y, c.width, labelStyle) + 3;
  y += c.textAt(model.assessment.title, c.left, y, c.width, valueStyle, Math.min(maxValue, c.measure(model.assessment.title, c.width, valueStyle))) + 10;
  y += c.textAt(t(ctx, 'cover.preparedFor').toUpperCase(), c.left, y, c.width, labelStyle) + 3;
  c.textAt(model.assessment.organization, c.left, y, c.width, { ...valueStyle, size: sizes.coverSubtitle - 2 }, Math.min(maxValue, c.measure(model.assessment.organization, c.width, { ...valueStyle, size: sizes.coverSubtitle - 2 })));

  // Overall risk and headline counts
  c.y = BAND_HEIGHT + 26;
  const risk = levelBadge(ctx, model.overallRisk);
  c.textAt(t(ctx, 'cover.overallRisk').toUpperCase(), c.left, c.y, 160, { font: 'bold', size: sizes.small, color: colors.muted });
  c.badge(levelLabel(ctx, model.overallRisk).toUpperCase(), c.left, c.y + 12, risk, { size: 12, height: 24, minWidth: 130 });
  const counts = countsLine(ctx);
  c.textAt(counts, c.left + 150, c.y + 14, c.width - 150, { size: sizes.body, color: colors.text });
  c.y += 54;

  // Identity
  c.textAt(t(ctx, 'cover.identityHeading').toUpperCase(), c.left, c.y, c.width, { font: 'bold', size: sizes.small, color: colors.primary });
  c.y += 12;
  c.rule(colors.rule, 7);
  const f = (name: string): string => t(ctx, `cover.fields.${name}`);
  const pairs: { label: string; value: string; mono?: boolean }[] = [
    { label: f('assessmentId'), value: model.assessment.id, mono: true },
    { label: f('revision'), value: model.assessment.revision },
    { label: f('submittedAt'), value: formatUtcDateTime(model.assessment.submittedAt) },
    { label: f('submittedBy'), value: model.assessment.submittedBy },
    { label: f('reportId'), value: model.reportId, mono: true },
  ];
  for (const v of model.versions) {
    pairs.push({ label: f(v.label), value: v.sha256 === undefined ? v.value : `${v.value}\nSHA-256 ${groupHex(v.sha256)}`, mono: v.sha256 !== undefined });
  }
  pairs.push({ label: f('inputHash'), value: groupHex(model.answersSha256), mono: true });
  pairs.push({ label: f('reportSha256'), value: groupHex(ctx.reportSha256), mono: true });
  pairs.push({ label: f('signingKey'), value: model.signing.kid, mono: true });
  pairs.push({ label: f('signature'), value: t(ctx, 'cover.signatureValue', { alg: model.signing.alg, format: model.signing.format }) });
  c.keyValues(pairs, 118);

  // Notice at the foot of the page
  const notice = t(ctx, 'cover.notice');
  const style = { size: sizes.small + 0.5, color: colors.muted };
  const h = c.measure(notice, c.width - 20, style);
  const top = Math.max(c.y + 8, c.bottom - h - 12);
  if (top + h + 12 <= doc.page.height - 20) {
    c.doc.save().roundedRect(c.left, top, c.width, h + 14, 3).fillColor(colors.panelBg).fill().restore();
    c.textAt(notice, c.left + 10, top + 7, c.width - 20, style, h);
  }
}

function countsLine(ctx: RenderContext): string {
  const findings = ctx.model.findings;
  const parts = [t(ctx, 'cover.countFindings', { n: findings.length }), t(ctx, 'cover.countNeedAction', { n: findings.filter((f) => f.needsAction).length })];
  for (const s of ctx.layout.statuses) {
    const n = findings.filter((f) => f.status === s.code).length;
    if (n > 0) parts.push(`${n} ${s.label.toLowerCase()}`);
  }
  return parts.join('  ·  ');
}
