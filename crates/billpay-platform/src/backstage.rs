//! Backstage entities checked offline, the way Backstage's catalog checks them when it ingests a
//! file: the `$text`/`$json`/`$yaml` placeholders are substituted, then the entity policies run
//! (default namespace, no foreign root fields, field formats, the `Entity` schema), then the
//! kind's own schema (`catalog-model`'s kinds, and the scaffolder's `Template`), then every
//! reference between the entities must resolve. `Location` entities are followed to the files
//! they point at.
//!
//! The JSON schemas in `backstage-schema/` are Backstage's own, unchanged (see its README).

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use jsonschema::{Registry, Validator};
use serde_json::Value;

const SCHEMAS: &[(&str, &str)] = &[
    ("Entity", include_str!("../backstage-schema/Entity.schema.json")),
    (
        "EntityEnvelope",
        include_str!("../backstage-schema/EntityEnvelope.schema.json"),
    ),
    ("EntityMeta", include_str!("../backstage-schema/EntityMeta.schema.json")),
    ("common", include_str!("../backstage-schema/common.schema.json")),
    (
        "ApiV1alpha1",
        include_str!("../backstage-schema/API.v1alpha1.schema.json"),
    ),
    (
        "ComponentV1alpha1",
        include_str!("../backstage-schema/Component.v1alpha1.schema.json"),
    ),
    (
        "DomainV1alpha1",
        include_str!("../backstage-schema/Domain.v1alpha1.schema.json"),
    ),
    (
        "GroupV1alpha1",
        include_str!("../backstage-schema/Group.v1alpha1.schema.json"),
    ),
    (
        "LocationV1alpha1",
        include_str!("../backstage-schema/Location.v1alpha1.schema.json"),
    ),
    (
        "ResourceV1alpha1",
        include_str!("../backstage-schema/Resource.v1alpha1.schema.json"),
    ),
    (
        "SystemV1alpha1",
        include_str!("../backstage-schema/System.v1alpha1.schema.json"),
    ),
    (
        "UserV1alpha1",
        include_str!("../backstage-schema/User.v1alpha1.schema.json"),
    ),
    (
        "TemplateV1beta3",
        include_str!("../backstage-schema/Template.v1beta3.schema.json"),
    ),
];

/// The base URI relative `$id`s resolve against.
const BASE: &str = "json-schema:///";

/// A kind's schema with the `kind` and `apiVersion`s it applies to.
struct KindSchema {
    kind: String,
    api_versions: Vec<String>,
    validator: Validator,
}

struct Schemas {
    entity: Validator,
    kinds: Vec<KindSchema>,
}

static COMPILED: LazyLock<Result<Schemas, String>> = LazyLock::new(compile);

fn compile() -> Result<Schemas, String> {
    let mut registry = Registry::new();
    let mut docs = Vec::new();
    for (id, text) in SCHEMAS {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("schema {id}: {e}"))?;
        registry = registry
            .add(format!("{BASE}{id}"), doc.clone())
            .map_err(|e| format!("schema {id}: {e}"))?;
        docs.push((*id, doc));
    }
    let registry = registry.prepare().map_err(|e| e.to_string())?;
    let build = |id: &str| {
        jsonschema::options()
            .with_registry(&registry)
            .build(&serde_json::json!({ "$ref": format!("{BASE}{id}") }))
            .map_err(|e| format!("schema {id}: {e}"))
    };
    let mut kinds = Vec::new();
    for (id, doc) in &docs {
        // A kind schema names its kind and apiVersions in the second part of its `allOf`.
        let Some(props) = doc["allOf"].get(1).and_then(|p| p.get("properties")) else {
            continue;
        };
        let strings = |v: &Value| -> Vec<String> {
            v["enum"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        let (Some(kind), api_versions) = (
            strings(&props["kind"]).into_iter().next(),
            strings(&props["apiVersion"]),
        ) else {
            continue;
        };
        kinds.push(KindSchema {
            kind,
            api_versions,
            validator: build(id)?,
        });
    }
    Ok(Schemas {
        entity: build("Entity")?,
        kinds,
    })
}

/// A problem, with the file and the entity (`Kind/name`) it is in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub file: PathBuf,
    pub entity: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file.display(), self.entity, self.message)
    }
}

/// What a validation found.
#[derive(Debug, Default)]
pub struct Report {
    /// The files read, in order (the given ones, then those Locations point to).
    pub files: Vec<PathBuf>,
    /// The valid entities, as `kind:namespace/name` references.
    pub entities: BTreeSet<String>,
    pub problems: Vec<Problem>,
}

/// `kind:namespace/name`, lower-cased as Backstage compares references.
fn stringify(kind: &str, namespace: &str, name: &str) -> String {
    format!("{}:{}/{}", kind, namespace, name).to_lowercase()
}

/// Parses a reference such as `group:payments-team`, `system:default/billpay` or `billpay`.
fn parse_ref(r: &str, default_kind: &str) -> String {
    let (kind, rest) = match r.split_once(':') {
        Some((k, rest)) => (k, rest),
        None => (default_kind, r),
    };
    let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
    stringify(kind, namespace, name)
}

fn dns_label(v: &str) -> bool {
    (1..=63).contains(&v.len())
        && v.split('-').filter(|p| !p.is_empty()).count() >= 1
        && !v.starts_with('-')
        && !v.ends_with('-')
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn dns_subdomain(v: &str) -> bool {
    (1..=253).contains(&v.len()) && v.split('.').all(dns_label)
}

fn object_name(v: &str) -> bool {
    let b = v.as_bytes();
    (1..=63).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

fn prefix_and_or_suffix(v: &str, prefix: fn(&str) -> bool, suffix: fn(&str) -> bool) -> bool {
    let parts: Vec<&str> = v.split('/').collect();
    match parts.as_slice() {
        [s] => suffix(s),
        [p, s] => prefix(p) && suffix(s),
        _ => false,
    }
}

fn api_version(v: &str) -> bool {
    prefix_and_or_suffix(v, dns_subdomain, |n| {
        (1..=63).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

fn kind_name(v: &str) -> bool {
    let b = v.as_bytes();
    (1..=63).contains(&b.len()) && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
}

fn tag(v: &str) -> bool {
    (1..=63).contains(&v.len())
        && v.split('-').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+#".contains(&b))
        })
}

/// Backstage's `FieldFormatEntityPolicy`.
fn field_formats(e: &Value) -> Result<(), String> {
    let invalid = |field: &str, value: &Value| format!("\"{field}\" is not valid; found {value}");
    let need = |field: &str, value: &Value, ok: fn(&str) -> bool| -> Result<(), String> {
        match value {
            Value::Null => Err(format!("{field} must have a value")),
            Value::String(s) if ok(s) => Ok(()),
            other => Err(invalid(field, other)),
        }
    };
    need("apiVersion", &e["apiVersion"], api_version)?;
    need("kind", &e["kind"], kind_name)?;
    need("metadata.name", &e["metadata"]["name"], object_name)?;
    if !e["metadata"]["namespace"].is_null() {
        need("metadata.namespace", &e["metadata"]["namespace"], dns_label)?;
    }
    let key = |k: &str| prefix_and_or_suffix(k, dns_subdomain, object_name);
    if let Some(labels) = e["metadata"]["labels"].as_object() {
        for (k, v) in labels {
            need(&format!("labels.{k}"), &Value::String(k.clone()), key)?;
            need(&format!("labels.{k}"), v, |v| v.is_empty() || object_name(v))?;
        }
    }
    if let Some(annotations) = e["metadata"]["annotations"].as_object() {
        for (k, v) in annotations {
            need(&format!("annotations.{k}"), &Value::String(k.clone()), key)?;
            need(&format!("annotations.{k}"), v, |_| true)?;
        }
    }
    if let Some(tags) = e["metadata"]["tags"].as_array() {
        for (i, t) in tags.iter().enumerate() {
            need(&format!("tags.{i}"), t, tag)?;
        }
    }
    if let Some(links) = e["metadata"]["links"].as_array() {
        for (i, l) in links.iter().enumerate() {
            need(&format!("links.{i}.url"), &l["url"], |u| {
                u.split_once(':')
                    .is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty())
            })?;
        }
    }
    Ok(())
}

fn schema_errors(v: &Validator, doc: &Value) -> Option<String> {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{}: {}", e.instance_path(), e))
        .collect();
    if errors.is_empty() {
        None
    } else {
        Some(errors.join("; "))
    }
}

/// Substitutes `$text`, `$json` and `$yaml` (paths relative to `file`), as Backstage does before
/// it validates.
fn placeholders(v: Value, file: &Path) -> Result<Value, String> {
    match v {
        Value::Array(a) => a
            .into_iter()
            .map(|x| placeholders(x, file))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Value::Object(o) => {
            if o.len() == 1
                && let Some((k, Value::String(target))) = o.iter().next()
                && ["$text", "$json", "$yaml"].contains(&k.as_str())
            {
                let path = file.parent().unwrap_or(Path::new(".")).join(target);
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{k} {target}: {e}"))?;
                return match k.as_str() {
                    "$text" => Ok(Value::String(text)),
                    "$json" => serde_json::from_str(&text).map_err(|e| format!("{k} {target}: {e}")),
                    _ => yaml_serde::from_str(&text).map_err(|e| format!("{k} {target}: {e}")),
                };
            }
            o.into_iter()
                .map(|(k, x)| placeholders(x, file).map(|x| (k, x)))
                .collect::<Result<_, _>>()
                .map(Value::Object)
        }
        other => Ok(other),
    }
}

/// The references an entity makes, with the kind each defaults to.
fn references(e: &Value) -> Vec<(String, &'static str)> {
    let s = &e["spec"];
    let mut out = Vec::new();
    for (field, kind) in [("owner", "group"), ("system", "system"), ("domain", "domain")] {
        if let Some(r) = s[field].as_str() {
            out.push((r.to_owned(), kind));
        }
    }
    for (field, kind) in [
        ("providesApis", "api"),
        ("consumesApis", "api"),
        ("dependsOn", "component"),
    ] {
        for r in s[field].as_array().into_iter().flatten().filter_map(Value::as_str) {
            out.push((r.to_owned(), kind));
        }
    }
    out
}

/// Validates `files` and every file their `Location`s point to.
pub fn validate(files: &[PathBuf]) -> Report {
    let mut report = Report::default();
    let schemas = match COMPILED.as_ref() {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(Problem {
                file: PathBuf::new(),
                entity: "?".into(),
                message: format!("Backstage's schemas do not load: {e}"),
            });
            return report;
        }
    };
    let mut queue: VecDeque<PathBuf> = files.iter().cloned().collect();
    let mut seen = BTreeSet::new();
    let mut valid: Vec<(PathBuf, Value)> = Vec::new();
    while let Some(file) = queue.pop_front() {
        let key = std::path::absolute(&file).unwrap_or_else(|_| file.clone());
        if !seen.insert(key.components().collect::<PathBuf>()) {
            continue;
        }
        report.files.push(file.clone());
        let problem = |entity: &str, message: String| Problem {
            file: file.clone(),
            entity: entity.to_owned(),
            message,
        };
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                report.problems.push(problem("?/?", format!("cannot read it: {e}")));
                continue;
            }
        };
        for doc in yaml_serde::Deserializer::from_str(&text) {
            let raw: Value = match serde::Deserialize::deserialize(doc) {
                Ok(Value::Null) => continue,
                Ok(v) => v,
                Err(e) => {
                    report.problems.push(problem("?/?", format!("not YAML: {e}")));
                    continue;
                }
            };
            let label = format!(
                "{}/{}",
                raw["kind"].as_str().unwrap_or("?"),
                raw["metadata"]["name"].as_str().unwrap_or("?")
            );
            let mut e = match placeholders(raw, &file) {
                Ok(e) => e,
                Err(m) => {
                    report.problems.push(problem(&label, format!("placeholder: {m}")));
                    continue;
                }
            };
            if let Some(meta) = e.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.entry("namespace")
                    .or_insert_with(|| Value::String("default".into()));
            }
            let checked = (|| {
                let obj = e.as_object().ok_or("an entity must be a mapping")?;
                if let Some(k) = obj
                    .keys()
                    .find(|k| !["apiVersion", "kind", "metadata", "spec", "relations", "status"].contains(&k.as_str()))
                {
                    return Err(format!("Unknown field {k}"));
                }
                field_formats(&e)?;
                if let Some(m) = schema_errors(&schemas.entity, &e) {
                    return Err(m);
                }
                let kind = e["kind"].as_str().unwrap_or_default();
                let api = e["apiVersion"].as_str().unwrap_or_default();
                let schema = schemas
                    .kinds
                    .iter()
                    .find(|k| k.kind == kind && k.api_versions.iter().any(|a| a == api))
                    .ok_or_else(|| format!("unknown kind {kind} (apiVersion {api})"))?;
                match schema_errors(&schema.validator, &e) {
                    Some(m) => Err(m),
                    None => Ok(()),
                }
            })();
            match checked {
                Err(m) => report.problems.push(problem(&label, m)),
                Ok(()) => {
                    if e["kind"] == "Location" {
                        let spec = &e["spec"];
                        let targets = spec["targets"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .chain(std::iter::once(&spec["target"]))
                            .filter_map(Value::as_str);
                        for t in targets.filter(|t| !t.contains("://")) {
                            queue.push_back(file.parent().unwrap_or(Path::new(".")).join(t.trim_start_matches("./")));
                        }
                    }
                    valid.push((file.clone(), e));
                }
            }
        }
    }
    for (_, e) in &valid {
        let m = &e["metadata"];
        report.entities.insert(stringify(
            e["kind"].as_str().unwrap_or_default(),
            m["namespace"].as_str().unwrap_or("default"),
            m["name"].as_str().unwrap_or_default(),
        ));
    }
    for (file, e) in &valid {
        for (r, kind) in references(e) {
            if !report.entities.contains(&parse_ref(&r, kind)) {
                report.problems.push(Problem {
                    file: file.clone(),
                    entity: format!(
                        "{}/{}",
                        e["kind"].as_str().unwrap_or("?"),
                        e["metadata"]["name"].as_str().unwrap_or("?")
                    ),
                    message: format!("reference {r} does not resolve"),
                });
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_backstage() {
        assert!(
            object_name("billpay-backend") && object_name("A.b_c") && !object_name("Not A Name") && !object_name("-x")
        );
        assert!(api_version("backstage.io/v1alpha1") && api_version("v1") && !api_version("a/b/c"));
        assert!(tag("rust") && tag("c++") && !tag("Rust") && !tag("a--b"));
        assert!(dns_label("default") && !dns_label("Default") && !dns_label("-a"));
        assert_eq!(parse_ref("group:payments-team", "group"), "group:default/payments-team");
        assert_eq!(parse_ref("billpay", "system"), "system:default/billpay");
    }

    #[test]
    fn the_schemas_compile_and_cover_every_kind() {
        let s = COMPILED.as_ref().expect("schemas");
        let kinds: BTreeSet<&str> = s.kinds.iter().map(|k| k.kind.as_str()).collect();
        for k in [
            "API",
            "Component",
            "Domain",
            "Group",
            "Location",
            "Resource",
            "System",
            "User",
            "Template",
        ] {
            assert!(kinds.contains(k), "{k} missing from {kinds:?}");
        }
    }
}
