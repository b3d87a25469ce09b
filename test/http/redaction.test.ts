import { Writable } from 'node:stream';
import { createLogger } from '../../src/logging/logger.js';

it('redacts secrets even when a developer passes them to the logger', () => {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const logger = createLogger('info', sink);
  logger.info({ password: 'p4ss-word', user: { password: 'nested-pass', clientSecret: 'cs-123' }, answers: { q: 'PHI-VALUE' }, req: { headers: { authorization: 'Bearer abc-token', cookie: 'c=cookie-v' } } }, 'probe');
  expect(out).toContain('probe');
  for (const s of ['p4ss-word', 'nested-pass', 'cs-123', 'PHI-VALUE', 'abc-token', 'cookie-v']) expect(out).not.toContain(s);
  expect(out).toContain('[redacted]');
});
