// A small client for BillPay's API. Errors are RFC 9457 problem documents; they surface as
// ApiError with the server's `code` and `detail`.

import { config } from './config';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors: { location: string; detail: string }[] = [],
  ) {
    super(detail);
  }
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  idempotencyKey?: string;
  ifMatch?: number;
  accept?: string;
  /** Send `body` (a string) as it is, with this content type (a CSV file), instead of as JSON. */
  contentType?: string;
}

/** A fresh idempotency key for one attempt at an operation. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

/**
 * Calls the API as the signed-in person, whose session cookie the browser sends (and which no
 * script here can read). The web apps hold no API key.
 */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? (opts.body === undefined ? 'GET' : 'POST');
  // Components that need the same list at once (the home's bills) share one request; each gets
  // its own parsed copy.
  const plainGet = method === 'GET' && !opts.accept && opts.ifMatch === undefined;
  let pending = plainGet ? inFlight.get(path) : undefined;
  if (!pending) {
    pending = (plainGet ? takePrefetched(path) : undefined) ?? send(path, method, opts);
    if (plainGet) {
      inFlight.set(path, pending);
      void pending.finally(() => inFlight.delete(path)).catch(() => undefined);
    }
  }
  const { ok, status, text } = await pending;
  if (!ok) {
    let problem: { code?: string; detail?: string; errors?: { location: string; detail: string }[] } = {};
    try {
      problem = JSON.parse(text);
    } catch {
      /* not a problem document */
    }
    throw new ApiError(status, problem.code ?? `http_${status}`, problem.detail ?? text, problem.errors ?? []);
  }
  if (opts.accept && !opts.accept.includes('json')) return text as T;
  return (text ? JSON.parse(text) : null) as T;
}

type Answer = { ok: boolean; status: number; text: string };

const inFlight = new Map<string, Promise<Answer>>();
const prefetched = new Map<string, Promise<Answer | null>>();

/**
 * Asks for `path` (a GET) now, before any component does, so the answer is there when the first
 * one asks. It is used once: the first `request` for the same path takes it, and later ones go to
 * the network. A refused or failed prefetch is never handed out (the caller asks again), so a
 * guess made before the session is known costs a request but cannot show a stale refusal.
 */
export function prefetch(path: string): void {
  if (prefetched.has(path)) return;
  prefetched.set(
    path,
    send(path, 'GET', {}).then(
      (a) => (a.ok ? a : null),
      () => null,
    ),
  );
}

/** The prefetched answer for `path`, once; a refusal or failure is dropped for a fresh request. */
function takePrefetched(path: string): Promise<Answer> | undefined {
  const early = prefetched.get(path);
  if (!early) return undefined;
  prefetched.delete(path);
  return early.then((a) => a ?? send(path, 'GET', {}));
}

async function send(path: string, method: string, opts: RequestOptions) {
  const { apiBase } = await config();
  const headers: Record<string, string> = {};
  const raw = opts.contentType !== undefined;
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
  if (opts.ifMatch !== undefined) headers['if-match'] = `"${opts.ifMatch}"`;
  if (opts.accept) headers.accept = opts.accept;
  let resp: Response;
  try {
    resp = await fetch(apiBase + path, {
      method,
      headers,
      credentials: 'include',
      body: opts.body === undefined ? undefined : raw ? String(opts.body) : JSON.stringify(opts.body),
    });
  } catch {
    throw new ApiError(0, 'network', 'network');
  }
  return { ok: resp.ok, status: resp.status, text: await resp.text() };
}

export interface Biller {
  id: string;
  name: string;
  category: string;
  currency: string;
  reference_hint: string;
  amount_rule: 'exact' | 'partial' | 'overpayment';
  fee: { fixed: number; bps: number; payer: 'customer' | 'biller' };
  status: string;
}

export interface Wallet {
  customer_id: string;
  balances: { account_id: string; currency: string; balance: number }[];
}

export interface Bill {
  id: string;
  biller_id: string;
  reference: string;
  customer_name: string;
  currency: string;
  amount_due: number;
  amount_outstanding: number;
  due_date: string;
  status: string;
  overdue: boolean;
}

export interface Payment {
  id: string;
  confirmation_number: string;
  biller_id: string;
  bill_id: string;
  currency: string;
  amount: number;
  fee: number;
  total_debited: number;
  status: string;
  created_at: string;
}

export interface List<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

/** The customer's bills, as the home lists them. */
export const MY_BILLS = '/v1/bills?limit=100';
/** The billers the signed-in person may see. */
export const BILLERS = '/v1/billers?limit=100';

let billerList: Promise<Biller[]> | null = null;

/** The billers the signed-in person may see, fetched once per page and shared by the components. */
export function billers(): Promise<Biller[]> {
  if (!billerList) {
    const list = request<List<Biller>>(BILLERS).then((l) => l.data);
    list.catch(() => {
      billerList = null;
    });
    billerList = list;
  }
  return billerList;
}
