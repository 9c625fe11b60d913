import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../lib/config';
import { prebuiltWorkflowBundle } from '../lib/workflow-bundle';
import { startProcess } from './support/processes';
import { eventually, TEST_POS_CONFIG } from './support/stack';
import { allocateTestNamespace } from './support/namespaces';
import { Client, Connection } from '@temporalio/client';

// A production worker loads the workflow bundle `npm run build` made instead of running webpack at every start.
describe('prebuilt workflow bundle', () => {
  it('is found by WORKFLOW_BUNDLE_PATH, or next to the compiled code, or not at all (development: bundled at start)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pos-bundle-'));
    const file = join(dir, 'workflow-bundle.js');
    writeFileSync(file, '// bundle');
    expect(prebuiltWorkflowBundle(file)).toEqual({ codePath: file });
    expect(() => prebuiltWorkflowBundle(join(dir, 'missing.js'))).toThrow(ConfigError);
    expect(prebuiltWorkflowBundle(undefined, file)).toEqual({ codePath: file });
    expect(prebuiltWorkflowBundle(undefined, join(dir, 'missing.js'))).toBeUndefined();
  });

  it('a worker process started with WORKFLOW_BUNDLE_PATH runs the workflows from that bundle', async () => {
    const namespace = allocateTestNamespace();
    const dir = mkdtempSync(join(tmpdir(), 'pos-bundle-'));
    writeFileSync(join(dir, 'pos.yaml'), TEST_POS_CONFIG);
    const worker = startProcess('workers/main.ts', {
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: namespace,
      WORKER_TASK_QUEUES: 'pos-deductions',
      WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE,
      BITRIX_REST_URL: 'http://127.0.0.1:9/rest/1/x/',
      EVOTOR_API_URL: 'http://127.0.0.1:9',
      EVOTOR_TOKEN: 'unused',
      POS_CONFIG: join(dir, 'pos.yaml'),
      LOG_LEVEL: 'info',
    });
    const connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    try {
      const running = await worker.waitForLog((l) => l.msg === 'workers running', 90_000);
      expect(running).toMatchObject({ prebuiltWorkflowBundle: true });
      // The per-store deductions workflows it starts answer their query: their code came from the bundle.
      const client = new Client({ connection, namespace });
      const status = await eventually(() => client.workflow.getHandle('walk-in-deductions:msk-1').query<{ storeId: string; queued: number }>('status'), 'the deductions workflow answering', 30_000);
      expect(status).toMatchObject({ storeId: 'msk-1', queued: 0 });
      worker.kill('SIGTERM');
      expect((await worker.exited).code).toBe(0);
    } finally {
      worker.kill('SIGKILL');
      await connection.close();
    }
  }, 120_000);
});
