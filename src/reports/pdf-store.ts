import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { PdfSignerIdentity } from '../signing/pdf-sign.js';
import { sha256Hex } from '../util/hash.js';
import type { RenderReportPdfInput } from './pdf/render.js';

export type PdfRenderer = (input: RenderReportPdfInput) => Promise<Buffer>;

/**
 * The signed PDF of a stored report: rendered once (off the request's event loop, by the given
 * renderer — the worker pool in the service) at the first request, then stored append-only in
 * `report_pdfs` and served from there; its bytes never change. Two concurrent first requests
 * render the same bytes (the renderer is deterministic) and the second insert is a no-op.
 */
export class PdfReports {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly signer: PdfSignerIdentity,
    private readonly render: PdfRenderer,
    private readonly observe: (ms: number) => void = () => undefined,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The stored PDF of the report, rendering and storing it first if needed. */
  async pdfFor(report: { readonly id: string; readonly bytes: Uint8Array; readonly jws: string }): Promise<Buffer> {
    const stored = await this.stored(report.id);
    if (stored) return stored;
    const start = process.hrtime.bigint();
    const pdf = await this.render({ reportBytes: report.bytes, jws: report.jws, signer: this.signer });
    this.observe(Number(process.hrtime.bigint() - start) / 1e6);
    await this.db
      .insertInto('report_pdfs')
      .values({ report_id: report.id, bytes: pdf, sha256: sha256Hex(pdf), created_at: this.clock() })
      .onConflict((oc) => oc.column('report_id').doNothing())
      .execute();
    return (await this.stored(report.id)) ?? pdf;
  }

  private async stored(reportId: string): Promise<Buffer | undefined> {
    const row = await this.db.selectFrom('report_pdfs').select(['bytes']).where('report_id', '=', reportId).executeTakeFirst();
    return row ? Buffer.from(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength) : undefined;
  }
}
