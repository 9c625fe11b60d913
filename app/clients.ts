import { AtolClient } from '../activities/atol/client';
import { BitrixClient } from '../activities/bitrix/client';
import { EvotorCloudClient } from '../activities/evotor/client';
import { FermaClient } from '../activities/ferma/client';
import { ConfigError, type EnvConfig } from '../lib/config';
import type { Logger } from '../lib/logger';

function required(env: EnvConfig, name: keyof EnvConfig): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigError(`${name} is required (unset outside-system URLs are only allowed in the sandbox: npm start)`);
  return String(value);
}

/** The outside-system clients, built from the validated environment. */
export function createClients(env: EnvConfig, logger: Logger): { bitrix: BitrixClient; evotor: EvotorCloudClient; atol?: AtolClient; ferma?: FermaClient } {
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
      apiUrl: required(env, 'EVOTOR_API_URL'),
      token: required(env, 'EVOTOR_TOKEN'),
      appId: env.EVOTOR_APP_ID,
      publisherApiUrl: env.EVOTOR_PUBLISHER_API_URL,
      publisherToken: env.EVOTOR_PUBLISHER_TOKEN,
      logger: logger.child({ system: 'evotor' }),
    }),
  };
}
