import { ApplicationFailure } from '@temporalio/activity';
import type { PosConfig, StoreConfig } from '../../lib/config';
import type { AtolClient } from '../atol/client';
import type { EvotorCloudClient } from '../evotor/client';
import type { FermaClient } from '../ferma/client';

/** One company's outside-system accounts. Each client keeps its own token cache. */
export interface CompanyClients {
  evotor?: EvotorCloudClient;
  atol?: AtolClient;
  ferma?: FermaClient;
}

/** The default company's accounts (the global environment: EVOTOR_TOKEN, ATOL_*, FERMA_*), for stores without companyId. */
export interface DefaultClients extends CompanyClients {
  evotor: EvotorCloudClient;
}

/**
 * Which account speaks for a store: its company's (POS_CONFIG `companies`, by the store's companyId), or the
 * default one. Activities pick clients here by the store (or terminal store, or terminal) they already get, so
 * a token of one company is never sent for another's group, account or stores.
 */
export class CompanyAccounts {
  private readonly byCompany: ReadonlyMap<string, CompanyClients>;

  constructor(
    private readonly config: PosConfig,
    private readonly defaults: DefaultClients,
    byCompany: ReadonlyMap<string, CompanyClients> = new Map(),
  ) {
    this.byCompany = byCompany;
  }

  /** The Evotor client of a store (our id); its company may share the default Evotor account (no tokenEnv). */
  evotorOfStore(storeId: string | undefined): EvotorCloudClient {
    return this.evotorOf(this.config.stores.find((s) => s.id === storeId));
  }

  /** The Evotor client of an Evotor store id (documents, products): the account that holds that store. */
  evotorOfTerminalStore(terminalStoreId: string): EvotorCloudClient {
    return this.evotorOf(this.config.stores.find((s) => s.evotorStoreId === terminalStoreId));
  }

  /** The Evotor client of the store whose terminals these are (POS_CONFIG evotorDeviceIds). */
  evotorOfDevices(deviceIds: readonly string[]): EvotorCloudClient {
    return this.evotorOf(this.config.stores.find((s) => deviceIds.some((d) => s.evotorDeviceIds.includes(d))));
  }

  /**
   * The ATOL Online group of a store's company. Without a store (an activity scheduled before the store was
   * passed), the default group, or the only group there is.
   */
  atolOfStore(storeId: string | undefined): AtolClient {
    const client = this.fiscalOf('atol', storeId);
    if (!client) throw ApplicationFailure.nonRetryable(`ATOL Online is not configured for ${this.whose(storeId)} (ATOL_API_URL and the company's ATOL credentials)`, 'config');
    return client;
  }

  /** The OFD.ru Ferma account of a store's company; as atolOfStore. */
  fermaOfStore(storeId: string | undefined): FermaClient {
    const client = this.fiscalOf('ferma', storeId);
    if (!client) throw ApplicationFailure.nonRetryable(`OFD.ru Ferma is not configured for ${this.whose(storeId)} (FERMA_API_URL and the company's Ferma credentials)`, 'config');
    return client;
  }

  private evotorOf(store: StoreConfig | undefined): EvotorCloudClient {
    const own = store?.companyId === undefined ? undefined : this.byCompany.get(store.companyId)?.evotor;
    return own ?? this.defaults.evotor;
  }

  private fiscalOf<K extends 'atol' | 'ferma'>(system: K, storeId: string | undefined): CompanyClients[K] {
    if (storeId === undefined) {
      if (this.defaults[system]) return this.defaults[system];
      const all = [...this.byCompany.values()].map((c) => c[system]).filter((c) => c !== undefined);
      return all.length === 1 ? all[0] : undefined;
    }
    const store = this.config.stores.find((s) => s.id === storeId);
    if (store?.companyId !== undefined) return this.byCompany.get(store.companyId)?.[system];
    return this.defaults[system];
  }

  private whose(storeId: string | undefined): string {
    const companyId = this.config.stores.find((s) => s.id === storeId)?.companyId;
    if (storeId === undefined) return 'a receipt without its store';
    return companyId === undefined ? `store ${storeId}` : `store ${storeId} (company ${companyId})`;
  }
}
