import fs from 'node:fs';

// Removes the run's temporary directory made by global-setup.js.
export default function globalTeardown() {
  const root = process.env.HIPAA_AI_RISK_TEST_TMP;
  if (root !== undefined && root.includes('hipaa-ai-risk-test-')) fs.rmSync(root, { recursive: true, force: true });
}
