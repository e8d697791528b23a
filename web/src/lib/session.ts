// Who is signed in: the API key and the customer it speaks for, kept in localStorage per app
// family (customers and the flags admin sign in separately).

export interface Session {
  key: string;
  customerId: string;
  name: string;
}

const CUSTOMER = 'bp.session';
const ADMIN = 'bp.admin';

export function customerSession(): Session | null {
  try {
    const s = JSON.parse(localStorage.getItem(CUSTOMER) ?? 'null');
    return s && typeof s.key === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function saveCustomerSession(s: Session | null): void {
  if (s) localStorage.setItem(CUSTOMER, JSON.stringify(s));
  else localStorage.removeItem(CUSTOMER);
}

export function adminKey(): string | null {
  return localStorage.getItem(ADMIN);
}

export function saveAdminKey(key: string | null): void {
  if (key) localStorage.setItem(ADMIN, key);
  else localStorage.removeItem(ADMIN);
}
