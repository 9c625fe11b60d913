import { readFileSync } from 'node:fs';
import { ConfigError, parsePosConfig, resolveCompanyCredentials } from '../lib/config';
import { TWO_COMPANIES as twoCompanies } from './support/companies';


const env = {
  NORTH_ATOL_LOGIN: 'north-login',
  NORTH_ATOL_PASSWORD: 'north-secret-password',
  NORTH_ATOL_GROUP: 'north-group',
  NORTH_EVOTOR_TOKEN: 'north-evotor-token',
  SOUTH_FERMA_LOGIN: 'south-login',
  SOUTH_FERMA_PASSWORD: 'south-secret-password',
};

describe('configuration: several companies', () => {
  it('gives each store of a company its company block; stores without companyId keep the default company', () => {
    const cfg = parsePosConfig(twoCompanies, 'yaml');
    expect(cfg.companies.map((c) => c.id)).toEqual(['north', 'south']);
    expect(cfg.stores.find((s) => s.id === 'n1')?.company).toMatchObject({ inn: '7701000001', sno: 'osn' });
    expect(cfg.stores.find((s) => s.id === 's1')?.company).toMatchObject({ inn: '7802000002', sno: 'usn_income' });
    const d1 = cfg.stores.find((s) => s.id === 'd1');
    expect([d1?.company, d1?.companyId]).toEqual([undefined, undefined]);
    // A file without companies is the single-company configuration it always was.
    expect(parsePosConfig(twoCompanies.replace(/companies:[\s\S]*?stores:/, 'stores:').replace(/\n {4}companyId: \w+/g, '').replace(/fiscalMode: (atol|ferma)/g, 'fiscalMode: terminal'), 'yaml').companies).toEqual([]);
  });

  it('refuses an unknown companyId, a duplicate company, a company block beside companyId, and a company without the accounts its stores need', () => {
    expect(() => parsePosConfig(twoCompanies.replace('companyId: south', 'companyId: west'), 'yaml')).toThrow(/stores\.1\.companyId: unknown company "west"/);
    expect(() => parsePosConfig(twoCompanies.replace('- id: south', '- id: north'), 'yaml')).toThrow(/companies\.1\.id: duplicate company id "north"/);
    const both = twoCompanies.replace('    companyId: north\n', '    companyId: north\n    company: { inn: "7701000001", email: a@example.ru, sno: osn, paymentAddress: x }\n');
    expect(() => parsePosConfig(both, 'yaml')).toThrow(/stores\.0\.company: not allowed with companyId/);
    // south has Ferma only: a store of south that prints through ATOL names what is missing.
    expect(() => parsePosConfig(twoCompanies.replace('fiscalMode: ferma', 'fiscalMode: atol'), 'yaml')).toThrow(/companies\.1\.atol: required: store "s1" of company "south" fiscalizes through ATOL Online/);
    expect(() => parsePosConfig(twoCompanies.replace(/ {4}atol: \{[^\n]*\n/, ''), 'yaml')).toThrow(/companies\.0\.atol: required: store "n1" of company "north"/);
  });

  it('takes variable names, not secrets, in the file', () => {
    expect(() => parsePosConfig(twoCompanies.replace('passwordEnv: NORTH_ATOL_PASSWORD', 'passwordEnv: "hunter2!"'), 'yaml')).toThrow(/companies\.0\.atol\.passwordEnv: the name of an environment variable/);
    // A secret written in place of the name is never echoed back.
    const err = (() => {
      try {
        parsePosConfig(twoCompanies.replace('passwordEnv: NORTH_ATOL_PASSWORD', 'password: "hunter2!"'), 'yaml');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).not.toContain('hunter2');
  });

  it('reads each company\'s secrets from the environment; a missing one is named with its company, never a value', () => {
    const cfg = parsePosConfig(twoCompanies, 'yaml');
    const creds = resolveCompanyCredentials(cfg, env);
    expect(creds.get('north')).toEqual({ atol: { login: 'north-login', password: 'north-secret-password', groupCode: 'north-group' }, evotor: { token: 'north-evotor-token' } });
    expect(creds.get('south')).toEqual({ ferma: { login: 'south-login', password: 'south-secret-password' } });

    const { NORTH_ATOL_PASSWORD: _unset, ...withoutPassword } = env;
    const missing = () => resolveCompanyCredentials(cfg, withoutPassword);
    expect(missing).toThrow(ConfigError);
    expect(missing).toThrow(/environment variable NORTH_ATOL_PASSWORD is not set \(companies\.north\.atol\.passwordEnv of company "north"/);
    // An empty variable is as good as none; the message never carries another variable's value.
    const empty = () => resolveCompanyCredentials(cfg, { ...env, SOUTH_FERMA_LOGIN: '' });
    expect(empty).toThrow(/SOUTH_FERMA_LOGIN is not set .*company "south"/);
    try {
      empty();
    } catch (e) {
      for (const value of Object.values(env)) expect((e as Error).message).not.toContain(value);
    }
    // The sandbox stands in for simulated systems only.
    const sandbox = resolveCompanyCredentials(cfg, {}, (system, company, field) => (system === 'atol' || system === 'evotor' || system === 'ferma' ? `${company}-${field}` : undefined));
    expect(sandbox.get('north')?.atol).toEqual({ login: 'north-loginEnv', password: 'north-passwordEnv', groupCode: 'north-groupCodeEnv' });
    expect(() => resolveCompanyCredentials(cfg, {}, (system) => (system === 'atol' ? 'x' : undefined))).toThrow(/NORTH_EVOTOR_TOKEN is not set/);
  });

  it('the commented second company of config/pos.example.yaml is valid once uncommented', () => {
    const text = readFileSync('config/pos.example.yaml', 'utf8');
    const [head, tail] = text.split('# Several companies (README');
    const commented = tail.split('\n').filter((l) => l.startsWith('# ') || l.startsWith('#   '));
    const storeAt = commented.findIndex((l) => l.startsWith('# and under stores'));
    const uncomment = (ls: string[]) => ls.map((l) => l.slice(2)).join('\n');
    const companies = uncomment(commented.slice(commented.findIndex((l) => l === '# companies:'), storeAt));
    const stores = uncomment(commented.slice(storeAt + 1));
    const cfg = parsePosConfig(`${head.trimEnd()}\n${stores}\n${companies}\n`, 'yaml');
    expect(cfg.stores.find((s) => s.id === 'spb-north')).toMatchObject({ companyId: 'north', fiscalMode: 'atol', company: { inn: '7801234567' } });
    expect(() => resolveCompanyCredentials(cfg, {})).toThrow(/NORTH_ATOL_LOGIN is not set/);
  });
});
