// Spanish (Colombia) by default, and English, as in every BillPay app.
export type Locale = 'es-CO' | 'en';

const messages: Record<Locale, Record<string, string>> = {
  'es-CO': {
    title: 'BillPay biller portal',
    checking: 'Consultando el estado del servicio…',
    up: 'El servicio está disponible.',
    down: 'El servicio no está disponible ({reason}).',
  },
  en: {
    title: 'BillPay biller portal',
    checking: 'Checking the service…',
    up: 'The service is up.',
    down: 'The service is unavailable ({reason}).',
  },
};

export function pickLocale(languages: readonly string[]): Locale {
  return languages.some((l) => l.toLowerCase().startsWith('es')) || languages.length === 0 ? 'es-CO' : 'en';
}

export function t(locale: Locale, key: string, params: Record<string, string> = {}): string {
  const text = messages[locale][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? `{${name}}`);
}
