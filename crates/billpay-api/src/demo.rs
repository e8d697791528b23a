//! Demo data for `billpay serve --demo`: billers in several categories and currencies, open bills,
//! customers with funded wallets, and fixed API keys. Loading it twice adds nothing.

use serde::Serialize;

use billpay_core::biller::AmountRule;
use billpay_core::fee::FeePayer;
use billpay_store::{NewBill, NewBiller, Role, Store, StoreError};

/// The demo's API keys, printed at start-up and written to `demo-keys.json`.
#[derive(Debug, Clone, Serialize)]
pub struct DemoKeys {
    pub admin: String,
    /// The flag set the web apps read, and its read-only client key.
    pub flag_set: String,
    pub flags_client: String,
    pub billers: Vec<DemoKey>,
    pub customers: Vec<DemoKey>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoKey {
    pub id: String,
    pub name: String,
    pub key: String,
}

struct DemoBiller {
    /// The location number in its invoices' barcodes.
    gln: &'static str,
    id: &'static str,
    name: &'static str,
    category: &'static str,
    currency: &'static str,
    pattern: &'static str,
    hint: &'static str,
    rule: AmountRule,
    fee: (i64, i64, FeePayer),
    key: &'static str,
    /// (reference, customer name, customer id, amount due, days until due)
    bills: &'static [(&'static str, &'static str, Option<&'static str>, i64, i64)],
}

pub const ADMIN_KEY: &str = "bpk_demo_admin_do_not_use_in_production";
pub const FLAG_SET: &str = "billpay-web";
pub const FLAGS_CLIENT_KEY: &str = "bpf_demo_web_client";
/// The demo's admin, who signs in to the flags admin with one click (`serve --demo` only).
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.billpay.localhost";
/// The demo's biller staff member, of Energía, who signs in to the biller portal with one click.
pub const DEMO_BILLER_STAFF_EMAIL: &str = "energia@demo.billpay.localhost";
/// The staff members the demo sign-in accepts.
pub const DEMO_STAFF: [&str; 2] = [DEMO_ADMIN_EMAIL, DEMO_BILLER_STAFF_EMAIL];

/// The web apps' flags. `frontend-variant` splits customers between app A (review, then pay) and
/// app B (pay in one step); turning it off sends everyone to A.
pub fn web_flags() -> serde_json::Value {
    serde_json::json!({
        "flags": {
            "frontend-variant": {
                "state": "ENABLED",
                "variants": {"a": "a", "b": "b"},
                "defaultVariant": "a",
                "targeting": {"fractional": [["a", 50], ["b", 50]]},
                "metadata": {"description": "A/B test: A reviews a payment before paying, B pays in one step"}
            },
            "wallet-topups": {
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "on",
                "metadata": {"description": "Customers can top up their wallet from the app"}
            },
            "biller-categories": {
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "on",
                "metadata": {"description": "Group billers by category in the search"}
            }
        },
        "metadata": {"flagSetId": FLAG_SET}
    })
}

const BILLERS: &[DemoBiller] = &[
    DemoBiller {
        id: "blr_demo_energia",
        gln: "7709998000018",
        name: "Energía del Valle",
        category: "electricity",
        currency: "COP",
        pattern: "[0-9]{10}",
        hint: "The 10-digit account number at the top of your bill",
        rule: AmountRule::Exact,
        fee: (150000, 0, FeePayer::Customer),
        key: "bpk_demo_biller_energia",
        bills: &[
            ("1002003001", "Ana Gómez", Some("cus_demo_ana"), 18_550_000, 12),
            ("1002003002", "Luis Pérez", Some("cus_demo_luis"), 9_230_000, 5),
            ("1002003003", "Marta Ruiz", None, 12_000_000, -3),
        ],
    },
    DemoBiller {
        id: "blr_demo_acueducto",
        gln: "7709998000025",
        name: "Acueducto de Bogotá",
        category: "water",
        currency: "COP",
        pattern: "AC-[0-9]{6}",
        hint: "AC- followed by the 6 digits of your contract",
        rule: AmountRule::Partial,
        fee: (0, 50, FeePayer::Biller),
        key: "bpk_demo_biller_acueducto",
        bills: &[
            ("AC-100200", "Ana Gómez", Some("cus_demo_ana"), 7_420_000, 20),
            ("AC-100201", "Luis Pérez", None, 6_100_000, 9),
        ],
    },
    DemoBiller {
        id: "blr_demo_gasnatural",
        gln: "7709998000032",
        name: "Gas Natural Andino",
        category: "gas",
        currency: "COP",
        pattern: "[0-9]{8}",
        hint: "The 8-digit customer number",
        rule: AmountRule::Overpayment,
        fee: (100000, 0, FeePayer::Customer),
        key: "bpk_demo_biller_gasnatural",
        bills: &[("40050060", "Ana Gómez", Some("cus_demo_ana"), 4_315_000, 15)],
    },
    DemoBiller {
        id: "blr_demo_telco",
        gln: "7709998000049",
        name: "Andes Telecom",
        category: "telecom",
        currency: "USD",
        pattern: "[0-9]{3}-[0-9]{7}",
        hint: "Your phone number, as 300-1234567",
        rule: AmountRule::Partial,
        fee: (25, 100, FeePayer::Customer),
        key: "bpk_demo_biller_telco",
        bills: &[
            ("300-1234567", "Ana Gómez", Some("cus_demo_ana"), 4_599, 7),
            ("310-7654321", "John Carter", Some("cus_demo_john"), 8_950, 4),
        ],
    },
    DemoBiller {
        id: "blr_demo_predial",
        gln: "7709998000056",
        name: "Secretaría de Hacienda — Impuesto Predial",
        category: "tax",
        currency: "COP",
        pattern: "PRED-[0-9]{4}-[0-9]{5}",
        hint: "PRED-, the tax year, and your 5-digit property code",
        rule: AmountRule::Exact,
        fee: (0, 0, FeePayer::Customer),
        key: "bpk_demo_biller_predial",
        bills: &[("PRED-2026-00042", "Luis Pérez", Some("cus_demo_luis"), 98_700_000, 30)],
    },
];

/// (currency, top-up in minor units)
type Funding = &'static [(&'static str, i64)];

/// (id, name, email, key, funding)
const CUSTOMERS: &[(&str, &str, &str, &str, Funding)] = &[
    (
        "cus_demo_ana",
        "Ana Gómez",
        "ana@example.com",
        "bpk_demo_customer_ana",
        &[("COP", 100_000_000), ("USD", 20_000)],
    ),
    (
        "cus_demo_luis",
        "Luis Pérez",
        "luis@example.com",
        "bpk_demo_customer_luis",
        &[("COP", 150_000_000)],
    ),
    (
        "cus_demo_john",
        "John Carter",
        "john@example.com",
        "bpk_demo_customer_john",
        &[("USD", 50_000)],
    ),
];

/// Loads the demo data unless it is already there, and returns the demo keys.
pub async fn load(store: &Store) -> Result<DemoKeys, StoreError> {
    let today = billpay_core::time::today();
    let mut keys = DemoKeys {
        admin: ADMIN_KEY.to_owned(),
        flag_set: FLAG_SET.to_owned(),
        flags_client: FLAGS_CLIENT_KEY.to_owned(),
        billers: Vec::new(),
        customers: Vec::new(),
    };
    let admin = store
        .insert_api_key(ADMIN_KEY.to_owned(), Role::Admin, None, None, "demo admin")
        .await?;
    if matches!(store.flag_set(FLAG_SET).await, Err(StoreError::NotFound(_))) {
        let description = "Flags of the customer apps and the A/B test between them";
        store
            .create_flag_set(FLAG_SET, description, &web_flags(), &admin.record.id)
            .await?;
    }
    store
        .create_flag_client_key(
            FLAG_SET,
            "demo web apps",
            Some(FLAGS_CLIENT_KEY.to_owned()),
            &admin.record.id,
        )
        .await?;

    for &(id, name, email, key, topups) in CUSTOMERS {
        if matches!(store.get_customer(id).await, Err(StoreError::NotFound(_))) {
            store
                .create_customer_with_id(id.to_owned(), name, Some(email), None)
                .await?;
            for &(currency, amount) in topups {
                store.top_up(id, currency, amount, None).await?;
            }
        }
        store
            .insert_api_key(key.to_owned(), Role::Customer, None, Some(id), "demo customer")
            .await?;
        keys.customers.push(DemoKey {
            id: id.to_owned(),
            name: name.to_owned(),
            key: key.to_owned(),
        });
    }

    for b in BILLERS {
        if matches!(store.get_biller(b.id).await, Err(StoreError::NotFound(_))) {
            let new = NewBiller {
                name: b.name.to_owned(),
                category: b.category.to_owned(),
                currency: b.currency.to_owned(),
                reference_pattern: b.pattern.to_owned(),
                reference_hint: b.hint.to_owned(),
                gln: Some(b.gln.to_owned()),
                amount_rule: b.rule,
                fee_fixed: b.fee.0,
                fee_bps: b.fee.1,
                fee_payer: b.fee.2,
            };
            store.create_biller_with_id(b.id.to_owned(), new, None).await?;
            let bills: Vec<NewBill> = b
                .bills
                .iter()
                .map(|&(reference, customer, customer_id, amount, days)| NewBill {
                    reference: reference.to_owned(),
                    customer_name: customer.to_owned(),
                    customer_id: customer_id.map(str::to_owned),
                    amount_due: amount,
                    due_date: billpay_core::time::format_date(today + time::Duration::days(days)),
                })
                .collect();
            store.create_bills(b.id, &bills, |ids| ids, None).await?;
        }
        store
            .insert_api_key(b.key.to_owned(), Role::Biller, Some(b.id), None, "demo biller")
            .await?;
        keys.billers.push(DemoKey {
            id: b.id.to_owned(),
            name: b.name.to_owned(),
            key: b.key.to_owned(),
        });
    }
    // Staff after the billers: a biller's staff member belongs to one.
    for (email, name, role, biller) in [
        (DEMO_ADMIN_EMAIL, "Admin (demo)", Role::Admin, None),
        (
            DEMO_BILLER_STAFF_EMAIL,
            "Energía (demo)",
            Role::Biller,
            Some("blr_demo_energia"),
        ),
    ] {
        match store.add_staff(email, name, role, biller, "demo").await {
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(keys)
}
