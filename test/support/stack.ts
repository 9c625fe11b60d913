import { loadEnv, parsePosConfig, type PosConfig } from '../../lib/config';
import { buildLogger } from '../../lib/logger';
import { startStack, type Stack, type StackOptions } from '../../app/stack';
import { allocateTestNamespace } from './namespaces';
import { pollUntil } from '../../lib/poll';

export const TEST_POS_CONFIG = `
bitrix:
  posPaySystemIds: ["10"]
  statuses: { awaitingPayment: WP, paid: P, canceled: CN }
payment: { deadline: 3d, fiscalDeadline: 30m }
stores:
  - id: msk-1
    name: Pickup Moscow 1
    bitrixStoreId: "1"
    evotorStoreId: "20240101-0000-4000-8000-000000000001"
    evotorDeviceIds: ["20240101-0000-4000-8000-0000000000d1"]
    fiscalMode: terminal
  - id: spb-2
    name: Pickup Petersburg 2
    bitrixStoreId: "2"
    evotorStoreId: "20240101-0000-4000-8000-000000000002"
    evotorDeviceIds: ["20240101-0000-4000-8000-0000000000d2"]
    fiscalMode: terminal
  - id: ekb-3
    name: Pickup Yekaterinburg 3
    bitrixStoreId: "3"
    evotorStoreId: "20240101-0000-4000-8000-000000000003"
    evotorDeviceIds: ["20240101-0000-4000-8000-0000000000d3"]
    fiscalMode: atol
    timeZone: Asia/Yekaterinburg
    company: { inn: "6601234567", email: shop@example.ru, sno: osn, paymentAddress: "https://shop.example.ru" }
`;

export const MSK_DEVICE = '20240101-0000-4000-8000-0000000000d1';
export const EKB_DEVICE = '20240101-0000-4000-8000-0000000000d3';

export type TestStack = Stack & { namespace: string; config: PosConfig; bitrix: NonNullable<Stack['bitrix']>; evotor: NonNullable<Stack['evotor']> };

/** The whole application against simulators, in its own Temporal namespace of the shared test server. */
export async function startTestStack(overrides: Partial<StackOptions> & { posConfigYaml?: string } = {}): Promise<TestStack> {
  const { posConfigYaml = TEST_POS_CONFIG, ...stackOverrides } = overrides;
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  const bundle = process.env.TEST_WORKFLOW_BUNDLE;
  if (!address || !bundle) throw new Error('run tests through jest: test/global-setup.ts starts Temporal');
  const config = parsePosConfig(posConfigYaml, 'yaml', 'test config');
  const namespace = allocateTestNamespace();
  const stack = await startStack({
    env: loadEnv({ API_PORT: '0' }),
    config,
    logger: buildLogger({ level: process.env.TEST_LOG_LEVEL ?? 'warn' }),
    temporalAddress: address,
    namespace,
    workflowBundle: { codePath: bundle },
    ports: { api: 0, bitrix: 0, evotor: 0 },
    bitrixActivitiesPerSecond: null,
    fiscalProcessingDelayMs: 300,
    ...stackOverrides,
  });
  return { ...stack, namespace, config, bitrix: stack.bitrix!, evotor: stack.evotor! };
}

/** Polls until `probe` returns a value that is not undefined; fails with the last value seen. */
export function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  return pollUntil(probe, what, timeoutMs);
}
