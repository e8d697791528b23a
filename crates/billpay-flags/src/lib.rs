//! BillPay's feature flags, with flagd's semantics.
//!
//! A flag set is a JSON document in flagd's format (`flags`, `$evaluators`, `metadata`). This crate
//! checks one against flagd's published schema and its semantic rules ([`validate`]), compiles it
//! once ([`FlagSet::compile`]) and evaluates flags against an evaluation context
//! ([`FlagSet::evaluate`]). Targeting is JsonLogic with flagd's operators (`fractional`, `sem_ver`,
//! `starts_with`, `ends_with`); `fractional` hashes with MurmurHash3 exactly as flagd does, so a
//! customer lands in the same bucket here and in any flagd-compatible evaluator.
//!
//! No I/O: storage and HTTP live in `billpay-store` and `billpay-api`.

mod eval;
mod schema;

pub use eval::{ErrorCode, Evaluation, FlagSet, Reason};
pub use schema::{Problem, validate};

/// Rewrites `{"$ref": "name"}` nodes with the named entry of `$evaluators`, recursively.
/// Unknown names are reported; a reference cycle is cut after a fixed depth and reported.
pub(crate) fn resolve_refs(
    node: &serde_json::Value,
    evaluators: &serde_json::Map<String, serde_json::Value>,
    depth: usize,
) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    if depth > 32 {
        return Err("`$ref` references nest too deeply (a cycle in `$evaluators`?)".into());
    }
    match node {
        Value::Object(map) if map.len() == 1 && map.contains_key("$ref") => {
            let name = map["$ref"]
                .as_str()
                .ok_or_else(|| "`$ref` must name an entry of `$evaluators`".to_string())?;
            let target = evaluators
                .get(name)
                .ok_or_else(|| format!("`$ref` names `{name}`, which is not in `$evaluators`"))?;
            resolve_refs(target, evaluators, depth + 1)
        }
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map {
                // The engine's built-in `fractional` takes only string variants; flagd's also
                // buckets booleans, so BillPay's own operator stands in for it.
                let k = if k == "fractional" {
                    eval::FRACTIONAL.to_owned()
                } else {
                    k.clone()
                };
                out.insert(k, resolve_refs(v, evaluators, depth)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|v| resolve_refs(v, evaluators, depth))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}
