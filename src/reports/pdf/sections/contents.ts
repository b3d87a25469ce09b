/** The table of contents: reserved as a page during layout, filled in once page numbers are known. */
import { startSection, t } from '../context.js';
import type { RenderContext } from '../context.js';

/** Reserves the current page for the contents and registers it in the outline. */
export function reserveContents(ctx: RenderContext): void {
  startSection(ctx, t(ctx, 'contents.heading'), 1);
  ctx.contentsPage = ctx.canvas.doc.bufferedPageRange().count - 1;
}

/**
 * Draws the contents on the reserved page: one line per section and family with dotted leaders,
 * the page number and a link to the section. Call after all sections are drawn.
 */
export function fillContents(ctx: RenderContext): void {
  if (ctx.contentsPage === undefined) return;
  const { canvas: c, layout } = ctx;
  const doc = c.doc;
  doc.switchToPage(ctx.contentsPage);
  c.y = c.top;
  c.heading(t(ctx, 'contents.heading'), 1);
  c.y += 4;
  for (const entry of ctx.toc) {
    if (entry.pageIndex === ctx.contentsPage) continue;
    const level1 = entry.level === 1;
    const style = { font: level1 ? ('bold' as const) : ('regular' as const), size: level1 ? layout.fontSizes.body + 1 : layout.fontSizes.body, color: level1 ? layout.colors.primary : layout.colors.text };
    const indent = level1 ? 0 : 16;
    const number = String(entry.pageIndex + 1);
    const numberWidth = 30;
    const titleWidth = Math.min(c.textWidth(entry.title, style), c.width - indent - numberWidth - 20);
    const lineY = c.y + (level1 ? 8 : 2);
    const h = c.textAt(entry.title, c.left + indent, lineY, titleWidth + 1, style);
    c.textAt(number, c.right - numberWidth, lineY, numberWidth, { ...style, align: 'right' });
    // Dotted leader between the title and the number.
    const leaderY = lineY + h - 3.5;
    doc.save().moveTo(c.left + indent + titleWidth + 6, leaderY).lineTo(c.right - numberWidth - 2, leaderY)
      .dash(0.6, { space: 2.4 }).lineWidth(0.6).strokeColor(layout.colors.rule).stroke().undash().restore();
    doc.goTo(c.left + indent, lineY, c.width - indent, h, entry.destination);
    c.y = lineY + h + 3;
  }
}
