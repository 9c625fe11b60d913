import { ConfigError, durationMs, loadEnv, loadPosConfig, parsePosConfig } from '../lib/config';

const valid = `
bitrix:
  posPaySystemIds: [10]
  statuses: { awaitingPayment: WP, paid: P }
stores:
  - id: s1
    name: One
    bitrixStoreId: "1"
    evotorStoreId: e1
`;

describe('configuration', () => {
  it('loads the example POS_CONFIG shipped in the repository', () => {
    const cfg = loadPosConfig('config/pos.example.yaml');
    expect(cfg.stores.map((s) => s.id)).toEqual(['msk-tverskaya', 'spb-nevsky', 'nsk-lenina']);
    expect(cfg.stores[1].fiscalMode).toBe('atol');
    expect(cfg.stores[2]).toMatchObject({ terminalKind: 'middleware', fiscalMode: '1c' });
    expect(cfg.stores[1].bitrixCashbox).toEqual({ enabled: true });
  });

  it('a Bitrix REST cashbox needs an e-mail for its print errors, its own or the company\'s', () => {
    const cashbox = valid.replace('evotorStoreId: e1', 'evotorStoreId: e1\n    bitrixCashbox: { enabled: true }');
    expect(() => parsePosConfig(cashbox, 'yaml')).toThrow(/stores\.0\.bitrixCashbox\.email: required for a Bitrix cashbox/);
    expect(parsePosConfig(cashbox.replace('enabled: true', 'enabled: true, email: kassa@example.ru'), 'yaml').stores[0]!.bitrixCashbox).toEqual({ enabled: true, email: 'kassa@example.ru' });
    expect(parsePosConfig(valid, 'yaml').stores[0]!.bitrixCashbox).toBeUndefined();
    expect(() => loadEnv({ BITRIX_CASHBOX_SECRET: 'too-short' })).toThrow(/BITRIX_CASHBOX_SECRET: must be at least 32/);
  });

  it('fills defaults and coerces pay system ids to strings', () => {
    const cfg = parsePosConfig(valid, 'yaml');
    expect(cfg.bitrix.posPaySystemIds).toEqual(['10']);
    expect(cfg.payment.deadline).toBe('3d');
    expect(cfg.stores[0]).toMatchObject({ terminalKind: 'evotor', fiscalMode: 'terminal', timeZone: 'Europe/Moscow' });
  });

  it('names the failing field of a bad file', () => {
    const bad = valid.replace('evotorStoreId: e1', 'evotorStoreId: e1\n    fiscalMode: atol');
    expect(() => parsePosConfig(bad, 'yaml')).toThrow(/stores\.0\.company: required for fiscalMode "atol"/);
    expect(() => parsePosConfig(bad.replace('fiscalMode: atol', 'fiscalMode: ferma'), 'yaml')).toThrow(/stores\.0\.company: required for fiscalMode "ferma"/);
    // A middleware terminal has no cloud to read fiscal data from: it confirms through the door, or a cloud register prints.
    const middleware = valid.replace('evotorStoreId: e1', 'terminalKind: middleware');
    expect(() => parsePosConfig(middleware, 'yaml')).toThrow(/stores\.0\.fiscalMode: "terminal" is not possible with terminalKind "middleware" \(one of 1c, atol, ferma\)/);
    expect(parsePosConfig(`${middleware}    fiscalMode: 1c\n`, 'yaml').stores[0]).toMatchObject({ terminalKind: 'middleware', fiscalMode: '1c' });
    expect(() => parsePosConfig(valid.replace('evotorStoreId: e1', 'terminalKind: ingenico'), 'yaml')).toThrow(/stores\.0\.terminalKind/);
    expect(() => parsePosConfig(valid.replace('Europe', ''), 'yaml')).not.toThrow();
    expect(() => parsePosConfig(valid + '    timeZone: Mars/Base\n', 'yaml')).toThrow(/stores\.0\.timeZone/);
    expect(() => parsePosConfig('{', 'json')).toThrow(ConfigError);
    expect(() => loadPosConfig('/nonexistent.yaml')).toThrow(/POS_CONFIG: cannot read/);
  });

  it('reads the Bitrix notification settings: a default for every store, a store\'s own section wins; bad values are named', () => {
    const example = loadPosConfig('config/pos.example.yaml');
    expect(example.bitrix.notifications).toEqual({ enabled: true, userId: '1', dealTimeline: false });
    expect(example.stores.map((s) => s.notifications)).toEqual([{ enabled: true }, { enabled: true, userId: '12' }, undefined]);
    expect(parsePosConfig(valid, 'yaml').bitrix.notifications).toBeUndefined();
    const withDefault = valid.replace('statuses:', 'notifications: { enabled: false, orderUrl: "https://shop.example.ru/bitrix/admin/sale_order_view.php?ID={orderId}" }\n  statuses:');
    expect(parsePosConfig(withDefault, 'yaml').bitrix.notifications).toMatchObject({ enabled: false, orderUrl: expect.stringContaining('{orderId}') });
    expect(() => parsePosConfig(withDefault.replace('?ID={orderId}', '?ID='), 'yaml')).toThrow(/bitrix\.notifications\.orderUrl: must contain \{orderId\}/);
    expect(() => parsePosConfig(`${valid}    notifications: { userId: "anna" }\n`, 'yaml')).toThrow(/stores\.0\.notifications\.userId: a Bitrix user id/);
    expect(parsePosConfig(`${valid}    notifications: { userId: 7 }\n`, 'yaml').stores[0]!.notifications).toEqual({ enabled: true, userId: '7' });
    expect(() => loadEnv({ TEMPORAL_WEB_UI_URL: 'temporal-ui' })).toThrow(/TEMPORAL_WEB_UI_URL/);
  });

  it('names the failing environment variable', () => {
    expect(() => loadEnv({ BITRIX_REST_URL: 'not a url' })).toThrow(/BITRIX_REST_URL/);
    expect(() => loadEnv({ API_PORT: '70000' })).toThrow(/API_PORT/);
    expect(() => loadEnv({ ADMIN_API_KEY: 'short' })).toThrow(/ADMIN_API_KEY: must be at least 16/);
    expect(loadEnv({}).TEMPORAL_NAMESPACE).toBe('default');
  });

  it('parses durations', () => {
    expect(durationMs('72h')).toBe(72 * 3_600_000);
    expect(durationMs('3d')).toBe(3 * 86_400_000);
    expect(() => durationMs('3 days')).toThrow(ConfigError);
  });
});
