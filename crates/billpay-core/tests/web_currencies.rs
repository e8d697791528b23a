//! The web apps format money with their own copy of the currency table; it must be core's, or a
//! customer sees KWD 1.00 where the ledger holds KWD 1.005.

#![allow(clippy::unwrap_used)]

use billpay_core::money::Currency;

#[test]
fn the_web_apps_currency_table_is_cores() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/src/lib/currencies.ts");
    let expected = Currency::web_table();
    if std::env::var_os("BILLPAY_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == expected,
        "web/src/lib/currencies.ts differs from billpay-core's table; regenerate it with\n  BILLPAY_UPDATE_SNAPSHOTS=1 cargo test -p billpay-core --test web_currencies"
    );
    for code in Currency::all() {
        let c = Currency::parse(code).unwrap();
        assert!(found.contains(&format!("  {code}: {},\n", c.exponent())), "{code}");
    }
}
