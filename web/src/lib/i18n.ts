// Two languages: Spanish (Colombia) by default, and English. The choice is kept in localStorage
// and applied to <html lang>; components re-render on the `bp-locale` event.

export type Locale = 'es-CO' | 'en';
export const LOCALES: Locale[] = ['es-CO', 'en'];

const es = {
  'app.name': 'BillPay',
  'app.tagline': 'Paga tus facturas de servicios, telefonía e impuestos',
  'lang.label': 'Idioma',
  'signin.title': 'Ingresa a tu cuenta',
  'signin.email': 'Correo electrónico',
  'signin.send': 'Enviar código',
  'signin.sent': 'Te enviamos un código de 6 dígitos a {email}. Sirve durante 10 minutos.',
  'signin.code': 'Código de 6 dígitos',
  'signin.other': 'Usar otro correo',
  'signin.submit': 'Ingresar',
  'signin.demo': 'Cuentas de demostración',
  'signin.as': 'Ingresar como {name}',
  'signin.bad': 'El código no es correcto o ya venció. Revisa el correo o pide uno nuevo.',
  'signin.limited': 'Demasiados intentos. Pide un código nuevo en unos minutos.',
  'signin.badEmail': 'Escribe un correo electrónico válido.',
  'signout': 'Salir',
  'wallet.title': 'Tu billetera',
  'wallet.empty': 'Tu billetera está vacía.',
  'topup.title': 'Recargar',
  'topup.amount': 'Valor a recargar',
  'topup.currency': 'Moneda',
  'topup.submit': 'Recargar',
  'topup.done': 'Recarga de {amount} hecha.',
  'billers.title': 'Buscar empresa',
  'billers.search': 'Nombre o categoría',
  'billers.none': 'Ninguna empresa coincide.',
  'barcode.title': 'Pagar con el código de barras',
  'barcode.label': 'Código de barras de la factura',
  'barcode.hint': 'Pega el número que aparece bajo las barras, como (415)7709998000018(8020)1002003001(3900)185500(96)20261215.',
  'barcode.submit': 'Buscar la factura',
  'lookup.title': 'Consultar factura',
  'lookup.biller': 'Empresa',
  'lookup.choose': 'Elige una empresa',
  'lookup.reference': 'Referencia de pago',
  'lookup.submit': 'Consultar',
  'lookup.none': 'No hay facturas abiertas con esa referencia.',
  'bill.due': 'Vence el {date}',
  'bill.outstanding': 'Saldo pendiente',
  'bill.paid': 'Pagada',
  'bill.overdue': 'Vencida',
  'pay.amount': 'Valor a pagar',
  'pay.full': 'Pago total',
  'pay.partial.hint': 'Esta empresa acepta pagos parciales.',
  'pay.exact.hint': 'Esta empresa solo acepta el pago total.',
  'pay.fee': 'Comisión',
  'pay.total': 'Total a debitar',
  'pay.review': 'Revisar pago',
  'pay.review.title': 'Revisa tu pago',
  'pay.confirm': 'Confirmar y pagar',
  'pay.back': 'Volver',
  'pay.now': 'Pagar ahora',
  'pay.paying': 'Pagando…',
  'pay.done': 'Pago exitoso. Confirmación {confirmation}.',
  'pay.bad_amount': 'Escribe un valor válido, por ejemplo 125.000.',
  'history.title': 'Tus pagos',
  'history.empty': 'Aún no has pagado facturas.',
  'history.receipt': 'Ver comprobante',
  'receipt.title': 'Comprobante de pago',
  'receipt.print': 'Imprimir',
  'receipt.close': 'Cerrar',
  'error.network': 'No hay conexión con BillPay. Intenta de nuevo: no se cobrará dos veces.',
  'entry.choosing': 'Preparando tu experiencia…',
  'flags.title': 'Feature flags',
  'flags.signin': 'Clave de API de administrador',
  'flags.demo_admin': 'Usar la clave de administrador de demostración',
  'flags.tab.flags': 'Flags',
  'flags.tab.history': 'Historial',
  'flags.tab.dashboard': 'Tablero',
  'flags.key': 'Flag',
  'flags.state': 'Encendido',
  'flags.default': 'Variante por defecto',
  'flags.description': 'Descripción',
  'flags.edit': 'Editar',
  'flags.rollout': 'Porcentaje de clientes en B',
  'flags.rollout.save': 'Aplicar',
  'flags.variants': 'Variantes (JSON)',
  'flags.targeting': 'Regla de targeting (JsonLogic)',
  'flags.save': 'Guardar',
  'flags.cancel': 'Cancelar',
  'flags.valid': 'Definición válida.',
  'flags.invalid': 'La definición no es válida:',
  'flags.saved': 'Guardado: versión {version}.',
  'flags.version': 'Versión {version}',
  'flags.rollback': 'Volver a esta versión',
  'flags.by': 'por {author}',
  'dash.payments': 'Pagos por día',
  'dash.volume': 'Volumen por día ({currency})',
  'dash.success': 'Tasa de éxito',
  'dash.top': 'Empresas con más pagos',
  'dash.ab': 'Conversión A/B (exposición → pago)',
  'dash.exposed': 'expuestos',
  'dash.converted': 'pagaron',
  'dash.none': 'Sin datos todavía.',
};

const en: Record<keyof typeof es, string> = {
  'app.name': 'BillPay',
  'app.tagline': 'Pay your utility, telecom and tax bills',
  'lang.label': 'Language',
  'signin.title': 'Sign in',
  'signin.email': 'E-mail',
  'signin.send': 'Send code',
  'signin.sent': 'We sent a 6-digit code to {email}. It works for 10 minutes.',
  'signin.code': '6-digit code',
  'signin.other': 'Use another e-mail',
  'signin.submit': 'Sign in',
  'signin.demo': 'Demo accounts',
  'signin.as': 'Sign in as {name}',
  'signin.bad': 'The code is wrong or has expired. Check the e-mail or ask for a new one.',
  'signin.limited': 'Too many attempts. Ask for a new code in a few minutes.',
  'signin.badEmail': 'Type a valid e-mail address.',
  'signout': 'Sign out',
  'wallet.title': 'Your wallet',
  'wallet.empty': 'Your wallet is empty.',
  'topup.title': 'Top up',
  'topup.amount': 'Amount to add',
  'topup.currency': 'Currency',
  'topup.submit': 'Top up',
  'topup.done': 'Added {amount}.',
  'billers.title': 'Find a biller',
  'billers.search': 'Name or category',
  'billers.none': 'No biller matches.',
  'barcode.title': 'Pay with the barcode',
  'barcode.label': 'The invoice barcode',
  'barcode.hint': 'Paste the number printed under the bars, such as (415)7709998000018(8020)1002003001(3900)185500(96)20261215.',
  'barcode.submit': 'Find the bill',
  'lookup.title': 'Look up a bill',
  'lookup.biller': 'Biller',
  'lookup.choose': 'Choose a biller',
  'lookup.reference': 'Payment reference',
  'lookup.submit': 'Look up',
  'lookup.none': 'No open bill has that reference.',
  'bill.due': 'Due {date}',
  'bill.outstanding': 'Outstanding',
  'bill.paid': 'Paid',
  'bill.overdue': 'Overdue',
  'pay.amount': 'Amount to pay',
  'pay.full': 'Pay in full',
  'pay.partial.hint': 'This biller accepts partial payments.',
  'pay.exact.hint': 'This biller only takes the full amount.',
  'pay.fee': 'Fee',
  'pay.total': 'Total from your wallet',
  'pay.review': 'Review payment',
  'pay.review.title': 'Review your payment',
  'pay.confirm': 'Confirm and pay',
  'pay.back': 'Back',
  'pay.now': 'Pay now',
  'pay.paying': 'Paying…',
  'pay.done': 'Paid. Confirmation {confirmation}.',
  'pay.bad_amount': 'Enter a valid amount, for example 125,000.',
  'history.title': 'Your payments',
  'history.empty': 'You have not paid any bills yet.',
  'history.receipt': 'View receipt',
  'receipt.title': 'Payment receipt',
  'receipt.print': 'Print',
  'receipt.close': 'Close',
  'error.network': 'Cannot reach BillPay. Try again: you will not be charged twice.',
  'entry.choosing': 'Getting things ready…',
  'flags.title': 'Feature flags',
  'flags.signin': 'Admin API key',
  'flags.demo_admin': 'Use the demo admin key',
  'flags.tab.flags': 'Flags',
  'flags.tab.history': 'History',
  'flags.tab.dashboard': 'Dashboard',
  'flags.key': 'Flag',
  'flags.state': 'On',
  'flags.default': 'Default variant',
  'flags.description': 'Description',
  'flags.edit': 'Edit',
  'flags.rollout': 'Share of customers on B',
  'flags.rollout.save': 'Apply',
  'flags.variants': 'Variants (JSON)',
  'flags.targeting': 'Targeting rule (JsonLogic)',
  'flags.save': 'Save',
  'flags.cancel': 'Cancel',
  'flags.valid': 'The definition is valid.',
  'flags.invalid': 'The definition is not valid:',
  'flags.saved': 'Saved: version {version}.',
  'flags.version': 'Version {version}',
  'flags.rollback': 'Roll back to this version',
  'flags.by': 'by {author}',
  'dash.payments': 'Payments per day',
  'dash.volume': 'Volume per day ({currency})',
  'dash.success': 'Success rate',
  'dash.top': 'Top billers',
  'dash.ab': 'A/B conversion (exposure → payment)',
  'dash.exposed': 'exposed',
  'dash.converted': 'paid',
  'dash.none': 'No data yet.',
};

export type MessageKey = keyof typeof es;
const MESSAGES: Record<Locale, Record<MessageKey, string>> = { 'es-CO': es, en };

const STORE_KEY = 'bp.locale';

export function locale(): Locale {
  const saved = globalThis.localStorage?.getItem(STORE_KEY);
  return saved === 'en' || saved === 'es-CO' ? saved : 'es-CO';
}

export function setLocale(l: Locale): void {
  localStorage.setItem(STORE_KEY, l);
  document.documentElement.lang = l;
  window.dispatchEvent(new CustomEvent('bp-locale', { detail: l }));
}

/** The message `key` in the current language, with `{name}` placeholders filled. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const text = MESSAGES[locale()][key];
  return text.replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? `{${k}}`));
}

export function formatDate(iso: string): string {
  const d = new Date(iso.length === 10 ? `${iso}T12:00:00Z` : iso);
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'America/Bogota' }).format(d);
}

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(locale()).format(n);
}

export function messages(l: Locale): Record<MessageKey, string> {
  return MESSAGES[l];
}
