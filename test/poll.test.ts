import { PollAborted, pollUntil } from '../lib/poll';

describe('pollUntil', () => {
  it('takes an error as "not yet" and returns the first answer', async () => {
    let calls = 0;
    await expect(pollUntil(() => (++calls < 3 ? Promise.reject(new Error('not yet')) : 'ready'), 'the answer', 5_000, 1)).resolves.toBe('ready');
    expect(calls).toBe(3);
  });

  it('ends at once, with the probe\'s reason, when the probe says waiting cannot help', async () => {
    let calls = 0;
    const waited = pollUntil(() => {
      calls++;
      throw new PollAborted('the server exited');
    }, 'the server', 60_000, 1);
    await expect(waited).rejects.toThrow('the server exited');
    expect(calls).toBe(1);
  });
});
