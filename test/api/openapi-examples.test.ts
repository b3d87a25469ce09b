/**
 * Every request example /openapi.json publishes for the evaluation and submission operations is
 * one the server accepts, sent as it stands; the embedded example answers stay those of
 * docs/examples/well-controlled.json.
 */
import { startTestApp, type TestApp } from '../support/app.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { example } from '../support/fixtures.js';
import { exampleAnswers, exampleQuestionnaireVersion } from '../../src/http/openapi/examples.js';
import { clientToken, seedClient, seedOrganization, send, type Credentials } from '../auth/helpers.js';

interface MediaType {
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}
type Operation = { requestBody?: { content?: Record<string, MediaType> } };

/** Every request example of an operation: `example` and each `examples` value, of every media type. */
function requestExamples(op: Operation | undefined): unknown[] {
  return Object.values(op?.requestBody?.content ?? {}).flatMap((m) => [...(m.example !== undefined ? [m.example] : []), ...Object.values(m.examples ?? {}).flatMap((e) => (e.value !== undefined ? [e.value] : []))]);
}

it('the embedded example answers are docs/examples/well-controlled.json', () => {
  const well = example('well-controlled');
  expect({ questionnaireVersion: exampleQuestionnaireVersion, answers: exampleAnswers }).toEqual(well);
});

describe.each(DATABASE_KINDS)('published request examples on %s', (kind) => {
  let app: TestApp;
  let integrator: Credentials;
  let paths: Record<string, Record<string, Operation>>;

  beforeAll(async () => {
    app = await startTestApp(kind);
    const org = await seedOrganization(app, `Examples clinic ${kind}`);
    integrator = { kind: 'bearer', token: await clientToken(app, await seedClient(app, org, ['assessments:read', 'assessments:write', 'reports:read', 'evaluate'])) };
    paths = ((await (await fetch(`${app.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, Operation>> }).paths;
  });
  afterAll(async () => {
    await app.stop();
  });

  it('POST /v1/evaluate accepts each of its examples', async () => {
    const examples = requestExamples(paths['/v1/evaluate']?.post);
    expect(examples.length).toBeGreaterThan(0);
    for (const body of examples) {
      const res = await send(app, 'POST', '/v1/evaluate', integrator, body);
      expect({ status: res.status, body: res.status === 200 ? null : await res.text() }).toEqual({ status: 200, body: null });
    }
  });

  it('POST /v1/assessments and POST /v1/assessments/{id}/revisions accept each of their examples', async () => {
    const creates = requestExamples(paths['/v1/assessments']?.post);
    const revisions = requestExamples(paths['/v1/assessments/{id}/revisions']?.post);
    expect(creates.length).toBeGreaterThan(0);
    expect(revisions.length).toBeGreaterThan(0);
    let assessmentId = '';
    for (const body of creates) {
      const res = await send(app, 'POST', '/v1/assessments', integrator, body);
      const text = await res.text();
      expect({ status: res.status, body: res.status === 201 ? null : text }).toEqual({ status: 201, body: null });
      assessmentId = (JSON.parse(text) as { assessment: { id: string } }).assessment.id;
    }
    for (const body of revisions) {
      const res = await send(app, 'POST', `/v1/assessments/${assessmentId}/revisions`, integrator, body);
      expect({ status: res.status, body: res.status === 201 ? null : await res.text() }).toEqual({ status: 201, body: null });
    }
  });
});
