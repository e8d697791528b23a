import { describe, expect, it } from 'vitest';
import { feeOn, formatMoney, parseMoney, toDecimalString } from './money';

describe('money', () => {
  it('formats COP the Colombian way, cents only when present', () => {
    expect(formatMoney(12500000, 'COP', 'es-CO')).toBe('$\u00a0125.000');
    expect(formatMoney(12500050, 'COP', 'es-CO')).toBe('$\u00a0125.000,50');
    expect(formatMoney(12500050, 'USD', 'en')).toBe('$125,000.50');
  });
  it('uses the currency table the server uses: three decimals for KWD, none for CLP', () => {
    expect(toDecimalString(1005, 'KWD')).toBe('1.005');
    expect(formatMoney(1005, 'KWD', 'en')).toBe('KWD\u00a01.005');
    expect(toDecimalString(1005, 'CLP')).toBe('1005');
    expect(parseMoney('1.005', 'KWD', 'en')).toBe(1005);
  });
  it('keeps amounts exact beyond float precision', () => {
    expect(toDecimalString(999999999999999, 'COP')).toBe('9999999999999.99');
    expect(toDecimalString(5, 'USD')).toBe('0.05');
    expect(toDecimalString(-150, 'COP')).toBe('-1.50');
  });
  it('parses what people type in their locale', () => {
    expect(parseMoney('125.000', 'COP', 'es-CO')).toBe(12500000);
    expect(parseMoney('$ 125.000,5', 'COP', 'es-CO')).toBe(12500050);
    expect(parseMoney('1,250.75', 'USD', 'en')).toBe(125075);
    expect(parseMoney('12,34', 'COP', 'es-CO')).toBe(1234);
    for (const bad of ['', 'abc', '1,2,3', '12,345', '0', '-5', '99999999999999']) {
      expect(parseMoney(bad, 'COP', 'es-CO'), bad).toBeNull();
    }
  });
  it('computes fees as the server does (half up)', () => {
    expect(feeOn(10000, 100, 150)).toBe(250);
    expect(feeOn(333, 0, 150)).toBe(5);
    expect(feeOn(100, 0, 0)).toBe(0);
  });
});
