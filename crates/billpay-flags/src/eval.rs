//! The evaluator: a compiled flag set and flagd's resolution rules.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use bumpalo::Bump;
use datalogic_rs::operator::EvalContext;
use datalogic_rs::{ArenaExt, CustomOperator, DataValue, Engine, Logic};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::resolve_refs;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    Engine::builder()
        .add_operator(FRACTIONAL, Fractional)
        .add_operator("starts_with", Affix { prefix: true })
        .add_operator("ends_with", Affix { prefix: false })
        .build()
});

/// Why a flag resolved as it did (OpenFeature's reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// No targeting: the default variant.
    Static,
    /// A targeting rule chose the variant.
    TargetingMatch,
    /// A `fractional` split chose the variant.
    Split,
    /// Targeting ran and chose nothing: the default variant, or none.
    Default,
    /// The flag is switched off: no value, the client keeps its own default.
    Disabled,
    /// Evaluation failed; see the error code.
    Error,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Static => "STATIC",
            Reason::TargetingMatch => "TARGETING_MATCH",
            Reason::Split => "SPLIT",
            Reason::Default => "DEFAULT",
            Reason::Disabled => "DISABLED",
            Reason::Error => "ERROR",
        }
    }
}

/// OpenFeature error codes, as OFREP spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    FlagNotFound,
    ParseError,
    TargetingKeyMissing,
    InvalidContext,
    General,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::FlagNotFound => "FLAG_NOT_FOUND",
            ErrorCode::ParseError => "PARSE_ERROR",
            ErrorCode::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            ErrorCode::InvalidContext => "INVALID_CONTEXT",
            ErrorCode::General => "GENERAL",
        }
    }
}

/// The outcome of evaluating one flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation<'s> {
    pub key: &'s str,
    /// `None` when the client should use its own default: a disabled flag, no default variant,
    /// or an error.
    pub value: Option<&'s Value>,
    pub variant: Option<&'s str>,
    pub reason: Reason,
    pub error: Option<(ErrorCode, String)>,
    /// The flag set's metadata overlaid with the flag's own.
    pub metadata: &'s Map<String, Value>,
}

enum Targeting {
    None,
    Rule { logic: Box<Logic>, split: bool },
    Invalid(String),
}

struct Flag {
    enabled: bool,
    variants: Map<String, Value>,
    default_variant: Option<String>,
    targeting: Targeting,
    /// The set's metadata overlaid with the flag's own, merged once at compile time.
    metadata: Map<String, Value>,
}

/// A flag set compiled for evaluation. Compiling never fails as a whole: a flag whose targeting
/// cannot be compiled answers `PARSE_ERROR` when evaluated, as in flagd. [`crate::validate`]
/// keeps such definitions from being saved in the first place.
pub struct FlagSet {
    flags: BTreeMap<String, Flag>,
    /// What an unknown flag reports as its metadata.
    no_metadata: Map<String, Value>,
}

fn object(v: Option<&Value>) -> Map<String, Value> {
    v.and_then(Value::as_object).cloned().unwrap_or_default()
}

impl FlagSet {
    /// Compiles a flag-set document. Fails only when it is not a JSON object with a `flags` object.
    pub fn compile(definition: &Value) -> Result<FlagSet, String> {
        let flags = definition
            .get("flags")
            .and_then(Value::as_object)
            .ok_or_else(|| "a flag set must be an object with a `flags` object".to_string())?;
        let evaluators = object(definition.get("$evaluators"));
        let set_metadata = object(definition.get("metadata"));
        let mut out = BTreeMap::new();
        for (key, def) in flags {
            out.insert(key.clone(), compile_flag(def, &evaluators, &set_metadata));
        }
        Ok(FlagSet {
            flags: out,
            no_metadata: Map::new(),
        })
    }

    /// Flag keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.flags.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.flags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// Evaluates `key` for `context` (the OpenFeature evaluation context, `targetingKey`
    /// included). `now` is the Unix time exposed to rules as `$flagd.timestamp`.
    pub fn evaluate<'s>(&'s self, key: &'s str, context: &Map<String, Value>, now: i64) -> Evaluation<'s> {
        let mut data = Value::Object(context.clone());
        self.evaluate_in(key, &mut data, now)
    }

    /// Like [`FlagSet::evaluate`] on a context already copied into `data` (a JSON object), so that
    /// a bulk evaluation copies the context once. `$flagd` in `data` is overwritten.
    pub fn evaluate_in<'s>(&'s self, key: &'s str, data: &mut Value, now: i64) -> Evaluation<'s> {
        let Some(flag) = self.flags.get(key) else {
            return Evaluation {
                key,
                value: None,
                variant: None,
                reason: Reason::Error,
                error: Some((ErrorCode::FlagNotFound, format!("flag `{key}` is not in this flag set"))),
                metadata: &self.no_metadata,
            };
        };
        let metadata = &flag.metadata;
        let done = |variant: Option<&'s str>, reason: Reason| {
            let value = variant.and_then(|v| flag.variants.get(v));
            Evaluation {
                key,
                value,
                variant: value.and(variant),
                reason,
                error: None,
                metadata,
            }
        };
        let failed = |code: ErrorCode, detail: String| Evaluation {
            key,
            value: None,
            variant: None,
            reason: Reason::Error,
            error: Some((code, detail)),
            metadata,
        };
        if !flag.enabled {
            return done(None, Reason::Disabled);
        }
        let default = flag.default_variant.as_deref();
        let (logic, split) = match &flag.targeting {
            Targeting::None => {
                let reason = if default.is_some() {
                    Reason::Static
                } else {
                    Reason::Default
                };
                return done(default, reason);
            }
            Targeting::Invalid(why) => return failed(ErrorCode::ParseError, why.clone()),
            Targeting::Rule { logic, split } => (logic, *split),
        };
        if let Value::Object(m) = data {
            m.insert("$flagd".into(), serde_json::json!({ "flagKey": key, "timestamp": now }));
        }
        let arena = Bump::new();
        let chosen = match ENGINE.evaluate(logic, &*data, &arena) {
            Ok(DataValue::Null) => None,
            Ok(DataValue::String(s)) => Some((*s).to_owned()),
            Ok(DataValue::Bool(b)) => Some(b.to_string()),
            Ok(other) => {
                return failed(
                    ErrorCode::General,
                    format!("targeting returned {other:?}; it must name a variant"),
                );
            }
            Err(e) => return failed(ErrorCode::ParseError, format!("targeting failed: {e}")),
        };
        match chosen {
            None => done(default, Reason::Default),
            Some(name) => match flag.variants.get_key_value(name.as_str()) {
                Some((k, _)) => done(
                    Some(k.as_str()),
                    if split { Reason::Split } else { Reason::TargetingMatch },
                ),
                None => failed(
                    ErrorCode::General,
                    format!("targeting chose variant `{name}`, which the flag does not define"),
                ),
            },
        }
    }
}

fn compile_flag(def: &Value, evaluators: &Map<String, Value>, set_metadata: &Map<String, Value>) -> Flag {
    let enabled = def.get("state").and_then(Value::as_str) != Some("DISABLED");
    let variants = object(def.get("variants"));
    let default_variant = def.get("defaultVariant").and_then(Value::as_str).map(str::to_owned);
    let targeting = match def.get("targeting") {
        None | Some(Value::Null) => Targeting::None,
        Some(Value::Object(m)) if m.is_empty() => Targeting::None,
        Some(rule) => match resolve_refs(rule, evaluators, 0) {
            Err(why) => Targeting::Invalid(why),
            Ok(rule) => {
                let split = rule.as_object().is_some_and(|m| m.contains_key(FRACTIONAL));
                match ENGINE.compile(rule.to_string().as_str()) {
                    Ok(logic) => Targeting::Rule {
                        logic: Box::new(logic),
                        split,
                    },
                    Err(e) => Targeting::Invalid(format!("targeting is not valid JsonLogic: {e}")),
                }
            }
        },
    };
    Flag {
        enabled,
        variants,
        default_variant,
        targeting,
        metadata: {
            let mut merged = set_metadata.clone();
            merged.extend(object(def.get("metadata")));
            merged
        },
    }
}

/// Compiles one rule, for validation.
pub(crate) fn compile_rule(rule: &Value) -> Result<(), String> {
    ENGINE
        .compile(rule.to_string().as_str())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The name `fractional` compiles to (see [`crate::resolve_refs`]).
pub(crate) const FRACTIONAL: &str = "billpay.fractional";

/// flagd's `fractional`: MurmurHash3 (x86, 32 bits, seed 0) of the bucketing key, spread over the
/// buckets' weights as `(hash × total) >> 32`. The key is the first argument when it is a string,
/// else `$flagd.flagKey` followed by `targetingKey`. Variants may be strings or booleans (so that a
/// split can drive an `if`). Malformed input yields `null`, and the flag falls back to its default.
struct Fractional;

impl CustomOperator for Fractional {
    fn evaluate<'a>(
        &self,
        args: &[&'a DataValue<'a>],
        ctx: &mut EvalContext<'_, 'a>,
        arena: &'a Bump,
    ) -> datalogic_rs::Result<&'a DataValue<'a>> {
        let Some(first) = args.first() else {
            return Ok(arena.null());
        };
        let implicit_key = || -> Option<String> {
            let root = ctx.root_input();
            let targeting = field(root, "targetingKey")?.as_str().filter(|s| !s.is_empty())?;
            let flag = field(root, "$flagd")
                .and_then(|f| field(f, "flagKey"))
                .and_then(|v| v.as_str());
            Some(format!("{}{targeting}", flag.unwrap_or("")))
        };
        let (key, buckets) = match first {
            DataValue::String(s) => ((*s).to_owned(), &args[1..]),
            DataValue::Null => match implicit_key() {
                Some(k) => (k, &args[1..]),
                None => return Ok(arena.null()),
            },
            _ => match implicit_key() {
                Some(k) => (k, args),
                None => return Ok(arena.null()),
            },
        };
        let mut total: u64 = 0;
        let mut parsed = Vec::with_capacity(buckets.len());
        for bucket in buckets {
            let Some(items) = bucket.as_array() else {
                return Ok(arena.null());
            };
            let Some(variant) = items
                .first()
                .filter(|v| matches!(v, DataValue::String(_) | DataValue::Bool(_)))
            else {
                return Ok(arena.null());
            };
            let weight = match items.get(1) {
                None => 1,
                Some(w) => w.as_i64().unwrap_or(1).max(0) as u64,
            };
            total += weight;
            parsed.push((variant, weight));
        }
        if total == 0 {
            return Ok(arena.null());
        }
        let hash = u64::from(murmurhash3::murmurhash3_x86_32(key.as_bytes(), 0));
        let bucket = (hash * total) >> 32;
        let mut end = 0;
        for (variant, weight) in parsed {
            end += weight;
            if bucket < end {
                return Ok(variant);
            }
        }
        Ok(arena.null())
    }
}

/// flagd's `starts_with` and `ends_with`: two strings, else `null`.
struct Affix {
    prefix: bool,
}

impl CustomOperator for Affix {
    fn evaluate<'a>(
        &self,
        args: &[&'a DataValue<'a>],
        _ctx: &mut EvalContext<'_, 'a>,
        arena: &'a Bump,
    ) -> datalogic_rs::Result<&'a DataValue<'a>> {
        match args {
            [DataValue::String(s), DataValue::String(affix)] => Ok(arena.bool(if self.prefix {
                s.starts_with(affix)
            } else {
                s.ends_with(affix)
            })),
            _ => Ok(arena.null()),
        }
    }
}

fn field<'a>(v: &'a DataValue<'a>, name: &str) -> Option<&'a DataValue<'a>> {
    v.as_object()?.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
}
