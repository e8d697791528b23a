// Money as integer minor units and an ISO 4217 code, as the API sends it. No floating point:
// amounts are turned into decimal strings and handed to Intl.NumberFormat as strings, which
// formats them exactly.

import { EXPONENTS } from './currencies';
import { numberFormat } from './intl';

/** Digits after the decimal point, from the table generated from billpay-core's (2 for a code it lacks). */
export function exponent(currency: string): number {
  return EXPONENTS[currency] ?? 2;
}

/** `12550050` COP → `"125500.50"`. */
export function toDecimalString(minor: number | bigint, currency: string): string {
  const exp = exponent(currency);
  const n = BigInt(minor);
  const neg = n < 0n;
  const digits = (neg ? -n : n).toString().padStart(exp + 1, '0');
  const whole = exp === 0 ? digits : digits.slice(0, -exp);
  const frac = exp === 0 ? '' : digits.slice(-exp);
  return `${neg ? '-' : ''}${whole}${frac ? '.' + frac : ''}`;
}

/** Formats for people in `locale`: `12500000` COP in es-CO is `$ 125.000`; cents show only when there are some. */
export function formatMoney(minor: number | bigint, currency: string, locale: string): string {
  const exp = exponent(currency);
  const whole = BigInt(minor) % 10n ** BigInt(exp) === 0n;
  const fmt = numberFormat(locale, {
    style: 'currency',
    currency,
    minimumFractionDigits: whole ? 0 : exp,
    maximumFractionDigits: exp,
  });
  // Intl.NumberFormat formats decimal strings exactly (no conversion to a float).
  return fmt.format(toDecimalString(minor, currency) as unknown as number);
}

/**
 * Reads an amount a person typed, in their locale's notation (`125.000,50` in es-CO,
 * `125,000.50` in en), into minor units. Returns null when it is not an amount.
 */
export function parseMoney(text: string, currency: string, locale: string): number | null {
  const parts = numberFormat(locale).formatToParts(12345.6);
  const group = parts.find((p) => p.type === 'group')?.value ?? ',';
  const decimal = parts.find((p) => p.type === 'decimal')?.value ?? '.';
  let s = text.replace(/[\s\u00a0$]/g, '').replace(/[A-Za-z]{3}/, '');
  if (s === '') return null;
  s = s.split(group).join('');
  const [whole, frac = '', ...rest] = s.split(decimal);
  if (rest.length > 0 || !/^\d+$/.test(whole) || !/^\d*$/.test(frac)) return null;
  const exp = exponent(currency);
  if (frac.length > exp) return null;
  const minor = BigInt(whole) * 10n ** BigInt(exp) + BigInt((frac + '0'.repeat(exp)).slice(0, exp) || '0');
  if (minor <= 0n || minor > 10n ** 15n) return null;
  return Number(minor);
}

/** The fee the API will charge: fixed plus basis points rounded half up, as the server computes it. */
export function feeOn(amount: number, fixed: number, bps: number): number {
  return Number(BigInt(fixed) + (BigInt(amount) * BigInt(bps) + 5000n) / 10000n);
}
