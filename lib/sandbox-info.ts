/** What `npm start` leaves in DATA_DIR for `npm run demo` and for people trying the doors by hand (mode 600). */
export interface SandboxInfo {
  apiUrl: string;
  adminApiKey: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  namespace: string;
  bitrixAdminUrl?: string;
  evotorUrl?: string;
  atolAdminUrl?: string;
  fermaAdminUrl?: string;
  /** "keyId:secret" for the signed middleware door (docs/middleware-api.md). */
  middlewareKeys: string;
  deviceIds: Record<string, string[]>;
}

export const SANDBOX_INFO_FILE = 'sandbox.json';
