import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { freePort } from '../lib/ports';
import { startLocalTemporal } from '../lib/temporal-env';
import { TEST_NAMESPACE_COUNT, testNamespaceName } from './support/namespaces';

/**
 * Once per test run: one real Temporal dev server (with Web UI, project search attributes, and a namespace
 * per test file so that files cannot see each other's workflows) and one prebuilt workflow bundle.
 */
export default async function globalSetup(): Promise<void> {
  const dir = join(__dirname, '..', '.data', 'test');
  mkdirSync(dir, { recursive: true });
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  const uiPort = await freePort();
  const env = await startLocalTemporal({
    ui: true,
    uiPort,
    extraNamespaces: Array.from({ length: TEST_NAMESPACE_COUNT }, (_, i) => testNamespaceName(i)),
  });
  const address = env.address;
  (globalThis as Record<string, unknown>).__temporalTestEnv = env;
  process.env.TEST_TEMPORAL_ADDRESS = address;
  process.env.TEST_TEMPORAL_UI_URL = `http://127.0.0.1:${uiPort}`;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEST_NAMESPACE_COUNTER = join(dir, `namespace-counter-${process.pid}`);
  writeFileSync(process.env.TEST_NAMESPACE_COUNTER, '0');
}
