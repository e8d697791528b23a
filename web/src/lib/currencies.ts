// Generated from billpay-core's currency table (crates/billpay-core/src/money.rs); a test keeps
// it equal. Do not edit: add a currency there, then run
// BILLPAY_UPDATE_SNAPSHOTS=1 cargo test -p billpay-core --test web_currencies

/** ISO 4217 code → digits after the decimal point, for every currency BillPay settles in. */
export const EXPONENTS: Readonly<Record<string, number>> = {
  ARS: 2,
  AUD: 2,
  BOB: 2,
  BRL: 2,
  CAD: 2,
  CHF: 2,
  CLP: 0,
  CNY: 2,
  COP: 2,
  CRC: 2,
  DOP: 2,
  EUR: 2,
  GBP: 2,
  GTQ: 2,
  HNL: 2,
  INR: 2,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  MXN: 2,
  NIO: 2,
  PAB: 2,
  PEN: 2,
  PYG: 0,
  USD: 2,
  UYU: 2,
  VES: 2,
  ZAR: 2,
};
