import { durationMs, type PosConfig } from '../../lib/config';
import { bitrixProductIdOf, type EvotorCloudClient, type EvotorProduct } from './client';

type Catalog = { loadedAt: number; bitrixIdByTerminalId: Map<string, string | undefined> };

/**
 * Maps terminal products to Bitrix products by the configured catalog key (the Evotor product's `code`
 * or `article_number` holds the Bitrix product id). Each store's catalog is read once and cached.
 */
export function createProductMapper(evotor: EvotorCloudClient | ((terminalStoreId: string) => EvotorCloudClient), config: PosConfig) {
  /** The client of the account that holds the store (several companies: each its own Evotor account). */
  const clientOf = (terminalStoreId: string): EvotorCloudClient => (typeof evotor === 'function' ? evotor(terminalStoreId) : evotor);
  const ttl = durationMs(config.products.cacheTtl);
  const catalogs = new Map<string, Catalog>();
  const keyOf = (p: EvotorProduct) => {
    const value = bitrixProductIdOf(p, config.products.evotorKey);
    return value && /^\d+$/.test(value) ? value : undefined;
  };
  async function load(terminalStoreId: string): Promise<Catalog> {
    const products = await clientOf(terminalStoreId).listProducts(terminalStoreId);
    const catalog: Catalog = { loadedAt: Date.now(), bitrixIdByTerminalId: new Map(products.map((p) => [p.id, keyOf(p)])) };
    catalogs.set(terminalStoreId, catalog);
    return catalog;
  }
  return async function bitrixProductId(terminalStoreId: string, terminalProductId: string): Promise<string | undefined> {
    let catalog = catalogs.get(terminalStoreId);
    if (!catalog || Date.now() - catalog.loadedAt > ttl) catalog = await load(terminalStoreId);
    if (!catalog.bitrixIdByTerminalId.has(terminalProductId)) {
      // A product added at the terminal after the catalog was read.
      const product = await clientOf(terminalStoreId).getProduct(terminalStoreId, terminalProductId);
      catalog.bitrixIdByTerminalId.set(terminalProductId, product ? keyOf(product) : undefined);
    }
    return catalog.bitrixIdByTerminalId.get(terminalProductId);
  };
}
