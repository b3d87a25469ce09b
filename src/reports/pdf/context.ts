/**
 * What every section drawer receives: the canvas, the layout, the model, the report's hash, and
 * the registry of section starts that the table of contents, the outline and the running header
 * are built from.
 */
import type { BadgeStyle, FamilyStyle, PdfLayout, RiskLevel } from './layout.js';
import { text } from './layout.js';
import type { Canvas } from './canvas.js';
import type { PdfFinding, PdfReportModel } from './model.js';

/** A table-of-contents entry: where a section or family starts (0-based page index). */
export interface TocEntry {
  readonly title: string;
  readonly level: 1 | 2;
  readonly pageIndex: number;
  readonly destination: string;
}

/** Shared state of one rendering. */
export interface RenderContext {
  readonly canvas: Canvas;
  readonly layout: PdfLayout;
  readonly model: PdfReportModel;
  /** Lower-case hex SHA-256 of the report bytes. */
  readonly reportSha256: string;
  /** The time the PDF's signature claims (`pdfSigningTime`), stated in the verification section. */
  readonly signingTime: Date;
  readonly toc: TocEntry[];
  /** Page index of the table of contents, once reserved. */
  contentsPage: number | undefined;
  /** Pages without running header and footer (the cover). */
  readonly bare: Set<number>;
}

/** Marks a section start at the cursor: a named destination, an outline item and a TOC entry. */
export function startSection(ctx: RenderContext, title: string, level: 1 | 2, parent?: PDFKit.PDFOutline): PDFKit.PDFOutline {
  const doc = ctx.canvas.doc;
  const destination = `section-${ctx.toc.length + 1}`;
  doc.addNamedDestination(destination, 'XYZ', null, doc.page.height - ctx.canvas.y + 4, null);
  ctx.toc.push({ title, level, pageIndex: currentPageIndex(ctx), destination });
  return (parent ?? doc.outline).addItem(title);
}

/** 0-based index of the page being drawn. */
export function currentPageIndex(ctx: RenderContext): number {
  const range = ctx.canvas.doc.bufferedPageRange();
  return range.start + range.count - 1;
}

/** Shorthand for `text(ctx.layout, path, values)`. */
export function t(ctx: RenderContext, path: string, values: Readonly<Record<string, string | number>> = {}): string {
  return text(ctx.layout, path, values);
}

/** Badge style and label of a status; an unknown status shows its raw code in a neutral colour. */
export function statusBadge(ctx: RenderContext, status: string): BadgeStyle {
  const s = ctx.layout.statuses.find((x) => x.code === status);
  return s === undefined
    ? { label: status, short: status, fill: ctx.layout.unknownStatus.fill, text: ctx.layout.unknownStatus.text }
    : { label: s.label, short: s.label, fill: s.fill, text: s.text };
}

/** Badge style of a risk level; `undefined` shows as an outlined "—". */
export function levelBadge(ctx: RenderContext, level: RiskLevel | undefined): BadgeStyle {
  const s = ctx.layout.riskLevels.find((x) => x.code === level);
  return s === undefined
    ? { label: '—', short: '—', fill: '#FFFFFF', text: ctx.layout.colors.muted, stroke: ctx.layout.colors.rule }
    : { label: s.label, short: s.short, fill: s.fill, text: s.text };
}

/** Label of a risk level, or "—". */
export function levelLabel(ctx: RenderContext, level: RiskLevel | undefined): string {
  return ctx.layout.riskLevels.find((x) => x.code === level)?.label ?? '—';
}

/** Badge of Required/Addressable; anything else shows as its raw value. */
export function typeBadge(ctx: RenderContext, type: string): BadgeStyle {
  const s = type === 'required' || type === 'addressable' ? ctx.layout.requirementTypes[type] : undefined;
  return s ?? { label: type || '—', short: type || '—', fill: '#FFFFFF', text: ctx.layout.colors.muted, stroke: ctx.layout.colors.rule };
}

/** The families to show, in layout order, then any unknown family found in the findings. */
export function familiesOf(ctx: RenderContext): FamilyStyle[] {
  const known = [...ctx.layout.families];
  for (const f of ctx.model.findings) {
    if (!known.some((k) => k.code === f.family)) known.push({ code: f.family, label: f.family, short: f.family, citation: '' });
  }
  return known;
}

/** Findings that need action, by risk (highest first, unknown last), then citation order. */
export function actionPlan(ctx: RenderContext, compare: (a: string, b: string) => number): PdfFinding[] {
  const rank = (f: PdfFinding): number => ctx.layout.riskLevels.findIndex((l) => l.code === f.risk);
  return ctx.model.findings.filter((f) => f.needsAction).sort((a, b) => rank(b) - rank(a) || compare(a.citation, b.citation));
}
