import { AtolClient } from '../activities/atol/client';
import { BitrixClient } from '../activities/bitrix/client';
import { EvotorCloudClient } from '../activities/evotor/client';
import { FermaClient } from '../activities/ferma/client';
import type { CompanyClients } from '../activities/shared/company-clients';
import { ConfigError, type CompanyCredentials, type EnvConfig, type PosConfig } from '../lib/config';
import type { Logger } from '../lib/logger';

function required(env: EnvConfig, name: keyof EnvConfig): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigError(`${name} is required (unset outside-system URLs are only allowed in the sandbox: npm start)`);
  return String(value);
}

/** Where the outside systems are; every company's accounts live on the same services. */
export interface OutsideUrls {
  atol?: string;
  ferma?: string;
  evotor: string;
  evotorAppId?: string;
  evotorPublisherApiUrl?: string;
  evotorPublisherToken?: string;
}

/**
 * One set of clients per company of POS_CONFIG `companies`, each with its own credentials and so its own
 * token cache: a token of one company is never sent for another's ATOL group, Ferma account or Evotor stores.
 * A company without its own Evotor token is left to the default Evotor account.
 */
export function createCompanyClients(
  config: PosConfig, credentials: ReadonlyMap<string, CompanyCredentials>, urls: OutsideUrls, logger: Logger,
): Map<string, CompanyClients> {
  const out = new Map<string, CompanyClients>();
  for (const company of config.companies) {
    const creds = credentials.get(company.id) ?? {};
    const log = logger.child({ company: company.id });
    const needUrl = (url: string | undefined, name: string): string => {
      if (!url) throw new ConfigError(`${name} is required: company "${company.id}" names credentials for it`);
      return url;
    };
    out.set(company.id, {
      atol: creds.atol ? new AtolClient({ apiUrl: needUrl(urls.atol, 'ATOL_API_URL'), ...creds.atol, logger: log.child({ system: 'atol' }) }) : undefined,
      ferma: creds.ferma ? new FermaClient({ apiUrl: needUrl(urls.ferma, 'FERMA_API_URL'), ...creds.ferma, logger: log.child({ system: 'ferma' }) }) : undefined,
      evotor: creds.evotor
        ? new EvotorCloudClient({
            apiUrl: urls.evotor,
            token: creds.evotor.token,
            appId: urls.evotorAppId,
            publisherApiUrl: urls.evotorPublisherApiUrl,
            // A push with the company's own token reaches its own terminals; the publisher token (the app's) reaches all.
            publisherToken: urls.evotorPublisherToken,
            logger: log.child({ system: 'evotor' }),
          })
        : undefined,
    });
  }
  return out;
}

/** The outside-system clients, built from the validated environment and each company's credentials. */
export function createClients(
  env: EnvConfig, config: PosConfig, credentials: ReadonlyMap<string, CompanyCredentials>, logger: Logger,
): { bitrix: BitrixClient; evotor: EvotorCloudClient; atol?: AtolClient; ferma?: FermaClient; companies: Map<string, CompanyClients> } {
  const evotorUrl = required(env, 'EVOTOR_API_URL');
  return {
    atol: env.ATOL_API_URL
      ? new AtolClient({
          apiUrl: env.ATOL_API_URL,
          login: required(env, 'ATOL_LOGIN'),
          password: required(env, 'ATOL_PASSWORD'),
          groupCode: required(env, 'ATOL_GROUP_CODE'),
          logger: logger.child({ system: 'atol' }),
        })
      : undefined,
    ferma: env.FERMA_API_URL
      ? new FermaClient({ apiUrl: env.FERMA_API_URL, login: required(env, 'FERMA_LOGIN'), password: required(env, 'FERMA_PASSWORD'), logger: logger.child({ system: 'ferma' }) })
      : undefined,
    bitrix: new BitrixClient({ restUrl: required(env, 'BITRIX_REST_URL'), logger }),
    evotor: new EvotorCloudClient({
      apiUrl: evotorUrl,
      token: required(env, 'EVOTOR_TOKEN'),
      appId: env.EVOTOR_APP_ID,
      publisherApiUrl: env.EVOTOR_PUBLISHER_API_URL,
      publisherToken: env.EVOTOR_PUBLISHER_TOKEN,
      logger: logger.child({ system: 'evotor' }),
    }),
    companies: createCompanyClients(config, credentials, {
      atol: env.ATOL_API_URL,
      ferma: env.FERMA_API_URL,
      evotor: evotorUrl,
      evotorAppId: env.EVOTOR_APP_ID,
      evotorPublisherApiUrl: env.EVOTOR_PUBLISHER_API_URL,
      evotorPublisherToken: env.EVOTOR_PUBLISHER_TOKEN,
    }, logger),
  };
}
