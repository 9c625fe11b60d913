import pino, { type Logger } from 'pino';

export type { Logger };

/** Field paths that may carry secrets; pino replaces their values with "[redacted]". */
const REDACT_PATHS = [
  'token', 'password', 'pass', 'secret', 'authorization', 'apiKey',
  '*.token', '*.password', '*.pass', '*.secret', '*.authorization', '*.apiKey',
  'headers.authorization', 'req.headers.authorization', 'req.headers.token',
  'auth.application_token', 'body.auth.application_token',
  'email', 'phone', '*.email', '*.phone',
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

let root: Logger | undefined;

export function rootLogger(): Logger {
  if (!root) {
    const pretty = process.env.LOG_PRETTY === '1' || process.env.LOG_PRETTY === 'true';
    root = pino({
      level: process.env.LOG_LEVEL ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      transport: pretty
        ? { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } }
        : undefined,
    });
  }
  return root;
}

export function createLogger(component: string, fields: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...fields });
}
