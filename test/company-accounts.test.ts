import type { AtolClient } from '../activities/atol/client';
import type { EvotorCloudClient } from '../activities/evotor/client';
import type { FermaClient } from '../activities/ferma/client';
import { CompanyAccounts, type CompanyClients } from '../activities/shared/company-clients';
import { parsePosConfig } from '../lib/config';
import { TWO_COMPANIES } from './support/companies';

const config = parsePosConfig(TWO_COMPANIES, 'yaml');

// Stand-ins: only their identity matters here.
const client = <T>(name: string) => ({ name }) as unknown as T;
const evotor = { default: client<EvotorCloudClient>('evotor-default'), north: client<EvotorCloudClient>('evotor-north') };
const atol = { default: client<AtolClient>('atol-default'), north: client<AtolClient>('atol-north') };
const ferma = { south: client<FermaClient>('ferma-south') };
const companies = new Map<string, CompanyClients>([
  ['north', { atol: atol.north, evotor: evotor.north }],
  ['south', { ferma: ferma.south }],
]);

describe('CompanyAccounts: the account that speaks for a store', () => {
  const accounts = new CompanyAccounts(config, { evotor: evotor.default, atol: atol.default }, companies);

  it('picks the Evotor account of the store\'s company by store, terminal store and device; the default one otherwise', () => {
    expect(accounts.evotorOfStore('n1')).toBe(evotor.north);
    expect(accounts.evotorOfTerminalStore('e-n1')).toBe(evotor.north);
    expect(accounts.evotorOfDevices(['d-n1'])).toBe(evotor.north);
    // south has no Evotor token of its own: its stores stay on the default account, as do default stores.
    expect(accounts.evotorOfStore('s1')).toBe(evotor.default);
    expect(accounts.evotorOfTerminalStore('e-d1')).toBe(evotor.default);
    expect(accounts.evotorOfDevices(['d-d1'])).toBe(evotor.default);
  });

  it('picks the fiscal account of the store\'s company, never another company\'s or the default one', () => {
    expect(accounts.atolOfStore('n1')).toBe(atol.north);
    expect(accounts.atolOfStore('d1')).toBe(atol.default);
    expect(accounts.fermaOfStore('s1')).toBe(ferma.south);
    // south has no ATOL group: the default company's group is not lent to it.
    expect(() => accounts.atolOfStore('s1')).toThrow(expect.objectContaining({ type: 'config', nonRetryable: true, message: expect.stringMatching(/store s1 \(company south\)/) }));
    expect(() => accounts.fermaOfStore('n1')).toThrow(expect.objectContaining({ type: 'config' }));
  });

  it('an activity input from before the store was passed (old histories) gets the default account, or the only one there is', () => {
    expect(accounts.atolOfStore(undefined)).toBe(atol.default);
    expect(accounts.fermaOfStore(undefined)).toBe(ferma.south);
    const noDefaultAtol = new CompanyAccounts(config, { evotor: evotor.default }, new Map([...companies, ['west', { atol: client<AtolClient>('atol-west') }]]));
    expect(() => noDefaultAtol.atolOfStore(undefined)).toThrow(expect.objectContaining({ type: 'config' }));
  });
});
