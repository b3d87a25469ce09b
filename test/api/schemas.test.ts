import { validateBody } from '../../src/http/validate.js';
import * as schemas from '../../src/http/schemas/assessments.js';

describe('request schemas', () => {
  it.each(Object.entries(schemas).filter(([, v]) => typeof v === 'object' && v !== null && '$id' in v))('%s compiles in strict mode and rejects unknown fields with a pointer', (_name, schema) => {
    expect(() => validateBody(schema, { surely_unknown: 1 })).toThrow(expect.objectContaining({ code: 'validation-failed' }));
    try {
      validateBody(schema, { surely_unknown: 1 });
    } catch (err) {
      expect((err as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toContain('/surely_unknown');
    }
  });
});
