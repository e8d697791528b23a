//! Validation of a flag set: flagd's JSON schema first, then the rules a schema cannot express.

use std::sync::LazyLock;

use jsonschema::{Registry, Validator};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::eval::compile_rule;
use crate::resolve_refs;

const FLAGS_ID: &str = "https://flagd.dev/schema/v0/flags.json";
const TARGETING_ID: &str = "https://flagd.dev/schema/v0/targeting.json";
const FLAGS_SCHEMA: &str = include_str!("../schema/flags.json");
const TARGETING_SCHEMA: &str = include_str!("../schema/targeting.json");

/// One thing wrong with a definition, at a JSON Pointer into it (`/flags/checkout/defaultVariant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() { "/" } else { &self.path };
        write!(f, "{path}: {}", self.message)
    }
}

static REGISTRY: LazyLock<Option<Registry<'static>>> = LazyLock::new(|| {
    let flags: Value = serde_json::from_str(FLAGS_SCHEMA).ok()?;
    let targeting: Value = serde_json::from_str(TARGETING_SCHEMA).ok()?;
    Registry::new()
        .add(FLAGS_ID, flags)
        .ok()?
        .add(TARGETING_ID, targeting)
        .ok()?
        .prepare()
        .ok()
});

fn validator(reference: &str) -> Result<Validator, String> {
    let registry = REGISTRY
        .as_ref()
        .ok_or_else(|| "flagd's schema does not load".to_string())?;
    jsonschema::options()
        .with_registry(registry)
        .build(&serde_json::json!({ "$ref": reference }))
        .map_err(|e| e.to_string())
}

/// The whole document against flagd's schema.
static VALIDATOR: LazyLock<Result<Validator, String>> = LazyLock::new(|| validator(FLAGS_ID));
/// One flag against the part of the schema every flag shares. The typed flag schemas are an
/// `anyOf`, which reports a mistake at the flag instead of at the field; this finds the field.
static BASE_FLAG: LazyLock<Result<Validator, String>> =
    LazyLock::new(|| validator(&format!("{FLAGS_ID}#/definitions/baseFlag")));

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Checks a flag-set definition. Every problem is reported, each with the JSON path at fault.
pub fn validate(definition: &Value) -> Result<(), Vec<Problem>> {
    let (validator, base_flag) = match (VALIDATOR.as_ref(), BASE_FLAG.as_ref()) {
        (Ok(v), Ok(b)) => (v, b),
        (Err(e), _) | (_, Err(e)) => {
            return Err(vec![Problem::new("", format!("the flag schema is unavailable: {e}"))]);
        }
    };
    let empty = Map::new();
    let mut problems = Vec::new();
    for error in validator.iter_errors(definition) {
        let path = error.instance_path().as_str().to_owned();
        let flag = path
            .strip_prefix("/flags/")
            .filter(|rest| !rest.contains('/'))
            .and_then(|_| definition.pointer(&path));
        let precise: Vec<Problem> = flag
            .map(|flag| {
                base_flag
                    .iter_errors(flag)
                    .map(|e| Problem::new(format!("{path}{}", e.instance_path().as_str()), e.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        if !precise.is_empty() {
            problems.extend(precise);
        } else if flag.is_some() {
            problems.push(Problem::new(
                path,
                "a flag's variants must all be of one type: boolean, string, number or object",
            ));
        } else {
            problems.push(Problem::new(path, error.to_string()));
        }
    }
    problems.sort_by(|a, b| a.path.cmp(&b.path));
    problems.dedup();
    if !problems.is_empty() {
        return Err(problems);
    }
    let evaluators = definition
        .get("$evaluators")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (name, rule) in evaluators {
        let path = format!("/$evaluators/{}", pointer_escape(name));
        match resolve_refs(rule, evaluators, 0) {
            Err(why) => problems.push(Problem::new(path, why)),
            Ok(rule) => {
                if let Err(e) = compile_rule(&rule) {
                    problems.push(Problem::new(path, format!("not valid JsonLogic: {e}")));
                }
            }
        }
    }
    let flags = definition.get("flags").and_then(Value::as_object).unwrap_or(&empty);
    for (key, flag) in flags {
        check_flag(key, flag, evaluators, &mut problems);
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

fn check_flag(key: &str, flag: &Value, evaluators: &Map<String, Value>, problems: &mut Vec<Problem>) {
    let base = format!("/flags/{}", pointer_escape(key));
    let empty = Map::new();
    let variants = flag.get("variants").and_then(Value::as_object).unwrap_or(&empty);
    if let Some(default) = flag.get("defaultVariant").and_then(Value::as_str)
        && !variants.contains_key(default)
    {
        problems.push(Problem::new(
            format!("{base}/defaultVariant"),
            format!(
                "`{default}` is not one of the flag's variants ({})",
                variants.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let Some(rule) = flag
        .get("targeting")
        .filter(|t| t.as_object().is_some_and(|m| !m.is_empty()))
    else {
        return;
    };
    let path = format!("{base}/targeting");
    match resolve_refs(rule, evaluators, 0) {
        Err(why) => problems.push(Problem::new(path, why)),
        Ok(rule) => {
            if let Err(e) = compile_rule(&rule) {
                problems.push(Problem::new(path, format!("not valid JsonLogic: {e}")));
                return;
            }
            let mut named = Vec::new();
            literal_results(&rule, &mut named);
            for name in named {
                if !variants.contains_key(name) {
                    problems.push(Problem::new(
                        path.clone(),
                        format!("the rule can return `{name}`, which is not one of the flag's variants"),
                    ));
                }
            }
        }
    }
}

/// String literals a rule can return as its result: the branches of `if` and the buckets of
/// `fractional`. Anything computed is left to evaluation time.
fn literal_results<'v>(rule: &'v Value, out: &mut Vec<&'v str>) {
    match rule {
        Value::String(s) => out.push(s),
        Value::Object(m) if m.len() == 1 => {
            if let Some(Value::Array(args)) = m.get("if").or_else(|| m.get("?:")) {
                for (i, arg) in args.iter().enumerate() {
                    let is_result = i % 2 == 1 || i + 1 == args.len();
                    if is_result {
                        literal_results(arg, out);
                    }
                }
            } else if let Some(Value::Array(args)) = m.get(crate::eval::FRACTIONAL) {
                for bucket in args {
                    if let Some(Value::String(s)) = bucket.as_array().and_then(|b| b.first()) {
                        out.push(s);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(def: Value) -> Vec<String> {
        validate(&def).unwrap_err().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn a_good_flag_set_passes() {
        let def = json!({
            "$evaluators": {"colombians": {"ends_with": [{"var": "email"}, ".co"]}},
            "flags": {
                "frontend-variant": {
                    "state": "ENABLED",
                    "variants": {"a": "a", "b": "b"},
                    "defaultVariant": "a",
                    "targeting": {"fractional": [["a", 50], ["b", 50]]}
                },
                "new-receipts": {
                    "state": "DISABLED",
                    "variants": {"on": true, "off": false},
                    "defaultVariant": "off",
                    "targeting": {"if": [{"$ref": "colombians"}, "on", null]}
                }
            },
            "metadata": {"flagSetId": "billpay-web"}
        });
        assert_eq!(validate(&def), Ok(()));
    }

    #[test]
    fn schema_errors_name_the_path() {
        let def = json!({"flags": {"x": {"state": "ON", "variants": {"a": 1}, "defaultVariant": "a"}}});
        assert_eq!(paths(def), vec!["/flags/x/state"]);
        let def = json!({"flags": {"x": {"state": "ENABLED", "variants": {}}}});
        assert_eq!(paths(def), vec!["/flags/x/variants"]);
        assert_eq!(paths(json!({"flag": {}})), vec![""]);
    }

    #[test]
    fn mixed_variant_types_are_refused() {
        let def =
            json!({"flags": {"x": {"state": "ENABLED", "variants": {"a": 1, "b": "two"}, "defaultVariant": "a"}}});
        assert_eq!(paths(def), vec!["/flags/x"]);
    }

    #[test]
    fn semantic_rules() {
        let def =
            json!({"flags": {"x": {"state": "ENABLED", "variants": {"a": true, "b": false}, "defaultVariant": "c"}}});
        let problems = validate(&def).unwrap_err();
        assert_eq!(problems[0].path, "/flags/x/defaultVariant");
        assert!(
            problems[0]
                .message
                .contains("`c` is not one of the flag's variants (a, b)")
        );

        let def = json!({"flags": {"x": {"state": "ENABLED", "variants": {"a": true, "b": false},
            "defaultVariant": "a", "targeting": {"if": [{"$ref": "nobody"}, "a", "b"]}}}});
        let problems = validate(&def).unwrap_err();
        assert_eq!(problems[0].path, "/flags/x/targeting");
        assert!(problems[0].message.contains("`nobody`"), "{problems:?}");

        let def = json!({"flags": {"x": {"state": "ENABLED", "variants": {"a": true, "b": false},
            "defaultVariant": "a", "targeting": {"fractional": [["a", 50], ["z", 50]]}}}});
        let problems = validate(&def).unwrap_err();
        assert!(problems[0].message.contains("`z`"), "{problems:?}");
    }
}
