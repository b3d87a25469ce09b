import fc from 'fast-check';
import { hashEventContent, splitCanonicalContent, type AuditEventContent } from '../../src/audit/record.js';
import { canonicalJson } from '../../src/util/canonical-json.js';
import { sha256Hex } from '../../src/util/hash.js';

// The database links an event by hashing `head + prevHash + mid + seq + tail` (migration 0007);
// verification hashes canonicalJson(content). The two must be the same text for every content.
describe('the canonical event text split around prevHash and seq', () => {
  const text = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('', '"', '\\', '\u2028', '\u0000', '😀', 'Ж', '<script>', '"prevHash":"'));
  const nullableText = fc.option(text, { nil: null });
  const content = fc.record({
    occurredAt: fc.date({ min: new Date(Date.UTC(2000, 0, 1)), max: new Date(Date.UTC(2100, 0, 1)), noInvalidDate: true }).map((d) => d.toISOString()),
    action: text,
    outcome: fc.constantFrom('success', 'denied', 'error'),
    actor: fc.record({ type: fc.constantFrom('user', 'client', 'anonymous', 'system'), id: nullableText, role: nullableText, organizationId: nullableText }),
    organizationId: nullableText,
    target: fc.option(fc.record({ type: text, id: text }), { nil: null }),
    request: fc.record({ id: nullableText, ip: nullableText, userAgent: nullableText }),
    inputSha256: fc.option(fc.stringMatching(/^[0-9a-f]{64}$/), { nil: null }),
    decision: fc.dictionary(text, fc.jsonValue()),
  });
  const seq = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
  const prevHash = fc.stringMatching(/^[0-9a-f]{64}$/);

  it('reassembles to canonicalJson(content), or fails where canonicalJson fails (property)', () => {
    fc.assert(
      fc.property(content, seq, prevHash, (unlinked, n, prev) => {
        const full = { ...unlinked, seq: n, prevHash: prev } as AuditEventContent;
        let expected: string;
        try {
          expected = canonicalJson(full);
        } catch {
          expect(() => splitCanonicalContent(unlinked as Omit<AuditEventContent, 'seq' | 'prevHash'>)).toThrow();
          return;
        }
        const p = splitCanonicalContent(unlinked);
        expect(p.head + prev + p.mid + String(n) + p.tail).toBe(expected);
        expect(sha256Hex(p.head + prev + p.mid + String(n) + p.tail)).toBe(hashEventContent(full));
      }),
      { numRuns: 500 },
    );
  });
});
