//! OFREP against a real OpenFeature client: the Python SDK (`openfeature-sdk`) with its OFREP
//! provider (`openfeature-provider-ofrep`), unmodified, evaluating the demo's flags on the real
//! binary. `./dev test` installs both into a virtualenv and sets `$BILLPAY_PYTHON`.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

const SCRIPT: &str = r#"
import json, sys, urllib.request
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.contrib.provider.ofrep import OFREPProvider

base, client_key, admin_key = sys.argv[1:4]
api.set_provider(OFREPProvider(base, headers_factory=lambda: {"Authorization": f"Bearer {client_key}"}))
client = api.get_client()

def details(d):
    return {"value": d.value, "variant": d.variant, "reason": str(d.reason.value if hasattr(d.reason, "value") else d.reason),
            "error": None if d.error_code is None else str(d.error_code.value)}

def bulk(targeting_key):
    req = urllib.request.Request(base + "/ofrep/v1/evaluate/flags", method="POST",
        data=json.dumps({"context": {"targetingKey": targeting_key}}).encode(),
        headers={"Authorization": f"Bearer {client_key}", "Content-Type": "application/json"})
    flags = json.load(urllib.request.urlopen(req))["flags"]
    return {f["key"]: f.get("value") for f in flags}

out = {"variants": {}, "bulk": {}}
for customer in ["cus_demo_ana", "cus_demo_luis", "cus_demo_john", "cus_x1", "cus_x2", "cus_x3"]:
    ctx = EvaluationContext(targeting_key=customer)
    out["variants"][customer] = details(client.get_string_details("frontend-variant", "zz", ctx))
    out["bulk"][customer] = bulk(customer)["frontend-variant"]
out["topups"] = details(client.get_boolean_details("wallet-topups", False))
out["missing"] = details(client.get_string_details("no-such-flag", "fallback"))
out["mismatch"] = details(client.get_integer_details("frontend-variant", 7, EvaluationContext(targeting_key="cus_demo_ana")))

req = urllib.request.Request(base + "/v1/flag-sets/billpay-web/flags/frontend-variant/state", method="POST",
    data=b'{"state": "DISABLED"}', headers={"Authorization": f"Bearer {admin_key}", "Content-Type": "application/json"})
urllib.request.urlopen(req).read()
out["disabled"] = details(client.get_string_details("frontend-variant", "a", EvaluationContext(targeting_key="cus_demo_ana")))
print(json.dumps(out))
"#;

#[test]
fn the_python_ofrep_provider_works_unmodified() {
    let python = std::env::var("BILLPAY_PYTHON")
        .expect("BILLPAY_PYTHON is not set: run the suite with ./dev test, which installs the OpenFeature SDK");
    // Few requests, but the limits are not what this test is about.
    let server = common::DemoServer::start("ofrep", &["--no-rate-limits"]);
    let out = Command::new(python)
        .args([
            "-c",
            SCRIPT,
            &server.base(),
            "bpf_demo_web_client",
            "bpk_demo_admin_do_not_use_in_production",
        ])
        .output()
        .expect("run python");
    drop(server);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // Each customer gets a variant, the same one the bulk endpoint gives, and both variants occur.
    let variants = v["variants"].as_object().unwrap();
    for (customer, d) in variants {
        assert_eq!(d["error"], serde_json::Value::Null, "{customer}: {d}");
        assert!(d["value"] == "a" || d["value"] == "b", "{customer}: {d}");
        assert_eq!(d["variant"], d["value"]);
        assert_eq!(d["reason"], "SPLIT");
        assert_eq!(d["value"], v["bulk"][customer], "{customer}");
    }
    let seen: std::collections::BTreeSet<_> = variants.values().map(|d| d["value"].as_str().unwrap()).collect();
    assert_eq!(seen.len(), 2, "{v}");

    assert_eq!(v["topups"]["value"], true);
    assert_eq!(v["topups"]["reason"], "STATIC");
    assert_eq!(v["missing"]["value"], "fallback");
    assert_eq!(v["missing"]["error"], "FLAG_NOT_FOUND");
    assert_eq!(v["mismatch"]["value"], 7);
    assert_eq!(v["mismatch"]["error"], "TYPE_MISMATCH");
    // The kill switch: the SDK gets DISABLED and falls back to its code default.
    assert_eq!(v["disabled"]["value"], "a");
    assert_eq!(v["disabled"]["reason"], "DISABLED");
    assert_eq!(v["disabled"]["error"], serde_json::Value::Null);
}
