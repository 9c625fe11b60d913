import { checkBearer, secretsEqual } from '../api/auth';

describe('webhook and admin authentication', () => {
  it('accepts the configured token and any of several during rotation', () => {
    expect(checkBearer('Bearer s3cret', ['s3cret'])).toEqual({ ok: true });
    expect(checkBearer('bearer new-one', ['old-one', 'new-one'])).toEqual({ ok: true });
  });

  it('says why a request is refused', () => {
    expect(checkBearer(undefined, ['s3cret'])).toEqual({ ok: false, reason: 'missing' });
    expect(checkBearer('Basic abc', ['s3cret'])).toEqual({ ok: false, reason: 'malformed' });
    expect(checkBearer('Bearer s3cret2', ['s3cret'])).toEqual({ ok: false, reason: 'mismatch' });
    expect(checkBearer('Bearer anything', [])).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('compares secrets of different lengths without throwing', () => {
    expect(secretsEqual('a', 'a-much-longer-secret')).toBe(false);
    expect(secretsEqual('same', 'same')).toBe(true);
  });
});
