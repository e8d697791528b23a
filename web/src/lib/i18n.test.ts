import { beforeEach, describe, expect, it } from 'vitest';
import { LOCALES, locale, messages, setLocale, t } from './i18n';

describe('i18n', () => {
  beforeEach(() => localStorage.clear());
  it('speaks Spanish (Colombia) by default', () => {
    expect(locale()).toBe('es-CO');
    expect(t('pay.now')).toBe('Pagar ahora');
  });
  it('switches to English, remembers it, and tells the page', () => {
    let told = '';
    window.addEventListener('bp-locale', (e) => (told = (e as CustomEvent).detail), { once: true });
    setLocale('en');
    expect(t('pay.done', { confirmation: 'BP-7K3M-9QXA' })).toBe('Paid. Confirmation BP-7K3M-9QXA.');
    expect(document.documentElement.lang).toBe('en');
    expect(told).toBe('en');
  });
  it('has every message in every language', () => {
    const keys = Object.keys(messages('es-CO')).sort();
    for (const l of LOCALES) {
      expect(Object.keys(messages(l)).sort()).toEqual(keys);
      for (const k of keys) expect(messages(l)[k as keyof ReturnType<typeof messages>].trim()).not.toBe('');
    }
  });
});

it('names every biller category in both languages', async () => {
  const { categoryLabel, setLocale } = await import('./i18n');
  setLocale('es-CO');
  expect(categoryLabel('telecom')).toBe('Telefonía');
  expect(categoryLabel('tax')).toBe('Impuestos');
  setLocale('en');
  expect(categoryLabel('tax')).toBe('Taxes');
  expect(categoryLabel('something-new')).toBe('something-new');
  setLocale('es-CO');
});
