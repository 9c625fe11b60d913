import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFailure, resolveTemporalBinary } from '../lib/temporal-binaries';

function fakeBinary(dir: string, name: string): string {
  const p = join(dir, name);
  writeFileSync(p, '#!/bin/sh\nexit 0\n');
  chmodSync(p, 0o755);
  return p;
}

describe('finding the Temporal binaries', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('prefers the explicit env var', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tbin-'));
    process.env.TEMPORAL_CLI_PATH = fakeBinary(dir, 'my-temporal');
    expect(resolveTemporalBinary('cli', { install: false })).toMatchObject({ path: join(dir, 'my-temporal'), source: 'env' });
  });

  it('then looks on PATH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tbin-'));
    fakeBinary(dir, 'temporal-test-server');
    delete process.env.TEMPORAL_TEST_SERVER_PATH;
    process.env.PATH = `${dir}:/usr/bin:/bin`;
    expect(resolveTemporalBinary('testServer', { install: false })).toMatchObject({ path: join(dir, 'temporal-test-server'), source: 'path' });
  });

  it('reports a broken env var and falls through to the next option', () => {
    process.env.TEMPORAL_CLI_PATH = '/nonexistent/temporal';
    process.env.PATH = '/nonexistent';
    const r = resolveTemporalBinary('cli', { install: false });
    expect(r.attempts[0]).toMatch(/TEMPORAL_CLI_PATH=\/nonexistent\/temporal: not an executable/);
    // The project-local install made by the test run itself (global setup) is the next stop.
    expect(r.source === 'project' || r.source === 'sdk-download').toBe(true);
  });

  it('explains every option tried when nothing works', () => {
    const text = describeFailure('cli', { source: 'sdk-download', attempts: ['TEMPORAL_CLI_PATH: not set', 'PATH: no "temporal" executable'] }, new Error('offline'));
    expect(text).toMatch(/TEMPORAL_CLI_PATH: not set/);
    expect(text).toMatch(/SDK's own download: offline/);
    expect(text).toMatch(/npm run setup:temporal/);
  });
});
