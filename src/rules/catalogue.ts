import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Family, SpecType } from './types.js';

/** `rules/` at the repository root (same depth from `src/rules` and `dist/rules`). */
export const RULES_DIR = join(import.meta.dirname, '..', '..', 'rules');

/** One citable entry of the Security Rule catalogue: an implementation specification or a standard without any. */
export interface CatalogueEntry {
  readonly citation: string;
  readonly standard: string;
  readonly standardCitation: string;
  /** Null for a standard without implementation specifications. */
  readonly specification: string | null;
  readonly type: SpecType;
  readonly family: Family;
}

export interface Catalogue {
  readonly title: string;
  /** Every citation a `hipaa-security` ruleset must cover, in catalogue order. */
  readonly entries: readonly CatalogueEntry[];
  /** Standard citations, including standards that have implementation specifications. */
  readonly standardCitations: ReadonlySet<string>;
  /** Citations from the reference that rules may use without a `citationSource`. */
  readonly referenceCitations: ReadonlySet<string>;
}

interface RawCatalogue {
  readonly catalog: string;
  readonly standards: readonly {
    readonly standard_citation: string;
    readonly standard: string;
    readonly part: string;
    readonly implementation_specifications: readonly { readonly citation: string; readonly name: string; readonly type: 'R' | 'A' }[];
  }[];
}

const PART_FAMILY: Readonly<Record<string, Family>> = {
  administrative: 'administrative',
  physical: 'physical',
  technical: 'technical',
  organizational: 'organizational',
  policies_documentation: 'documentation',
};

let cached: Catalogue | undefined;

/** Loads (once) the Security Rule catalogue and the reference citations from `rules/catalogue/`. */
export function loadCatalogue(): Catalogue {
  if (cached) return cached;
  const raw = JSON.parse(readFileSync(join(RULES_DIR, 'catalogue', 'hipaa-security-rule-2013.json'), 'utf8')) as RawCatalogue;
  const refs = JSON.parse(readFileSync(join(RULES_DIR, 'catalogue', 'reference-citations.json'), 'utf8')) as { citations: { citation: string }[] };
  const entries: CatalogueEntry[] = [];
  for (const s of raw.standards) {
    const family = PART_FAMILY[s.part];
    if (!family) throw new Error(`catalogue: unknown part ${s.part}`);
    if (s.implementation_specifications.length === 0) {
      entries.push({ citation: s.standard_citation, standard: s.standard, standardCitation: s.standard_citation, specification: null, type: 'required', family });
    }
    for (const spec of s.implementation_specifications) {
      entries.push({ citation: spec.citation, standard: s.standard, standardCitation: s.standard_citation, specification: spec.name, type: spec.type === 'R' ? 'required' : 'addressable', family });
    }
  }
  cached = Object.freeze({
    title: raw.catalog,
    entries: Object.freeze(entries.map((e) => Object.freeze(e))),
    standardCitations: new Set(raw.standards.map((s) => s.standard_citation)),
    referenceCitations: new Set(refs.citations.map((c) => c.citation)),
  });
  return cached;
}
