//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Doc, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::Problem;
use crate::routes::{
    apikeys, auth, billers, bills, complaints, customers, dashboard, fetch, flags, ledger, passkeys, payments,
    scheduled, settlement, staff, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "BillPay API", version = "1",
        description = "Pay utility, telecom and tax bills from a wallet. Amounts are integers of minor units with an ISO 4217 currency. \
Errors are RFC 9457 problem documents with a stable `code`. POSTs that create something or move money take an `Idempotency-Key`."),
    paths(
        crate::observe::healthz, crate::observe::readyz,
        billers::create_biller, billers::list_billers, billers::get_biller, billers::update_biller,
        fetch::set_fetch_endpoint, fetch::get_fetch_endpoint, fetch::remove_fetch_endpoint,
        bills::create_bill, bills::bulk_create_bills, bills::list_bills, bills::lookup_bills, bills::get_bill, bills::cancel_bill,
        customers::create_customer, customers::list_customers, customers::get_customer, customers::get_wallet, customers::top_up,
        payments::create_payment, payments::list_payments, payments::get_payment, payments::get_receipt, payments::create_refund,
        ledger::list_accounts, ledger::get_account, ledger::list_journals, ledger::get_journal,
        flags::list_flag_sets, flags::create_flag_set, flags::get_flag_set, flags::replace_flag_set, flags::validate_flag_set,
        flags::put_flag, flags::delete_flag, flags::set_flag_state, flags::list_versions, flags::get_version, flags::rollback,
        flags::create_client_key, flags::record_exposure, flags::list_audit_events, dashboard::dashboard,
        customers::create_customer_key, customers::me,
        scheduled::create_scheduled, scheduled::list_scheduled, scheduled::get_scheduled, scheduled::cancel_scheduled,
        scheduled::create_autopay, scheduled::list_autopay, scheduled::get_autopay, scheduled::cancel_autopay,
        scheduled::list_notifications,
        webhooks::create_endpoint, webhooks::list_endpoints, webhooks::get_endpoint, webhooks::disable_endpoint,
        webhooks::rotate_secret, webhooks::list_deliveries, webhooks::get_delivery, webhooks::replay,
        settlement::settlement_report, settlement::create_batch, settlement::list_batches, settlement::get_batch,
        settlement::reconcile, settlement::list_exceptions, settlement::close_exception,
        apikeys::list_keys, apikeys::create_key, apikeys::revoke_key, apikeys::rotate_key,
        auth::send_code, auth::sign_in, auth::list_sessions, auth::sign_out, auth::end_session, auth::sign_out_everywhere,
        passkeys::start_registration, passkeys::register, passkeys::list, passkeys::remove,
        passkeys::start_sign_in, passkeys::sign_in,
        crate::oidc::start, crate::oidc::callback,
        staff::list, staff::add, staff::remove,
        complaints::complaint_types, complaints::open_complaint, complaints::list_complaints, complaints::get_complaint,
        complaints::assign, complaints::respond, complaints::resolve, complaints::close,
    ),
    components(schemas(Problem)),
    modifiers(&Common),
    tags((name = "billers"), (name = "bills"), (name = "customers"), (name = "payments"), (name = "ledger"), (name = "flags"), (name = "scheduled payments"), (name = "webhooks"), (name = "settlement"), (name = "complaints"), (name = "sign-in"), (name = "api keys"), (name = "staff"), (name = "operations")),
)]
pub struct ApiDoc;

/// Adds the bearer scheme, and the problem responses every authenticated operation can give.
struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut Doc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // People: the session cookie set by `POST /v1/auth/sessions` (`billpay_session` on
        // plain-HTTP loopback).
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::new("__Host-billpay_session"),
            )),
        );
        let problem = |desc: &str| {
            ResponseBuilder::new()
                .description(desc)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem"))))
                        .build(),
                )
                .build()
        };
        let errors = [
            ("400", "malformed request: bad JSON, query, cursor or header"),
            ("401", "missing or invalid API key"),
            ("403", "the key's role may not do this"),
            ("404", "no such resource, or not visible to this key"),
            ("405", "method not allowed"),
            (
                "409",
                "conflicts with the resource's state, or the same Idempotency-Key is in flight",
            ),
            ("408", "the request body did not arrive within the body timeout"),
            ("413", "body too large"),
            ("415", "wrong Content-Type"),
            ("422", "well-formed but refused: a field or a business rule"),
            (
                "429",
                "over the caller's rate limit: retry after Retry-After (RateLimit-Policy and RateLimit say where the caller stands)",
            ),
            ("500", "internal error"),
            (
                "503",
                "the server is shedding load, the request ran past its time, or the database is unavailable: retry after Retry-After",
            ),
        ];
        for (path, item) in doc.paths.paths.iter_mut() {
            if !path.starts_with("/v1/") {
                continue;
            }
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for (code, desc) in errors {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| RefOr::T(problem(desc)));
                }
            }
        }
    }
}

pub fn document() -> Doc {
    ApiDoc::openapi()
}

/// `GET /openapi.json`.
pub async fn serve() -> Json<Doc> {
    Json(document())
}
