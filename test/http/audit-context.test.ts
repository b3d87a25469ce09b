import type { Request } from 'express';
import { targetOfRequest } from '../../src/http/audit-context.js';

// The audit target of a refused or denied request, read from its path (over HTTP in
// test/audit/trail-http.test.ts and test/web/pages.test.ts); here every kind of path at once.
const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const cases: readonly (readonly [string, string | null])[] = [
  [`/v1/assessments/${ID}`, `assessment/${ID}`],
  [`/v1/assessments/${ID}/revisions`, `assessment/${ID}`],
  [`/v1/assessments/${ID}/revisions/2/reports?x=1`, `assessment/${ID}`],
  [`/v1/assessments/${ID.toUpperCase()}/audit`, `assessment/${ID}`],
  [`/assessments/${ID}/edit`, `assessment/${ID}`],
  [`/v1/reports/${ID}`, `report/${ID}`],
  [`/v1/reports/${ID}/signature`, `report/${ID}`],
  [`/reports/${ID}/download/pdf`, `report/${ID}`],
  [`/v1/reports/${ID}/diff/${ID}`, null],
  [`/reports/${ID}/diff`, null],
  [`/v1/users/${ID}`, `user/${ID}`],
  [`/admin/users/${ID}`, `user/${ID}`],
  [`/v1/api-clients/${ID}`, `api_client/${ID}`],
  [`/v1/api-clients/${ID}/rotate`, `api_client/${ID}`],
  [`/admin/clients/${ID}/revoke`, `api_client/${ID}`],
  [`/v1/auditor-grants/${ID}`, `auditor_grant/${ID}`],
  [`/admin/grants/${ID}/revoke`, `auditor_grant/${ID}`],
  // No well-formed id, or no resource: no target.
  ['/v1/assessments', null],
  ['/assessments/new', null],
  [`/v1/assessments/${ID}x/revisions`, null],
  [`/v1/assessments/%7B${ID}%7D`, null],
  [`/v1/users/${ID}/sessions`, null],
  [`/v1/organizations/${ID}`, null],
  [`/x/v1/assessments/${ID}`, null],
  ['/v1/auth/login', null],
];

describe('targetOfRequest', () => {
  it.each(cases)('%s → %s', (url, expected) => {
    const target = targetOfRequest({ originalUrl: url } as Request);
    expect(target === null ? null : `${target.type}/${target.id}`).toBe(expected);
  });
});
