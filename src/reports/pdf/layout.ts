/**
 * The PDF layout template (`templates/pdf/report-layout.json`): page, fonts, colours, section
 * order and every static text. Loaded once per process and frozen; the drawing code reads it and
 * never carries a text of its own, so wording and styling change without touching code.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FAMILIES, FINDING_STATUSES } from '../../rules/types.js';

/** A colour as `#RRGGBB`. */
export type Hex = string;

/** One level of the NIST SP 800-30 five-level scale, as the template styles it. */
export interface LevelStyle {
  readonly code: RiskLevel;
  readonly label: string;
  readonly short: string;
  readonly range: string;
  readonly fill: Hex;
  readonly text: Hex;
}

/** How a finding status is shown. `needsAction` puts the finding in the remediation plan and heat map. */
export interface StatusStyle {
  readonly code: string;
  readonly label: string;
  /** For narrow table headers. */
  readonly short: string;
  readonly fill: Hex;
  readonly text: Hex;
  readonly needsAction: boolean;
}

/** A safeguard family, in the order the report shows them. */
export interface FamilyStyle {
  readonly code: string;
  readonly label: string;
  readonly short: string;
  readonly citation: string;
}

/** A badge's colours: fill, text and an optional outline. */
export interface BadgeStyle {
  readonly label: string;
  readonly short: string;
  readonly fill: Hex;
  readonly text: Hex;
  readonly stroke?: Hex;
}

/** The five NIST SP 800-30 levels, lowest first. */
export const RISK_LEVELS = ['very_low', 'low', 'moderate', 'high', 'very_high'] as const;
/** One of `RISK_LEVELS`. */
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** The section names a layout may order. */
export type SectionName = 'cover' | 'contents' | 'summary' | 'findings' | 'remediation' | 'methodology' | 'verification';

/** Nested static texts: strings, lists of strings, or further groups. */
export interface TextTree {
  readonly [key: string]: string | readonly string[] | TextTree;
}

/** The parsed layout template. */
export interface PdfLayout {
  readonly layoutVersion: string;
  readonly page: { readonly size: string; readonly margins: { readonly top: number; readonly bottom: number; readonly left: number; readonly right: number } };
  readonly fonts: { readonly regular: string; readonly bold: string; readonly mono: string };
  readonly fontSizes: Readonly<Record<
    'coverKicker' | 'coverTitle' | 'coverSubtitle' | 'h1' | 'h2' | 'h3' | 'body' | 'table' | 'tableHeader' | 'small' | 'badge' | 'mono' | 'running',
    number
  >>;
  readonly lineGap: number;
  readonly spacing: Readonly<Record<'paragraph' | 'section' | 'cellPaddingX' | 'cellPaddingY' | 'badgePaddingX' | 'badgeHeight', number>>;
  readonly colors: Readonly<Record<
    | 'text' | 'muted' | 'primary' | 'accent' | 'rule' | 'tableHeaderBg' | 'tableHeaderText' | 'zebra' | 'panelBg' | 'codeBg'
    | 'coverBand' | 'coverBandText' | 'coverAccent',
    Hex
  >>;
  readonly riskLevels: readonly LevelStyle[];
  readonly statuses: readonly StatusStyle[];
  readonly unknownStatus: { readonly fill: Hex; readonly text: Hex };
  readonly families: readonly FamilyStyle[];
  readonly requirementTypes: Readonly<Record<'required' | 'addressable', BadgeStyle>>;
  readonly sections: readonly SectionName[];
  readonly texts: TextTree;
}

/** Where the default layout lives: `templates/pdf/` at the repository root (from `src/` or `dist/`). */
export const DEFAULT_LAYOUT_PATH = fileURLToPath(new URL('../../../templates/pdf/report-layout.json', import.meta.url));

const cache = new Map<string, PdfLayout>();

/**
 * Loads and checks a layout template; the same path is read once per process.
 *
 * Guarantees: the result is deeply frozen; it has five risk levels in NIST order, a style for
 * each status and family it names, every section name known, and every colour a `#RRGGBB`.
 * Throws an `Error` naming the first problem otherwise (a broken template is a deployment bug).
 */
export function loadPdfLayout(path: string = DEFAULT_LAYOUT_PATH): PdfLayout {
  const cached = cache.get(path);
  if (cached !== undefined) return cached;
  const layout = checkLayout(JSON.parse(readFileSync(path, 'utf8')) as PdfLayout, path);
  cache.set(path, deepFreeze(layout));
  return layout;
}

/**
 * A static text by dotted path (e.g. `summary.heading`) with `{name}` placeholders filled from
 * `values`. Guarantees: a missing text throws (so a typo in code fails every test, not silently);
 * an unknown placeholder is left as written.
 */
export function text(layout: PdfLayout, path: string, values: Readonly<Record<string, string | number>> = {}): string {
  const found = lookup(layout.texts, path);
  if (typeof found !== 'string') throw new Error(`layout text ${path} is missing or not a string`);
  return fill(found, values);
}

/** A list of static texts by dotted path. Throws if it is missing or not a list of strings. */
export function textList(layout: PdfLayout, path: string): readonly string[] {
  const found = lookup(layout.texts, path);
  if (!Array.isArray(found) || !found.every((s) => typeof s === 'string')) throw new Error(`layout text list ${path} is missing`);
  return found;
}

/** Replaces `{name}` with `values[name]`; unknown names stay as written. */
export function fill(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, (whole, name: string) => {
    const value = values[name];
    return value === undefined ? whole : String(value);
  });
}

function lookup(tree: TextTree, path: string): TextTree[string] | undefined {
  let node: TextTree[string] | undefined = tree;
  for (const part of path.split('.')) {
    if (node === undefined || typeof node === 'string' || Array.isArray(node)) return undefined;
    node = (node as TextTree)[part];
  }
  return node;
}

const SECTION_NAMES: readonly SectionName[] = ['cover', 'contents', 'summary', 'findings', 'remediation', 'methodology', 'verification'];
const HEX = /^#[0-9A-Fa-f]{6}$/;

function checkLayout(layout: PdfLayout, path: string): PdfLayout {
  const problem = (detail: string): never => {
    throw new Error(`PDF layout ${path}: ${detail}`);
  };
  if (typeof layout.layoutVersion !== 'string') problem('layoutVersion is missing');
  if (layout.riskLevels.map((l) => l.code).join() !== RISK_LEVELS.join()) problem(`riskLevels must be ${RISK_LEVELS.join(', ')} in that order`);
  for (const s of FINDING_STATUSES) if (!layout.statuses.some((x) => x.code === s)) problem(`no style for status ${s}`);
  for (const f of FAMILIES) if (!layout.families.some((x) => x.code === f)) problem(`no style for family ${f}`);
  for (const section of layout.sections) if (!SECTION_NAMES.includes(section)) problem(`unknown section ${section}`);
  if (layout.sections[0] !== 'cover') problem('the cover must come first');
  const colours: [string, unknown][] = [
    ...Object.entries(layout.colors),
    ...layout.riskLevels.flatMap((l) => [[`riskLevels.${l.code}.fill`, l.fill], [`riskLevels.${l.code}.text`, l.text]] as [string, unknown][]),
    ...layout.statuses.flatMap((s) => [[`statuses.${s.code}.fill`, s.fill], [`statuses.${s.code}.text`, s.text]] as [string, unknown][]),
  ];
  for (const [name, value] of colours) if (typeof value !== 'string' || !HEX.test(value)) problem(`${name} is not a #RRGGBB colour`);
  return layout;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
