// Owns the one rule for which browser origins may talk to us with credentials: our own origin
// (same host) or one listed in CORS_ORIGINS. The API (CSRF + CORS) and the gateway (upgrade
// check) both ask this function.
export function isAllowedOrigin(origin: string | undefined, host: string | undefined, allowList: readonly string[]): boolean {
  if (!origin) return true; // not a browser cross-origin request (curl, native apps, same-origin GET)
  if (allowList.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
