//! Provider schemas: every resource type, data source and provider configuration of the providers
//! the modules use, with their arguments (required or optional), nested blocks and computed
//! attributes.
//!
//! They come from the prebuilt CDKTF bindings published on PyPI (`cdktf-cdktf-provider-aws`,
//! `cdktf-cdktf-provider-helm`): each wheel holds a `.jsii` assembly that describes every resource
//! of the provider version it was generated from. [`from_jsii`] reads one into the compact form
//! kept in `crates/billpay-platform/schemas/`; `billpayctl infra import-schema` writes it, and a
//! test regenerates it from the pinned wheel and compares. The check in [`crate::tfcheck`] reads
//! the compact form, embedded in the binary, so it runs offline anywhere.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One provider's schema, as pinned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProviderSchema {
    /// The registry source, e.g. `hashicorp/aws`.
    pub source: String,
    /// The provider version the bindings were generated from.
    pub version: String,
    /// Where the schema came from, e.g. `cdktf-cdktf-provider-aws==21.22.1`.
    pub from: String,
    pub provider: Block,
    pub resources: BTreeMap<String, Block>,
    pub data_sources: BTreeMap<String, Block>,
}

/// A block's body: its attributes and nested blocks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Block {
    #[serde(rename = "a", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Attribute>,
    #[serde(rename = "b", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub blocks: BTreeMap<String, NestedBlock>,
}

/// An attribute: set with `name = value`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attribute {
    /// Must be set.
    #[serde(rename = "r", default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// Computed by the provider: it can be read, never set.
    #[serde(rename = "c", default, skip_serializing_if = "is_false")]
    pub computed: bool,
    /// An object (or a list of objects) with these attributes of its own.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub nested: Option<Box<Block>>,
    /// A map whose values are such objects: its keys are names of the caller's choosing.
    #[serde(rename = "m", default, skip_serializing_if = "is_false")]
    pub map: bool,
    /// A list of objects that may also be written as repeated blocks (Terraform's "attributes as
    /// blocks", e.g. a security group's `ingress`).
    #[serde(rename = "k", default, skip_serializing_if = "is_false")]
    pub as_blocks: bool,
}

/// The attributes that the AWS provider's SDKv2 schema declares with `ConfigMode: SchemaConfigModeAttr`:
/// lists of objects that may be written either as `name = [{ … }]` or as repeated `name { … }`
/// blocks. The bindings model them as attributes; this list restores the block form.
const ATTRIBUTES_AS_BLOCKS: [(&str, &str); 10] = [
    ("aws_security_group", "ingress"),
    ("aws_security_group", "egress"),
    ("aws_default_security_group", "ingress"),
    ("aws_default_security_group", "egress"),
    ("aws_network_acl", "ingress"),
    ("aws_network_acl", "egress"),
    ("aws_default_network_acl", "ingress"),
    ("aws_default_network_acl", "egress"),
    ("aws_route_table", "route"),
    ("aws_default_route_table", "route"),
];

/// A nested block: written `name { … }`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NestedBlock {
    /// At least one must be written.
    #[serde(rename = "r", default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// At most one may be written.
    #[serde(rename = "1", default, skip_serializing_if = "is_false")]
    pub single: bool,
    #[serde(flatten)]
    pub body: Block,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Block {
    /// Whether `name` can be read from this block: an argument, a computed attribute or a block.
    pub fn readable(&self, name: &str) -> bool {
        self.attributes.contains_key(name) || self.blocks.contains_key(name)
    }

    /// What can be read under `name`, when it has parts of its own.
    pub fn child(&self, name: &str) -> Option<&Block> {
        self.blocks
            .get(name)
            .map(|b| &b.body)
            .or_else(|| self.attributes.get(name).and_then(|a| a.nested.as_deref()))
    }
}

/// The schemas BillPay's modules are checked against, built into the binary.
pub fn pinned() -> &'static [ProviderSchema] {
    static PINNED: OnceLock<Vec<ProviderSchema>> = OnceLock::new();
    PINNED.get_or_init(|| {
        [
            include_str!("../schemas/hashicorp-aws.json"),
            include_str!("../schemas/hashicorp-helm.json"),
        ]
        .iter()
        .filter_map(|s| serde_json::from_str(s).ok())
        .collect()
    })
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("the jsii assembly is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the jsii assembly has no provider class (is it a CDKTF provider binding?)")]
    NoProvider,
}

#[derive(Deserialize)]
struct Assembly {
    /// The binding's own version (e.g. 21.22.1), which names the wheel.
    version: String,
    types: HashMap<String, JsiiType>,
}

#[derive(Deserialize)]
struct JsiiType {
    #[serde(default)]
    base: Option<String>,
    #[serde(default)]
    docs: Docs,
    #[serde(default)]
    properties: Vec<Property>,
    #[serde(default)]
    methods: Vec<Method>,
}

#[derive(Deserialize, Default)]
struct Docs {
    #[serde(default)]
    summary: String,
    #[serde(default)]
    remarks: String,
}

#[derive(Deserialize)]
struct Property {
    name: String,
    #[serde(default)]
    optional: bool,
    #[serde(default, rename = "static")]
    is_static: bool,
    #[serde(rename = "type")]
    kind: Value,
    #[serde(default)]
    docs: Docs,
}

#[derive(Deserialize)]
struct Method {
    name: String,
    #[serde(default)]
    returns: Option<Value>,
}

/// The Terraform name in a property's registry link: `{@link https://…#bucket_prefix S3Bucket#bucket_prefix}`.
fn tf_name(docs: &Docs) -> Option<String> {
    let text = if docs.summary.contains("{@link") {
        &docs.summary
    } else {
        &docs.remarks
    };
    let link = text.split("{@link ").nth(1)?;
    let url = link.split_whitespace().next()?;
    Some(url.rsplit_once('#')?.1.to_owned())
}

/// cdktf's camelCase back to Terraform's snake_case, for computed attributes (which carry no link).
fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The struct (data type) a property's type names, directly or as the element of a list.
fn struct_of(kind: &Value) -> Option<&str> {
    if let Some(fqn) = kind["fqn"].as_str() {
        return (!fqn.starts_with("cdktf.")).then_some(fqn);
    }
    if let Some(el) = kind.get("collection").map(|c| &c["elementtype"]) {
        return struct_of(el);
    }
    kind["union"]["types"].as_array()?.iter().find_map(struct_of)
}

fn is_map(kind: &Value) -> bool {
    kind["collection"]["kind"] == "map" || kind["union"]["types"].as_array().is_some_and(|t| t.iter().any(is_map))
}

fn is_single(kind: &Value) -> bool {
    kind["fqn"].as_str().is_some_and(|f| !f.starts_with("cdktf."))
}

struct Reader<'a> {
    types: &'a HashMap<String, JsiiType>,
}

impl Reader<'_> {
    /// A block from its config struct (what can be set) and, when it exists, the class that
    /// reads it back (what is computed).
    fn block(&self, config: &str, output: Option<&str>, depth: usize) -> Block {
        let mut b = Block::default();
        let mut settable = std::collections::HashSet::new();
        if let Some(t) = self.types.get(config) {
            for p in &t.properties {
                settable.insert(p.name.clone());
                let Some(name) = tf_name(&p.docs) else { continue };
                let nested = struct_of(&p.kind).filter(|_| depth < 8);
                if p.docs.summary.ends_with(" block.") {
                    let body = nested
                        .map(|n| self.block(n, Some(&format!("{n}OutputReference")), depth + 1))
                        .unwrap_or_default();
                    b.blocks.insert(
                        name,
                        NestedBlock {
                            required: !p.optional,
                            single: is_single(&p.kind),
                            body,
                        },
                    );
                } else {
                    let nested =
                        nested.map(|n| Box::new(self.block(n, Some(&format!("{n}OutputReference")), depth + 1)));
                    b.attributes.insert(
                        name,
                        Attribute {
                            required: !p.optional,
                            computed: false,
                            map: nested.is_some() && is_map(&p.kind),
                            as_blocks: false,
                            nested,
                        },
                    );
                }
            }
        }
        if let Some(t) = output.and_then(|o| self.types.get(o)) {
            for p in &t.properties {
                if p.is_static
                    || p.name.ends_with("Input")
                    || p.name == "internalValue"
                    || p.name == "fqn"
                    || p.name == "creationStack"
                    || settable.contains(&p.name)
                {
                    continue;
                }
                let name = snake(&p.name);
                if b.readable(&name) {
                    continue;
                }
                let nested = (depth < 8)
                    .then(|| self.read_back(&p.kind))
                    .flatten()
                    .map(|o| Box::new(self.block("", Some(o), depth + 1)));
                b.attributes.insert(
                    name,
                    Attribute {
                        required: false,
                        computed: true,
                        map: false,
                        as_blocks: false,
                        nested,
                    },
                );
            }
        }
        b
    }

    /// The class that reads back a computed object, or each element of a computed list or map.
    fn read_back<'k>(&'k self, kind: &'k Value) -> Option<&'k str> {
        let fqn = kind["fqn"].as_str().filter(|f| !f.starts_with("cdktf."))?;
        let t = self.types.get(fqn)?;
        if fqn.ends_with("OutputReference") {
            return Some(fqn);
        }
        t.methods
            .iter()
            .find(|m| m.name == "get")
            .and_then(|m| m.returns.as_ref())
            .and_then(|r| r["type"]["fqn"].as_str())
            .filter(|f| !f.starts_with("cdktf."))
    }
}

/// Reads a CDKTF provider binding's `.jsii` assembly into a schema. `package` is the PyPI name of
/// the wheel it came from (e.g. `cdktf-cdktf-provider-aws`); the schema records it with the
/// assembly's version.
pub fn from_jsii(jsii: &[u8], package: &str) -> Result<ProviderSchema, SchemaError> {
    let assembly: Assembly = serde_json::from_slice(jsii)?;
    let from = format!("{package}=={}", assembly.version);
    let reader = Reader { types: &assembly.types };
    let mut out = ProviderSchema {
        source: String::new(),
        version: String::new(),
        from,
        provider: Block::default(),
        resources: BTreeMap::new(),
        data_sources: BTreeMap::new(),
    };
    let mut fqns: Vec<&String> = assembly.types.keys().collect();
    fqns.sort();
    for fqn in fqns {
        let t = &assembly.types[fqn];
        let Some(base) = t.base.as_deref() else { continue };
        // "Represents a {@link https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/s3_bucket aws_s3_bucket}."
        let Some(link) = t.docs.summary.split("{@link ").nth(1) else {
            continue;
        };
        let mut words = link.trim_end_matches(['}', '.']).split_whitespace();
        let (Some(url), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        let name = name.trim_end_matches('}').to_owned();
        let config = format!("{fqn}Config");
        match base {
            "cdktf.TerraformProvider" => {
                // https://registry.terraform.io/providers/<namespace>/<name>/<version>/docs
                let parts: Vec<&str> = url.split('/').collect();
                if let Some(i) = parts.iter().position(|p| *p == "providers") {
                    out.source = format!(
                        "{}/{}",
                        parts.get(i + 1).unwrap_or(&""),
                        parts.get(i + 2).unwrap_or(&"")
                    );
                    out.version = parts.get(i + 3).unwrap_or(&"").to_string();
                }
                out.provider = reader.block(&config, None, 0);
            }
            "cdktf.TerraformResource" => {
                let mut block = reader.block(&config, Some(fqn), 0);
                for (resource, attribute) in &ATTRIBUTES_AS_BLOCKS {
                    if *resource == name
                        && let Some(a) = block.attributes.get_mut(*attribute)
                    {
                        a.as_blocks = true;
                    }
                }
                out.resources.insert(name, block);
            }
            "cdktf.TerraformDataSource" => {
                out.data_sources.insert(name, reader.block(&config, Some(fqn), 0));
            }
            _ => {}
        }
    }
    if out.source.is_empty() {
        return Err(SchemaError::NoProvider);
    }
    Ok(out)
}

/// The compact JSON a schema is kept in: one resource a line, so a provider upgrade diffs by resource.
pub fn to_compact_json(s: &ProviderSchema) -> Result<String, SchemaError> {
    let mut out = format!(
        "{{\n\"source\": {},\n\"version\": {},\n\"from\": {},\n\"provider\": {},\n",
        j(&s.source)?,
        j(&s.version)?,
        j(&s.from)?,
        j(&s.provider)?
    );
    for (key, map, end) in [
        ("resources", &s.resources, ",\n"),
        ("data_sources", &s.data_sources, "\n"),
    ] {
        let mut items = Vec::with_capacity(map.len());
        for (name, b) in map {
            items.push(format!("{}: {}", j(name)?, j(b)?));
        }
        out.push_str(&format!("\"{key}\": {{\n{}\n}}{end}", items.join(",\n")));
    }
    out.push_str("}\n");
    Ok(out)
}

fn j<T: Serialize>(v: &T) -> Result<String, serde_json::Error> {
    serde_json::to_string(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_undoes_cdktf_camel_case() {
        assert_eq!(snake("bucketDomainName"), "bucket_domain_name");
        assert_eq!(snake("ipv6CidrBlock"), "ipv6_cidr_block");
        assert_eq!(snake("arn"), "arn");
    }

    #[test]
    fn the_pinned_schemas_load_and_know_the_common_resources() {
        let p = pinned();
        assert_eq!(p.len(), 2);
        let aws = &p[0];
        assert_eq!(aws.source, "hashicorp/aws");
        assert!(aws.version.starts_with("6."), "{}", aws.version);
        let bucket = &aws.resources["aws_s3_bucket"];
        assert!(bucket.attributes["arn"].computed);
        assert!(!bucket.attributes["bucket"].required);
        let db = &aws.resources["aws_db_instance"];
        assert!(db.attributes["instance_class"].required);
        assert!(
            db.child("master_user_secret")
                .is_some_and(|b| b.attributes.contains_key("secret_arn"))
        );
        let cf = &aws.resources["aws_cloudfront_distribution"];
        assert!(cf.blocks["origin"].required);
        assert!(cf.blocks["default_cache_behavior"].single);
        let helm = &p[1];
        assert_eq!(helm.source, "hashicorp/helm");
        // Helm 3 made `kubernetes` an attribute (an object), no longer a block.
        assert!(helm.provider.attributes.contains_key("kubernetes"));
        assert!(helm.resources["helm_release"].attributes.contains_key("set"));
    }
}
