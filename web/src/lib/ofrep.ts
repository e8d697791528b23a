// A minimal OFREP client for the browser: one bulk evaluation per context, cached with the
// server's ETag (a repeat gets 304 and reuses the cached answer). Flags that come back without a
// value (disabled, no default, or an error) resolve to the caller's code default.

export interface FlagResult {
  key: string;
  value?: unknown;
  variant?: string;
  reason?: string;
  errorCode?: string;
}

const cache = new Map<string, { etag: string; flags: FlagResult[] }>();

export class FlagClient {
  constructor(
    private readonly baseUrl: string,
    private readonly clientKey: string,
  ) {}

  async evaluateAll(context: Record<string, unknown>): Promise<Map<string, FlagResult>> {
    const body = JSON.stringify({ context });
    const cached = cache.get(body);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      authorization: `Bearer ${this.clientKey}`,
    };
    if (cached) headers['if-none-match'] = cached.etag;
    const resp = await fetch(`${this.baseUrl}/ofrep/v1/evaluate/flags`, { method: 'POST', headers, body });
    let flags: FlagResult[];
    if (resp.status === 304 && cached) {
      flags = cached.flags;
    } else if (resp.ok) {
      flags = ((await resp.json()) as { flags: FlagResult[] }).flags;
      const etag = resp.headers.get('etag');
      if (etag) cache.set(body, { etag, flags });
    } else {
      throw new Error(`OFREP: HTTP ${resp.status}`);
    }
    return new Map(flags.map((f) => [f.key, f]));
  }
}

/** The flag's value when the server gave one of the expected type, else `fallback`. */
export function flagValue<T>(flags: Map<string, FlagResult>, key: string, fallback: T): T {
  const f = flags.get(key);
  if (!f || f.errorCode || f.value === undefined || typeof f.value !== typeof fallback) return fallback;
  return f.value as T;
}
