//! What OpenTofu and Terragrunt would reject in `infra/`, found offline.
//!
//! - **Modules** (every folder of `.tf` files, examples included): each `resource`, `data` and
//!   `provider` block against the pinned provider schema ([`crate::schema`]): unknown arguments
//!   and blocks, missing required ones, computed attributes set by hand, a block written as an
//!   attribute or the reverse, and references to attributes the resource does not have. `var.`,
//!   `local.`, `module.` and resource references must name something declared; calls to local
//!   modules must pass only their variables and every required one.
//! - **Terragrunt units** (`terragrunt.hcl` under `infra/live` and `infra/bootstrap`): the
//!   `terraform.source` must copy everything its module reaches (Terragrunt copies only the folder
//!   before `//`), each `dependency.X.outputs.Y` and each `mock_outputs` key must be an output of
//!   X's module, inputs must be the module's variables, and native S3 locking needs OpenTofu 1.10.
//!
//! Registry modules (terraform-aws-modules) are not fetched, so their inputs are listed as
//! unchecked rather than passed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Component, Path, PathBuf};

use hcl::expr::{Expression, ObjectKey, TemplateExpr, TraversalOperator};
use hcl::template::{Directive, Element, Template};
use hcl::{Block as HclBlock, Body};
use serde::Serialize;

use crate::schema::{self, Block, ProviderSchema};

/// What kind of fault a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The file is not valid HCL.
    Parse,
    /// A resource or data source type the provider does not have.
    UnknownType,
    /// An argument the resource, block or module does not take.
    UnknownArgument,
    /// A required argument or block that is not there.
    MissingArgument,
    /// A nested block the resource does not have.
    UnknownBlock,
    /// `name = …` where the schema has a block `name { … }`.
    BlockWrittenAsAttribute,
    /// `name { … }` where the schema has an attribute `name = …`.
    AttributeWrittenAsBlock,
    /// An attribute only the provider sets.
    ComputedArgument,
    /// A reference to an attribute the resource does not export.
    UnknownAttribute,
    /// A reference to a variable, local, module, resource or data source that is not declared.
    UndeclaredReference,
    /// A unit's source that does not copy what its module needs, or cannot be found.
    UnitSource,
    /// A `dependency.X.outputs.Y` that X's module does not output.
    DependencyOutput,
    /// A `mock_outputs` key that X's module does not output.
    MockOutput,
    /// A unit input that is not a variable of its module, or a required variable with no input.
    UnitInput,
    /// A version constraint that lets in a tool version that cannot run the configuration.
    Version,
}

/// One problem, with the file and the address of what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    pub file: String,
    pub address: String,
    pub kind: Kind,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.address, self.message)
    }
}

/// What a check found, and how much it looked at.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub problems: Vec<Problem>,
    /// Folders of `.tf` files checked.
    pub modules: usize,
    /// Terragrunt units checked.
    pub units: usize,
    /// `resource`, `data` and `provider` blocks checked against a schema.
    pub blocks: usize,
    /// What could not be checked offline, and why.
    pub unchecked: Vec<String>,
    /// The provider schemas used, as `source version (from)`.
    pub schemas: Vec<String>,
}

const RESOURCE_META: [&str; 5] = ["count", "for_each", "depends_on", "provider", "lifecycle"];
const MODULE_META: [&str; 6] = ["source", "version", "count", "for_each", "depends_on", "providers"];

/// A module: the `.tf` files of one folder, parsed, and what they declare.
#[derive(Default)]
struct Module {
    files: Vec<(String, Body)>,
    /// Variable name → required (no default).
    variables: BTreeMap<String, bool>,
    outputs: BTreeSet<String>,
    locals: BTreeSet<String>,
    resources: BTreeSet<(String, String)>,
    data: BTreeSet<(String, String)>,
    /// Module call name → source.
    calls: BTreeMap<String, String>,
    /// Provider local name → source.
    providers: BTreeMap<String, String>,
    required_version: Option<String>,
}

fn label(b: &HclBlock, i: usize) -> &str {
    b.labels.get(i).map_or("", |l| l.as_str())
}

fn string(e: &Expression) -> Option<&str> {
    match e {
        Expression::String(s) => Some(s),
        Expression::TemplateExpr(t) => match t.as_ref() {
            TemplateExpr::QuotedString(s) if !s.contains("${") => Some(s),
            _ => None,
        },
        _ => None,
    }
}

fn attr<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes().find(|a| a.key.as_str() == key).map(|a| &a.expr)
}

fn object_key(k: &ObjectKey) -> Option<String> {
    match k {
        ObjectKey::Identifier(i) => Some(i.as_str().to_owned()),
        ObjectKey::Expression(e) => string(e).map(str::to_owned),
        _ => None,
    }
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn is_local_source(s: &str) -> bool {
    s.starts_with("./") || s.starts_with("../")
}

/// A reference: `root.a[0].b` as its root and steps (`None` for an index or splat).
struct Ref {
    root: String,
    steps: Vec<Option<String>>,
}

impl Ref {
    fn names(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().filter_map(|s| s.as_deref())
    }
    fn text(&self, n: usize) -> String {
        std::iter::once(self.root.as_str())
            .chain(self.names().take(n))
            .collect::<Vec<_>>()
            .join(".")
    }
}

fn refs_in_template(t: &Template, out: &mut Vec<Ref>) {
    for el in t.elements() {
        match el {
            Element::Literal(_) => {}
            Element::Interpolation(i) => refs(&i.expr, out),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(d) => {
                    refs(&d.cond_expr, out);
                    refs_in_template(&d.true_template, out);
                    if let Some(f) = &d.false_template {
                        refs_in_template(f, out);
                    }
                }
                Directive::For(d) => {
                    refs(&d.collection_expr, out);
                    refs_in_template(&d.template, out);
                }
            },
        }
    }
}

/// Every reference in an expression.
fn refs(e: &Expression, out: &mut Vec<Ref>) {
    match e {
        Expression::Array(items) => items.iter().for_each(|i| refs(i, out)),
        Expression::Object(map) => {
            for (k, v) in map {
                if let ObjectKey::Expression(k) = k {
                    refs(k, out);
                }
                refs(v, out);
            }
        }
        Expression::TemplateExpr(t) => {
            if let Ok(t) = Template::from_expr(t) {
                refs_in_template(&t, out);
            }
        }
        Expression::Variable(v) => out.push(Ref {
            root: v.as_str().to_owned(),
            steps: vec![],
        }),
        Expression::Traversal(t) => {
            let mut steps = Vec::new();
            for op in &t.operators {
                match op {
                    TraversalOperator::GetAttr(i) => steps.push(Some(i.as_str().to_owned())),
                    TraversalOperator::Index(ix) => {
                        refs(ix, out);
                        steps.push(None);
                    }
                    _ => steps.push(None),
                }
            }
            match &t.expr {
                Expression::Variable(v) => out.push(Ref {
                    root: v.as_str().to_owned(),
                    steps,
                }),
                other => refs(other, out),
            }
        }
        Expression::FuncCall(f) => f.args.iter().for_each(|a| refs(a, out)),
        Expression::Parenthesis(p) => refs(p, out),
        Expression::Conditional(c) => {
            refs(&c.cond_expr, out);
            refs(&c.true_expr, out);
            refs(&c.false_expr, out);
        }
        Expression::Operation(op) => match op.as_ref() {
            hcl::expr::Operation::Unary(u) => refs(&u.expr, out),
            hcl::expr::Operation::Binary(b) => {
                refs(&b.lhs_expr, out);
                refs(&b.rhs_expr, out);
            }
        },
        Expression::ForExpr(f) => {
            refs(&f.collection_expr, out);
            if let Some(k) = &f.key_expr {
                refs(k, out);
            }
            refs(&f.value_expr, out);
            if let Some(c) = &f.cond_expr {
                refs(c, out);
            }
        }
        _ => {}
    }
}

fn body_refs(body: &Body, out: &mut Vec<Ref>) {
    for a in body.attributes() {
        refs(&a.expr, out);
    }
    for b in body.blocks() {
        body_refs(&b.body, out);
    }
}

fn tf_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "tf"))
        .collect();
    files.sort();
    files
}

struct Checker<'r> {
    root: &'r Path,
    modules: HashMap<PathBuf, Option<Module>>,
    report: Report,
}

impl Checker<'_> {
    fn problem(&mut self, file: &str, address: &str, kind: Kind, message: String) {
        self.report.problems.push(Problem {
            file: file.to_owned(),
            address: address.to_owned(),
            kind,
            message,
        });
    }

    /// Parses a module folder once; `None` when it has no `.tf` file.
    fn load(&mut self, dir: &Path) -> Option<&Module> {
        let dir = normalize(dir);
        if !self.modules.contains_key(&dir) {
            let files = tf_files(&dir);
            let module = if files.is_empty() {
                None
            } else {
                let mut m = Module::default();
                for f in files {
                    let name = rel(self.root, &f);
                    let text = match std::fs::read_to_string(&f) {
                        Ok(t) => t,
                        Err(e) => {
                            self.problem(&name, "file", Kind::Parse, format!("cannot be read: {e}"));
                            continue;
                        }
                    };
                    match hcl::parse(&text) {
                        Ok(body) => {
                            declare(&mut m, &body);
                            m.files.push((name, body));
                        }
                        Err(e) => self.problem(&name, "file", Kind::Parse, format!("is not valid HCL: {e}")),
                    }
                }
                Some(m)
            };
            self.modules.insert(dir.clone(), module);
        }
        self.modules.get(&dir).and_then(Option::as_ref)
    }

    fn schema_for(m: &Module, type_name: &str) -> Option<&'static ProviderSchema> {
        let local = type_name.split('_').next().unwrap_or_default();
        let source = m
            .providers
            .get(local)
            .cloned()
            .unwrap_or_else(|| format!("hashicorp/{local}"));
        let source = source.strip_prefix("registry.opentofu.org/").unwrap_or(&source);
        let source = source.strip_prefix("registry.terraform.io/").unwrap_or(source);
        schema::pinned().iter().find(|p| p.source == source)
    }

    /// Checks one module folder.
    fn check_module(&mut self, dir: &Path) {
        let dir = normalize(dir);
        if self.load(&dir).is_none() {
            return;
        }
        self.report.modules += 1;
        let Some(Some(m)) = self.modules.remove(&dir) else {
            return;
        };
        let mut problems = Vec::new();
        let mut unchecked = Vec::new();
        let mut blocks = 0;
        for (file, body) in &m.files {
            // The pinned schema must be of a version the module's constraint admits, or the check
            // would hold the module to another provider's rules.
            for rp in body
                .blocks()
                .filter(|b| b.identifier.as_str() == "terraform")
                .flat_map(|t| {
                    t.body
                        .blocks()
                        .filter(|b| b.identifier.as_str() == "required_providers")
                })
            {
                for a in rp.body.attributes() {
                    let Expression::Object(o) = &a.expr else { continue };
                    let field = |name: &str| {
                        o.iter()
                            .find(|(k, _)| object_key(k).as_deref() == Some(name))
                            .and_then(|(_, v)| string(v))
                    };
                    let Some(constraint) = field("version") else { continue };
                    let local = a.key.as_str();
                    let Some(pinned) = Self::schema_for(&m, local) else {
                        continue;
                    };
                    if !admits(constraint, &pinned.version) {
                        problems.push(problem(
                            file,
                            &format!("terraform.required_providers.{local}"),
                            Kind::Version,
                            format!(
                                "`{constraint}` does not admit {} {}, the schema this check holds the module to: pin the matching CDKTF wheel (docs/infrastructure.md)",
                                pinned.source, pinned.version
                            ),
                        ));
                    }
                }
            }
            for b in body.blocks() {
                let (name, address) = match b.identifier.as_str() {
                    "resource" => (label(b, 0), format!("{}.{}", label(b, 0), label(b, 1))),
                    "data" => (label(b, 0), format!("data.{}.{}", label(b, 0), label(b, 1))),
                    "provider" => (label(b, 0), format!("provider.{}", label(b, 0))),
                    _ => continue,
                };
                let Some(schema) = Self::schema_for(&m, name) else {
                    unchecked.push(format!("{file}: {address}: no pinned schema for its provider"));
                    continue;
                };
                let kind = match b.identifier.as_str() {
                    "resource" => schema.resources.get(name),
                    "data" => schema.data_sources.get(name),
                    _ => Some(&schema.provider),
                };
                blocks += 1;
                let Some(s) = kind else {
                    problems.push(problem(
                        file,
                        &address,
                        Kind::UnknownType,
                        format!(
                            "{} {} has no {} `{}`",
                            schema.source,
                            schema.version,
                            if b.identifier.as_str() == "data" {
                                "data source"
                            } else {
                                "resource type"
                            },
                            label(b, 0)
                        ),
                    ));
                    continue;
                };
                check_body(
                    &b.body,
                    s,
                    &address,
                    file,
                    b.identifier.as_str() != "provider",
                    &mut problems,
                );
            }
            let mut found = Vec::new();
            body_refs(body, &mut found);
            for r in &found {
                self.check_ref(&m, &dir, file, r, &mut problems);
            }
        }
        // Calls to local modules: only their variables, and every required one.
        for (file, body) in &m.files {
            for b in body.blocks().filter(|b| b.identifier.as_str() == "module") {
                let name = label(b, 0);
                let source = attr(&b.body, "source").and_then(string).unwrap_or_default().to_owned();
                if !is_local_source(&source) {
                    unchecked.push(format!(
                        "{file}: module.{name}: `{source}` is a registry module; its inputs are checked by `tofu validate` after `tofu init`, not offline"
                    ));
                    continue;
                }
                let target = dir.join(&source);
                let Some(callee) = self.load(&target) else {
                    problems.push(problem(
                        file,
                        &format!("module.{name}"),
                        Kind::UndeclaredReference,
                        format!(
                            "source `{source}` has no .tf files ({})",
                            rel(self.root, &normalize(&target))
                        ),
                    ));
                    continue;
                };
                let given: BTreeSet<&str> = b.body.attributes().map(|a| a.key.as_str()).collect();
                for k in &given {
                    if !MODULE_META.contains(k) && !callee.variables.contains_key(*k) {
                        problems.push(problem(
                            file,
                            &format!("module.{name}"),
                            Kind::UnknownArgument,
                            format!("module `{source}` has no variable `{k}`"),
                        ));
                    }
                }
                for (v, required) in &callee.variables {
                    if *required && !given.contains(v.as_str()) {
                        problems.push(problem(
                            file,
                            &format!("module.{name}"),
                            Kind::MissingArgument,
                            format!("module `{source}` requires variable `{v}`"),
                        ));
                    }
                }
            }
        }
        self.report.blocks += blocks;
        self.report.problems.extend(problems);
        self.report.unchecked.extend(unchecked);
        self.modules.insert(dir, Some(m));
    }

    fn check_ref(&mut self, m: &Module, dir: &Path, file: &str, r: &Ref, out: &mut Vec<Problem>) {
        let names: Vec<&str> = r.names().collect();
        let first = names.first().copied().unwrap_or_default();
        let undeclared = |what: String| problem(file, &r.text(2), Kind::UndeclaredReference, what);
        match r.root.as_str() {
            "var" if !first.is_empty() && !m.variables.contains_key(first) => {
                out.push(undeclared(format!("no variable `{first}` is declared in this module")));
            }
            "local" if !first.is_empty() && !m.locals.contains(first) => {
                out.push(undeclared(format!("no local `{first}` is defined in this module")));
            }
            "module" if !first.is_empty() => {
                let Some(source) = m.calls.get(first) else {
                    out.push(undeclared(format!("no module `{first}` is called in this module")));
                    return;
                };
                let Some(output) = names.get(1) else { return };
                if !is_local_source(source) {
                    return;
                }
                let source = source.clone();
                if let Some(callee) = self.load(&dir.join(&source))
                    && !callee.outputs.contains(*output)
                {
                    out.push(problem(
                        file,
                        &r.text(2),
                        Kind::UnknownAttribute,
                        format!("module `{source}` has no output `{output}`"),
                    ));
                }
            }
            "data" if names.len() >= 2 => {
                let (t, n) = (names[0], names[1]);
                if !m.data.contains(&(t.to_owned(), n.to_owned())) {
                    out.push(problem(
                        file,
                        &r.text(3),
                        Kind::UndeclaredReference,
                        format!("no `data \"{t}\" \"{n}\"` block in this module"),
                    ));
                    return;
                }
                if let Some(s) = Self::schema_for(m, t).and_then(|p| p.data_sources.get(t)) {
                    check_path(s, &r.steps[2.min(r.steps.len())..], &format!("data.{t}.{n}"), file, out);
                }
            }
            t if !first.is_empty() && (m.resources.iter().any(|(rt, _)| rt == t) || is_resource_type(m, t)) => {
                if !m.resources.contains(&(t.to_owned(), first.to_owned())) {
                    out.push(undeclared(format!(
                        "no `resource \"{t}\" \"{first}\"` block in this module"
                    )));
                    return;
                }
                if let Some(s) = Self::schema_for(m, t).and_then(|p| p.resources.get(t)) {
                    check_path(s, &r.steps[1.min(r.steps.len())..], &format!("{t}.{first}"), file, out);
                }
            }
            _ => {}
        }
    }

    /// Checks one Terragrunt unit.
    fn check_unit(&mut self, path: &Path, lockfile: Option<(&str, bool)>) {
        self.report.units += 1;
        let file = rel(self.root, path);
        let unit_dir = path.parent().unwrap_or(self.root).to_owned();
        let body = match std::fs::read_to_string(path).map(|t| hcl::parse(&t)) {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => return self.problem(&file, "unit", Kind::Parse, format!("is not valid HCL: {e}")),
            Err(e) => return self.problem(&file, "unit", Kind::Parse, format!("cannot be read: {e}")),
        };
        let Some((copied, module_dir)) = self.unit_source(&body, &unit_dir, &file) else {
            return;
        };
        let module_rel = rel(self.root, &module_dir);
        if self.load(&module_dir).is_none() {
            return self.problem(
                &file,
                "terraform.source",
                Kind::UnitSource,
                format!("{module_rel} has no .tf files"),
            );
        }
        // Everything the module reaches through local sources must be inside the copied folder.
        let mut seen = BTreeSet::new();
        let mut todo = vec![module_dir.clone()];
        while let Some(d) = todo.pop() {
            if !seen.insert(d.clone()) {
                continue;
            }
            let calls: Vec<String> = self
                .load(&d)
                .map(|m| m.calls.values().filter(|s| is_local_source(s)).cloned().collect())
                .unwrap_or_default();
            for source in calls {
                let target = normalize(&d.join(&source));
                if !target.starts_with(&copied) {
                    let fix = format!(
                        "{}//{}",
                        rel(self.root, &normalize(&copied.join(".."))),
                        module_dir
                            .strip_prefix(copied.parent().unwrap_or(&copied))
                            .unwrap_or(&module_dir)
                            .display()
                    );
                    self.problem(
                        &file,
                        "terraform.source",
                        Kind::UnitSource,
                        format!(
                            "{} calls `{source}` ({}), but Terragrunt copies only {} into its cache, so `tofu init` fails with \"Unreadable module directory\"; copy the parent with `//`, e.g. `{fix}`",
                            rel(self.root, &d),
                            rel(self.root, &target),
                            rel(self.root, &copied)
                        ),
                    );
                } else {
                    todo.push(target);
                }
            }
        }
        // Native S3 locking needs OpenTofu 1.10.
        if let Some((root_file, true)) = lockfile {
            let required = self.load(&module_dir).and_then(|m| m.required_version.clone());
            let ok = required.as_deref().and_then(min_version).is_some_and(|v| v >= (1, 10));
            if !ok {
                self.problem(
                    &file,
                    "terraform.source",
                    Kind::Version,
                    format!(
                        "{root_file} keeps state with `use_lockfile = true` (native S3 locking, OpenTofu 1.10 and later), but {module_rel} allows `required_version = \"{}\"`",
                        required.unwrap_or_else(|| "any".into())
                    ),
                );
            }
        }
        let Some(variables) = self.load(&module_dir).map(|m| m.variables.clone()) else {
            return;
        };
        // Dependencies: their outputs, mocked and used.
        let mut dep_outputs: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
        for b in body.blocks().filter(|b| b.identifier.as_str() == "dependency") {
            let name = label(b, 0).to_owned();
            let address = format!("dependency.{name}");
            let Some(config_path) = attr(&b.body, "config_path").and_then(string) else {
                self.problem(
                    &file,
                    &address,
                    Kind::UnitSource,
                    "needs a literal `config_path`".into(),
                );
                continue;
            };
            let dep_dir = normalize(&unit_dir.join(config_path));
            let outputs = self.outputs_of_unit(&dep_dir);
            let Some(outs) = outputs.clone() else {
                self.problem(
                    &file,
                    &address,
                    Kind::UnitSource,
                    format!(
                        "`{config_path}` is not a unit with a module ({} has no terragrunt.hcl with a local source)",
                        rel(self.root, &dep_dir)
                    ),
                );
                dep_outputs.insert(name, None);
                continue;
            };
            if let Some(Expression::Object(mocks)) = attr(&b.body, "mock_outputs") {
                for k in mocks.keys().filter_map(object_key) {
                    if !outs.contains(&k) {
                        self.problem(
                            &file,
                            &format!("{address}.mock_outputs.{k}"),
                            Kind::MockOutput,
                            format!("`{k}` is not an output of {config_path} (it has: {})", join(&outs)),
                        );
                    }
                }
            }
            dep_outputs.insert(name, outputs);
        }
        let mut found = Vec::new();
        body_refs(&body, &mut found);
        for r in found.iter().filter(|r| r.root == "dependency") {
            let names: Vec<&str> = r.names().collect();
            let Some(dep) = names.first() else { continue };
            match dep_outputs.get(*dep) {
                None => self.problem(
                    &file,
                    &r.text(3),
                    Kind::UndeclaredReference,
                    format!("no `dependency \"{dep}\"` block in this unit"),
                ),
                Some(Some(outs)) if names.get(1) == Some(&"outputs") => {
                    if let Some(o) = names.get(2).filter(|o| !outs.contains(**o)) {
                        self.problem(
                            &file,
                            &r.text(3),
                            Kind::DependencyOutput,
                            format!(
                                "`{o}` is not an output of the `{dep}` unit's module (it has: {})",
                                join(outs)
                            ),
                        );
                    }
                }
                _ => {}
            }
        }
        // Inputs: the module's variables, and every required one (here or in the included root).
        let own: BTreeSet<String> = match attr(&body, "inputs") {
            Some(Expression::Object(o)) => o.keys().filter_map(object_key).collect(),
            _ => BTreeSet::new(),
        };
        for k in &own {
            if !variables.contains_key(k) {
                self.problem(
                    &file,
                    &format!("inputs.{k}"),
                    Kind::UnitInput,
                    format!("{module_rel} has no variable `{k}`, so OpenTofu ignores this input"),
                );
            }
        }
        let inherited = self.included_inputs(&body, &unit_dir);
        for (v, required) in &variables {
            if *required && !own.contains(v) && !inherited.contains(v) {
                self.problem(
                    &file,
                    "inputs",
                    Kind::UnitInput,
                    format!("{module_rel} requires variable `{v}`, and neither this unit nor what it includes sets it"),
                );
            }
        }
    }

    /// The folder Terragrunt copies, and the module folder inside it, of a unit's local source.
    fn unit_source(&mut self, body: &Body, unit_dir: &Path, file: &str) -> Option<(PathBuf, PathBuf)> {
        let why = match source_dirs(body, self.root, unit_dir) {
            Ok(dirs) => return Some(dirs),
            Err(SourceError::Missing) => "has no `terraform { source = … }`",
            Err(SourceError::Unresolvable) => {
                "cannot be resolved offline: use a literal path, get_repo_root() or get_terragrunt_dir()"
            }
            Err(SourceError::Remote(source)) => {
                self.report.unchecked.push(format!(
                    "{file}: terraform.source `{source}` is remote; its contents are not checked offline"
                ));
                return None;
            }
        };
        self.problem(file, "terraform.source", Kind::UnitSource, why.into());
        None
    }

    /// The outputs of the module behind the unit in `dir`.
    fn outputs_of_unit(&mut self, dir: &Path) -> Option<BTreeSet<String>> {
        let text = std::fs::read_to_string(dir.join("terragrunt.hcl")).ok()?;
        let body = hcl::parse(&text).ok()?;
        let (_, module) = source_dirs(&body, self.root, dir).ok()?;
        self.load(&module).map(|m| m.outputs.clone())
    }

    /// The input names an `include` with `find_in_parent_folders("…")` brings in.
    fn included_inputs(&self, body: &Body, unit_dir: &Path) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for inc in body.blocks().filter(|b| b.identifier.as_str() == "include") {
            let Some(Expression::FuncCall(f)) = attr(&inc.body, "path") else {
                continue;
            };
            if f.name.name.as_str() != "find_in_parent_folders" {
                continue;
            }
            let Some(target) = f.args.first().and_then(string) else {
                continue;
            };
            let found = unit_dir
                .ancestors()
                .skip(1)
                .map(|d| d.join(target))
                .find(|p| p.is_file());
            let Some(Ok(Ok(parent))) = found.map(|p| std::fs::read_to_string(p).map(|t| hcl::parse(&t))) else {
                continue;
            };
            if let Some(Expression::Object(o)) = attr(&parent, "inputs") {
                names.extend(o.keys().filter_map(object_key));
            }
        }
        names
    }
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
}

fn problem(file: &str, address: &str, kind: Kind, message: String) -> Problem {
    Problem {
        file: file.to_owned(),
        address: address.to_owned(),
        kind,
        message,
    }
}

fn is_resource_type(m: &Module, name: &str) -> bool {
    name.contains('_') && Checker::schema_for(m, name).is_some_and(|p| p.resources.contains_key(name))
}

/// Why a unit's source names no local folder.
enum SourceError {
    Missing,
    Unresolvable,
    Remote(String),
}

/// The folder Terragrunt copies for a unit's local source (everything before `//`, or the source
/// itself), and the module folder inside it.
fn source_dirs(body: &Body, root: &Path, unit_dir: &Path) -> Result<(PathBuf, PathBuf), SourceError> {
    let expr = body
        .blocks()
        .find(|b| b.identifier.as_str() == "terraform")
        .and_then(|t| attr(&t.body, "source"))
        .ok_or(SourceError::Missing)?;
    let source = resolve(expr, root, unit_dir).ok_or(SourceError::Unresolvable)?;
    if source.contains("::") || source.contains("://") || source.starts_with("tfr:") {
        return Err(SourceError::Remote(source));
    }
    let (copied, sub) = source.split_once("//").unwrap_or((source.as_str(), ""));
    let copied = normalize(&unit_dir.join(copied));
    let module = normalize(&copied.join(sub));
    Ok((copied, module))
}

/// Records what a file declares.
fn declare(m: &mut Module, body: &Body) {
    for b in body.blocks() {
        match b.identifier.as_str() {
            "variable" => {
                let required = attr(&b.body, "default").is_none();
                m.variables.insert(label(b, 0).to_owned(), required);
            }
            "output" => {
                m.outputs.insert(label(b, 0).to_owned());
            }
            "locals" => m.locals.extend(b.body.attributes().map(|a| a.key.as_str().to_owned())),
            "resource" => {
                m.resources.insert((label(b, 0).to_owned(), label(b, 1).to_owned()));
            }
            "data" => {
                m.data.insert((label(b, 0).to_owned(), label(b, 1).to_owned()));
            }
            "module" => {
                let source = attr(&b.body, "source").and_then(string).unwrap_or_default();
                m.calls.insert(label(b, 0).to_owned(), source.to_owned());
            }
            "terraform" => {
                if let Some(v) = attr(&b.body, "required_version").and_then(string) {
                    m.required_version = Some(v.to_owned());
                }
                for rp in b
                    .body
                    .blocks()
                    .filter(|b| b.identifier.as_str() == "required_providers")
                {
                    for a in rp.body.attributes() {
                        if let Expression::Object(o) = &a.expr {
                            let source = o
                                .iter()
                                .find(|(k, _)| object_key(k).as_deref() == Some("source"))
                                .and_then(|(_, v)| string(v));
                            if let Some(s) = source {
                                m.providers.insert(a.key.as_str().to_owned(), s.to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

fn version_parts(v: &str) -> Vec<u64> {
    v.trim().split('.').map(|p| p.trim().parse().unwrap_or(0)).collect()
}

fn compare(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    (0..n)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// Whether a version constraint (`~> 6.0`, `>= 1.10, < 2.0`, `= 3.1.1`) admits `version`.
fn admits(constraint: &str, version: &str) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let v = version_parts(version);
    constraint.split(',').all(|c| {
        let c = c.trim();
        let (op, rest) = ["~>", ">=", "<=", "!=", ">", "<", "="]
            .iter()
            .find_map(|op| c.strip_prefix(op).map(|r| (*op, r)))
            .unwrap_or(("=", c));
        let want = version_parts(rest);
        let ord = compare(&v, &want);
        match op {
            "~>" => {
                // ~> 6.0 is >= 6.0 and < 7; ~> 6.25.0 is >= 6.25.0 and < 6.26.
                let mut upper = want[..want.len().saturating_sub(1).max(1)].to_vec();
                if let Some(last) = upper.last_mut() {
                    *last += 1;
                }
                ord != Less && compare(&v, &upper) == Less
            }
            ">=" => ord != Less,
            "<=" => ord != Greater,
            "!=" => ord != Equal,
            ">" => ord == Greater,
            "<" => ord == Less,
            _ => ord == Equal,
        }
    })
}

/// The lowest version a constraint such as `>= 1.10` or `~> 1.10.0` allows.
fn min_version(constraint: &str) -> Option<(u32, u32)> {
    constraint
        .split(',')
        .filter_map(|c| {
            let c = c.trim();
            let v = c
                .strip_prefix(">=")
                .or_else(|| c.strip_prefix("~>"))
                .or_else(|| c.strip_prefix('='))
                .or_else(|| c.strip_prefix('>'))?
                .trim();
            let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .max()
}

/// A Terragrunt source expression, evaluated where it only uses the path functions.
fn resolve(e: &Expression, root: &Path, unit_dir: &Path) -> Option<String> {
    let call = |f: &hcl::expr::FuncCall| match f.name.name.as_str() {
        "get_repo_root" => Some(root.display().to_string()),
        "get_terragrunt_dir" => Some(unit_dir.display().to_string()),
        _ => None,
    };
    match e {
        Expression::String(s) => Some(s.clone()),
        Expression::FuncCall(f) => call(f),
        Expression::TemplateExpr(t) => {
            let t = Template::from_expr(t).ok()?;
            let mut out = String::new();
            for el in t.elements() {
                match el {
                    Element::Literal(l) => out.push_str(l),
                    Element::Interpolation(i) => match &i.expr {
                        Expression::FuncCall(f) => out.push_str(&call(f)?),
                        _ => return None,
                    },
                    Element::Directive(_) => return None,
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// Checks `resource.name.a[0].b` against what the resource exports.
fn check_path(mut block: &Block, steps: &[Option<String>], address: &str, file: &str, out: &mut Vec<Problem>) {
    let mut path = address.to_owned();
    for step in steps {
        let Some(name) = step else { continue };
        if !block.readable(name) && name != "id" {
            out.push(problem(
                file,
                &format!("{path}.{name}"),
                Kind::UnknownAttribute,
                format!("`{path}` has no attribute `{name}`"),
            ));
            return;
        }
        path = format!("{path}.{name}");
        match block.child(name) {
            Some(child) => block = child,
            None => return,
        }
    }
}

/// Checks a block's body against its schema.
fn check_body(body: &Body, schema: &Block, address: &str, file: &str, meta: bool, out: &mut Vec<Problem>) {
    let mut present: BTreeSet<&str> = BTreeSet::new();
    for a in body.attributes() {
        let k = a.key.as_str();
        present.insert(k);
        if meta && RESOURCE_META.contains(&k) {
            continue;
        }
        let here = format!("{address}.{k}");
        if let Some(s) = schema.attributes.get(k) {
            if s.computed {
                out.push(problem(
                    file,
                    &here,
                    Kind::ComputedArgument,
                    format!("`{k}` is computed by the provider and cannot be set"),
                ));
            } else if let Some(nested) = &s.nested {
                check_object(&a.expr, nested, s.map, &here, file, out);
            }
        } else if schema.blocks.contains_key(k) {
            out.push(problem(
                file,
                &here,
                Kind::BlockWrittenAsAttribute,
                format!("`{k}` is a block: write `{k} {{ … }}`, not `{k} = …`"),
            ));
        } else {
            out.push(problem(
                file,
                &here,
                Kind::UnknownArgument,
                unknown("argument", k, schema),
            ));
        }
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for b in body.blocks() {
        let (name, inner) = if b.identifier.as_str() == "dynamic" {
            let content = b.body.blocks().find(|c| c.identifier.as_str() == "content");
            (label(b, 0), content.map(|c| &c.body))
        } else {
            (b.identifier.as_str(), Some(&b.body))
        };
        present.insert(name);
        *counts.entry(name).or_default() += 1;
        if meta && b.identifier.as_str() != "dynamic" && ["lifecycle", "provisioner", "connection"].contains(&name) {
            continue;
        }
        let here = format!("{address}.{name}");
        if let Some(nb) = schema.blocks.get(name) {
            if let Some(inner) = inner {
                check_body(inner, &nb.body, &here, file, false, out);
            }
        } else if let Some(a) = schema.attributes.get(name).filter(|a| a.as_blocks) {
            if let (Some(inner), Some(nested)) = (inner, &a.nested) {
                check_body(inner, nested, &here, file, false, out);
            }
        } else if schema.attributes.contains_key(name) {
            out.push(problem(
                file,
                &here,
                Kind::AttributeWrittenAsBlock,
                format!("`{name}` is an attribute: write `{name} = {{ … }}`, not a `{name} {{ … }}` block"),
            ));
        } else {
            out.push(problem(file, &here, Kind::UnknownBlock, unknown("block", name, schema)));
        }
    }
    for (name, n) in counts {
        if n > 1 && schema.blocks.get(name).is_some_and(|b| b.single) {
            out.push(problem(
                file,
                &format!("{address}.{name}"),
                Kind::UnknownBlock,
                format!("at most one `{name}` block is allowed, found {n}"),
            ));
        }
    }
    for (name, a) in &schema.attributes {
        if a.required && !present.contains(name.as_str()) {
            out.push(problem(
                file,
                address,
                Kind::MissingArgument,
                format!("the argument `{name}` is required"),
            ));
        }
    }
    for (name, b) in &schema.blocks {
        if b.required && !present.contains(name.as_str()) {
            out.push(problem(
                file,
                address,
                Kind::MissingArgument,
                format!("at least one `{name}` block is required"),
            ));
        }
    }
}

/// Checks the keys of an object value (or of each object in a list or map) against a nested
/// attribute's schema.
fn check_object(e: &Expression, schema: &Block, map: bool, address: &str, file: &str, out: &mut Vec<Problem>) {
    match e {
        Expression::Array(items) if !map => {
            for i in items {
                check_object(i, schema, false, address, file, out);
            }
        }
        Expression::Object(o) if map => {
            for (k, v) in o {
                let key = object_key(k).unwrap_or_default();
                check_object(v, schema, false, &format!("{address}[\"{key}\"]"), file, out);
            }
        }
        Expression::Object(o) => {
            let mut present = BTreeSet::new();
            for (k, v) in o {
                let Some(key) = object_key(k) else { continue };
                let here = format!("{address}.{key}");
                match schema.attributes.get(&key) {
                    Some(a) if a.computed => out.push(problem(
                        file,
                        &here,
                        Kind::ComputedArgument,
                        format!("`{key}` is computed by the provider and cannot be set"),
                    )),
                    Some(a) => {
                        if let Some(n) = &a.nested {
                            check_object(v, n, a.map, &here, file, out);
                        }
                    }
                    None => out.push(problem(
                        file,
                        &here,
                        Kind::UnknownArgument,
                        unknown("attribute", &key, schema),
                    )),
                }
                present.insert(key);
            }
            for (name, a) in &schema.attributes {
                if a.required && !present.contains(name) {
                    out.push(problem(
                        file,
                        address,
                        Kind::MissingArgument,
                        format!("the attribute `{name}` is required"),
                    ));
                }
            }
        }
        _ => {}
    }
}

/// "unknown argument `x`", with the closest name the schema has when one is close.
fn unknown(what: &str, name: &str, schema: &Block) -> String {
    let best = schema
        .attributes
        .iter()
        .filter(|(_, a)| !a.computed)
        .map(|(n, _)| n)
        .chain(schema.blocks.keys())
        .map(|n| (distance(n, name), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min();
    match best {
        Some((_, n)) => format!("unknown {what} `{name}` (did you mean `{n}`?)"),
        None => format!("unknown {what} `{name}`"),
    }
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, want: &dyn Fn(&Path) -> bool) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                walk(&p, out, want);
            }
        } else if want(&p) {
            out.push(p);
        }
    }
}

/// Checks every module and unit under `root/infra`.
pub fn check(root: &Path) -> Report {
    let root = normalize(&std::path::absolute(root).unwrap_or_else(|_| root.to_owned()));
    let mut c = Checker {
        root: &root,
        modules: HashMap::new(),
        report: Report::default(),
    };
    let infra = root.join("infra");
    let mut tf = Vec::new();
    walk(&infra, &mut tf, &|p| p.extension().is_some_and(|x| x == "tf"));
    let dirs: BTreeSet<PathBuf> = tf.iter().filter_map(|p| p.parent().map(Path::to_owned)).collect();
    for d in &dirs {
        c.check_module(d);
    }
    // The root configuration every live unit includes: is native S3 locking on?
    let root_hcl = infra.join("live/root.hcl");
    let lockfile = std::fs::read_to_string(&root_hcl)
        .ok()
        .and_then(|t| hcl::parse(&t).ok())
        .map(|b| uses_lockfile(&b));
    let root_rel = rel(&root, &root_hcl);
    let mut units = Vec::new();
    for sub in ["live", "bootstrap"] {
        walk(&infra.join(sub), &mut units, &|p| {
            p.file_name().is_some_and(|n| n == "terragrunt.hcl")
        });
    }
    for u in &units {
        let live = u.starts_with(infra.join("live"));
        c.check_unit(u, lockfile.filter(|_| live).map(|l| (root_rel.as_str(), l)));
    }
    c.report.problems.sort();
    c.report.problems.dedup();
    c.report.unchecked.sort();
    c.report.unchecked.dedup();
    c.report.schemas = schema::pinned()
        .iter()
        .map(|p| format!("{} {} ({})", p.source, p.version, p.from))
        .collect();
    c.report
}

/// Whether a `remote_state { config = { use_lockfile = true } }` block turns on native S3 locking.
fn uses_lockfile(body: &Body) -> bool {
    let on = |config: Option<&Expression>| match config {
        Some(Expression::Object(o)) => o
            .iter()
            .any(|(k, v)| object_key(k).as_deref() == Some("use_lockfile") && *v == Expression::Bool(true)),
        _ => false,
    };
    body.blocks()
        .filter(|b| b.identifier.as_str() == "remote_state")
        .any(|b| on(attr(&b.body, "config")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constraints_give_their_lowest_version() {
        assert_eq!(min_version(">= 1.8"), Some((1, 8)));
        assert_eq!(min_version(">= 1.10.0, < 2.0"), Some((1, 10)));
        assert_eq!(min_version("~> 1.10"), Some((1, 10)));
        assert_eq!(min_version("< 2.0"), None);
    }

    #[test]
    fn constraints_admit_the_versions_terraform_would() {
        assert!(admits("~> 6.0", "6.25.0"));
        assert!(!admits("~> 6.0", "7.0.0"));
        assert!(!admits("~> 5.0", "6.25.0"));
        assert!(admits("~> 6.25.0", "6.25.9"));
        assert!(!admits("~> 6.25.0", "6.26.0"));
        assert!(admits(">= 3.0, < 4.0", "3.1.1"));
        assert!(!admits(">= 3.0, < 3.1", "3.1.1"));
        assert!(admits("= 3.1.1", "3.1.1"));
        assert!(admits("3.1.1", "3.1.1"));
        assert!(!admits("!= 3.1.1", "3.1.1"));
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("bucket", "bucket"), 0);
        assert_eq!(distance("buckt", "bucket"), 1);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn paths_normalize_without_the_file_system() {
        assert_eq!(normalize(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
    }
}
