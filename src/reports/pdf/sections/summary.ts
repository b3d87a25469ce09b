/** The executive summary: overall risk, counts by status and by family, and the 5×5 heat map. */
import { RISK_LEVELS } from '../layout.js';
import type { Hex, RiskLevel } from '../layout.js';
import { TABLE_I2 } from '../../../rules/risk.js';
import { familiesOf, levelBadge, levelLabel, startSection, statusBadge, t } from '../context.js';
import type { RenderContext } from '../context.js';
import type { Row } from '../canvas.js';

const HEAT_CELL_W = 40;
const HEAT_CELL_H = 25;
const HEAT_LABEL_W = 58;

/** Draws the executive summary from the cursor (a fresh page). */
export function drawSummary(ctx: RenderContext): void {
  const { canvas: c, layout, model } = ctx;
  const sizes = layout.fontSizes;
  startSection(ctx, t(ctx, 'summary.heading'), 1);
  c.heading(t(ctx, 'summary.heading'), 1);
  const actionCount = model.findings.filter((f) => f.needsAction).length;
  c.paragraph(
    t(ctx, 'summary.intro', {
      findingCount: model.findings.length,
      actionCount,
      title: model.assessment.title,
      organization: model.assessment.organization,
      overallRisk: levelLabel(ctx, model.overallRisk),
    }),
    { size: sizes.body, lineGap: 2.4 },
    { gap: 12 },
  );
  if (model.escalated) c.paragraph(t(ctx, 'summary.escalated'), { size: sizes.body, color: layout.colors.muted, lineGap: 2.4 }, { gap: 12 });

  // Overall risk strip
  const stripH = 40;
  c.ensure(stripH + 10);
  c.doc.save().roundedRect(c.left, c.y, c.width, stripH, 3).fillColor(layout.colors.panelBg).fill().restore();
  c.textAt(t(ctx, 'summary.overallRisk').toUpperCase(), c.left + 12, c.y + 15, 110, { font: 'bold', size: sizes.small, color: layout.colors.muted });
  c.badge(levelLabel(ctx, model.overallRisk).toUpperCase(), c.left + 110, c.y + 9, levelBadge(ctx, model.overallRisk), { size: 10, height: 22, minWidth: 110 });
  let x = c.left + 240;
  for (const s of layout.statuses) {
    const n = model.findings.filter((f) => f.status === s.code).length;
    if (n === 0 || x > c.right - 60) continue;
    c.textAt(String(n), x, c.y + 6, 60, { font: 'bold', size: 13, color: isLight(s.fill) ? layout.colors.text : s.fill });
    c.textAt(s.short, x, c.y + 24, 70, { size: sizes.small - 0.5, color: layout.colors.muted });
    x += 56;
  }
  c.y += stripH + 16;

  // Status table (left) and heat map (right), side by side
  const top = c.y;
  const heatWidth = HEAT_LABEL_W + 5 * HEAT_CELL_W;
  const heatHeight = 26 + 5 * HEAT_CELL_H + 30;
  c.ensure(Math.max(heatHeight + 30, 200));
  const sectionTop = c.y;
  const tableWidth = c.width - heatWidth - 28;
  c.textAt(t(ctx, 'summary.byStatus'), c.left, sectionTop, tableWidth, { font: 'bold', size: sizes.h3, color: layout.colors.primary });
  c.y = sectionTop + 18;
  const statusRows: Row[] = [];
  const codes = [...layout.statuses.map((s) => s.code), ...new Set(model.findings.map((f) => f.status).filter((s) => !layout.statuses.some((x) => x.code === s)))];
  for (const code of codes) {
    const n = model.findings.filter((f) => f.status === code).length;
    statusRows.push({ cells: [{ badges: [statusBadge(ctx, code)] }, { lines: [{ text: String(n), font: 'bold', size: sizes.table }] }] });
  }
  statusRows.push({ cells: [{ lines: [{ text: t(ctx, 'summary.total'), font: 'bold', size: sizes.table }] }, { lines: [{ text: String(model.findings.length), font: 'bold', size: sizes.table }] }], fill: layout.colors.panelBg });
  c.table([{ header: t(ctx, 'summary.status'), width: '*' }, { header: t(ctx, 'summary.count'), width: 60, align: 'right' }], statusRows, { width: tableWidth, zebra: false });
  const afterTable = c.y;
  void top;

  const hx = c.right - heatWidth;
  c.textAt(t(ctx, 'summary.heatMap'), hx, sectionTop, heatWidth, { font: 'bold', size: sizes.h3, color: layout.colors.primary });
  drawHeatMap(ctx, hx, sectionTop + 18);
  c.y = Math.max(afterTable, sectionTop + 18 + heatHeight);
  c.paragraph(t(ctx, 'summary.heatMapNote'), { size: sizes.small, color: layout.colors.muted }, { x: hx, width: heatWidth, gap: 14 });

  // Families matrix
  c.heading(t(ctx, 'summary.byFamily'), 3, 80);
  const shown = layout.statuses.filter((s) => model.findings.some((f) => f.status === s.code));
  const familyRows: Row[] = familiesOf(ctx)
    .filter((fam) => layout.families.some((k) => k.code === fam.code) || model.findings.some((f) => f.family === fam.code))
    .map((fam) => {
      const of = model.findings.filter((f) => f.family === fam.code);
      return {
        cells: [
          { lines: [{ text: fam.short, font: 'bold', size: sizes.table }, { text: fam.citation, size: sizes.small, color: layout.colors.muted }] },
          { lines: [{ text: String(of.length), font: 'bold', size: sizes.table, align: 'right' }] },
          ...shown.map((s) => {
            const n = of.filter((f) => f.status === s.code).length;
            return { lines: [{ text: n === 0 ? '·' : String(n), size: sizes.table, align: 'right' as const, color: n === 0 ? layout.colors.rule : layout.colors.text, font: n > 0 && s.needsAction ? ('bold' as const) : ('regular' as const) }] };
          }),
        ],
      };
    });
  const rest = c.width - 118 - 40;
  c.table(
    [{ header: t(ctx, 'summary.family'), width: 118 }, { header: t(ctx, 'summary.total'), width: 40, align: 'right' }, ...shown.map((s) => ({ header: s.short, width: rest / Math.max(1, shown.length), align: 'right' as const }))],
    familyRows,
  );
}

/** The 5×5 grid: rows likelihood (very high at the top), columns impact; counts of findings that need action. */
function drawHeatMap(ctx: RenderContext, x: number, y: number): void {
  const { canvas: c, layout, model } = ctx;
  const sizes = layout.fontSizes;
  const counts = new Map<string, number>();
  for (const f of model.findings) {
    if (!f.needsAction) continue;
    const key = `${f.likelihood}/${f.impact}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const gx = x + HEAT_LABEL_W;
  c.textAt(`${t(ctx, 'summary.likelihood')} ↓`, x, y + 4, HEAT_LABEL_W - 4, { font: 'bold', size: sizes.small, color: layout.colors.muted });
  const gy = y + 18;
  const rows = [...RISK_LEVELS].reverse();
  rows.forEach((likelihood, r) => {
    const cy = gy + r * HEAT_CELL_H;
    c.textAt(styleOf(ctx, likelihood).label, x, cy + HEAT_CELL_H / 2 - 4, HEAT_LABEL_W - 6, { size: sizes.small, color: layout.colors.text, align: 'right' });
    RISK_LEVELS.forEach((impact, col) => {
      const cx = gx + col * HEAT_CELL_W;
      const risk = TABLE_I2[likelihood][impact];
      const style = styleOf(ctx, risk);
      const n = counts.get(`${likelihood}/${impact}`) ?? 0;
      c.rect(cx, cy, HEAT_CELL_W, HEAT_CELL_H, n > 0 ? style.fill : tint(style.fill, 0.3));
      if (n > 0) c.textAt(String(n), cx, cy + HEAT_CELL_H / 2 - 6, HEAT_CELL_W, { font: 'bold', size: 11, color: style.text, align: 'center' });
    });
  });
  // White grid lines over the cells
  const doc = c.doc;
  doc.save().lineWidth(1.2).strokeColor('#FFFFFF');
  for (let i = 1; i < 5; i++) {
    doc.moveTo(gx + i * HEAT_CELL_W, gy).lineTo(gx + i * HEAT_CELL_W, gy + 5 * HEAT_CELL_H);
    doc.moveTo(gx, gy + i * HEAT_CELL_H).lineTo(gx + 5 * HEAT_CELL_W, gy + i * HEAT_CELL_H);
  }
  doc.stroke().restore();
  const ly = gy + 5 * HEAT_CELL_H + 3;
  RISK_LEVELS.forEach((impact, col) => {
    c.textAt(styleOf(ctx, impact).short, gx + col * HEAT_CELL_W, ly, HEAT_CELL_W, { size: sizes.small, color: layout.colors.text, align: 'center' });
  });
  c.textAt(`${t(ctx, 'summary.impact')} →`, gx, ly + 11, 5 * HEAT_CELL_W, { font: 'bold', size: sizes.small, color: layout.colors.muted, align: 'center' });
}

function styleOf(ctx: RenderContext, level: RiskLevel): { label: string; short: string; fill: Hex; text: Hex } {
  return ctx.layout.riskLevels.find((l) => l.code === level)!;
}

/** Whether a colour is too light for text on white (relative luminance above 0.45). */
function isLight(hex: Hex): boolean {
  const [r, g, b] = [0, 1, 2].map((i) => parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16) / 255) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45;
}

/** Mixes a colour with white: `amount` 0 = white, 1 = the colour. */
export function tint(hex: Hex, amount: number): Hex {
  const channel = (i: number): string => {
    const v = parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16);
    return Math.round(255 - (255 - v) * amount).toString(16).padStart(2, '0');
  };
  return `#${channel(0)}${channel(1)}${channel(2)}`.toUpperCase();
}
