import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Field paths that may carry secrets or personal data; pino replaces their values with "[redacted]".
 * Two levels deep covers `{ body: { auth: ... } }` and `{ receipt: { client: { email } } }`.
 */
const SENSITIVE = ['token', 'password', 'pass', 'login', 'secret', 'authorization', 'apiKey', 'adminApiKey',
  'application_token', 'restUrl', 'webhookUrl', 'email', 'phone', 'customer_email', 'customer_phone',
  // An activity's task token completes it: whoever reads it in a log could finish someone else's activity.
  'taskToken', 'base64TaskToken'];
export const REDACT_PATHS = [
  ...SENSITIVE,
  ...SENSITIVE.map((k) => `*.${k}`),
  ...SENSITIVE.map((k) => `*.*.${k}`),
  'headers.authorization', 'req.headers.authorization', 'req.headers.token',
];

/** Webhook URLs carry their secret in the path (/rest/1/<code>/): keep only the host. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname.replace(/^\/rest\/[^/]+\/[^/]+/, '/rest/***/***');
    return `${u.protocol}//${u.host}${path}`;
  } catch {
    return '[unparseable url]';
  }
}

export function buildLogger(opts: { level?: string; pretty?: boolean } = {}, destination?: DestinationStream): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      transport: opts.pretty && !destination
        ? { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } }
        : undefined,
    },
    destination,
  );
}

let root: Logger | undefined;

export function rootLogger(): Logger {
  if (!root) {
    root = buildLogger({
      level: process.env.LOG_LEVEL ?? 'info',
      pretty: process.env.LOG_PRETTY === '1' || process.env.LOG_PRETTY === 'true',
    });
  }
  return root;
}

export function createLogger(component: string, fields: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...fields });
}
