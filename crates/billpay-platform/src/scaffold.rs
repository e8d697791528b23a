//! Service templates in Cookiecutter's format (`templates/<name>/cookiecutter.json` plus a
//! `{{cookiecutter.slug}}/` tree), rendered the way Cookiecutter renders them: Jinja with strict
//! undefined and trailing newlines kept, the defaults in `cookiecutter.json` rendered in order,
//! choices defaulting to their first entry, `_copy_without_render` globs copied verbatim, binary
//! files copied, file modes kept. The output is byte-identical to `cookiecutter --no-input`.
//!
//! [`render`] works in memory; [`write`] puts the tree in place only once all of it rendered, so a
//! bad value never leaves half a service behind.

use std::path::{Component, Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value};

/// The template directory every template keeps its tree in.
const ROOT_DIR: &str = "{{cookiecutter.slug}}";

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("no template `{0}` (known: {1})")]
    UnknownTemplate(String, String),
    #[error(
        "`{0}` is not a valid name: use 2 to 40 lower-case letters, digits and single dashes, starting with a letter and not ending with a dash"
    )]
    InvalidName(String),
    #[error("{0} already exists")]
    Exists(String),
    #[error("the template needs a value for `{0}`: pass --set {0}=…")]
    MissingValue(String),
    #[error("the template has no value `{0}` (it has: {1})")]
    UnknownValue(String, String),
    #[error("`{value}` is not a choice for `{key}` (choose one of: {choices})")]
    NotAChoice {
        key: String,
        value: String,
        choices: String,
    },
    #[error("--set takes key=value, not `{0}`")]
    BadSet(String),
    #[error(
        "the value of `{0}` holds {1}: the templates put values inside quoted strings (JSON, TOML, YAML), so use one line without `\"` or `\\`"
    )]
    UnsafeValue(String, &'static str),
    #[error("{0}: {1}")]
    Template(String, String),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// A template on disk.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub dir: PathBuf,
    /// `cookiecutter.json`, in its order.
    pub variables: Map<String, Value>,
}

/// A rendered file, relative to the output directory (it starts with the slug).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    pub path: PathBuf,
    pub contents: Vec<u8>,
    pub mode: u32,
}

/// The templates under `root`, by name.
pub fn list(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("cookiecutter.json").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Reads the template `name` under `root`.
pub fn load(root: &Path, name: &str) -> Result<Template, ScaffoldError> {
    let dir = root.join(name);
    let config = dir.join("cookiecutter.json");
    let plain = !name.is_empty() && Path::new(name).components().all(|c| matches!(c, Component::Normal(_)));
    if !plain || !config.is_file() {
        return Err(ScaffoldError::UnknownTemplate(name.into(), list(root).join(", ")));
    }
    let text = std::fs::read_to_string(&config).map_err(|e| ScaffoldError::Io(config.clone(), e))?;
    let variables: Map<String, Value> = serde_json::from_str(&text)
        .map_err(|e| ScaffoldError::Template(config.display().to_string(), e.to_string()))?;
    if !dir.join(ROOT_DIR).is_dir() {
        return Err(ScaffoldError::Template(
            dir.display().to_string(),
            format!("no {ROOT_DIR}/ directory"),
        ));
    }
    Ok(Template {
        name: name.into(),
        dir,
        variables,
    })
}

/// Checks a service or app name: a DNS label short enough for every resource named after it.
pub fn check_name(name: &str) -> Result<(), ScaffoldError> {
    let b = name.as_bytes();
    let ok = (2..=40).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
        && !name.contains("--")
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if ok {
        Ok(())
    } else {
        Err(ScaffoldError::InvalidName(name.into()))
    }
}

/// Parses `key=value` arguments.
pub fn parse_sets(sets: &[String]) -> Result<Vec<(String, String)>, ScaffoldError> {
    sets.iter()
        .map(|s| {
            s.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| ScaffoldError::BadSet(s.clone()))
        })
        .collect()
}

/// The Jinja environment Cookiecutter renders with (its `StrictEnvironment`).
fn jinja() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_keep_trailing_newline(true);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

fn render_str(env: &Environment<'_>, what: &str, src: &str, ctx: &Value) -> Result<String, ScaffoldError> {
    env.render_str(src, ctx)
        .map_err(|e| ScaffoldError::Template(what.to_owned(), e.to_string()))
}

/// The values the tree is rendered with: `cookiecutter.json`'s defaults, in order, with
/// `overrides` in place of defaults, each rendered against the values before it. A default of
/// `""` is a value the caller must give.
pub fn context(t: &Template, overrides: &[(String, String)]) -> Result<Map<String, Value>, ScaffoldError> {
    let known = || {
        t.variables
            .keys()
            .filter(|k| !k.starts_with('_'))
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (k, v) in overrides {
        if k.starts_with('_') || !t.variables.contains_key(k) {
            return Err(ScaffoldError::UnknownValue(k.clone(), known()));
        }
        if let Some(what) = unsafe_in_strings(v) {
            return Err(ScaffoldError::UnsafeValue(k.clone(), what));
        }
    }
    let given = |k: &str| overrides.iter().rev().find(|(o, _)| o == k).map(|(_, v)| v.clone());
    let env = jinja();
    let mut out = Map::new();
    for (key, raw) in &t.variables {
        let what = format!("cookiecutter.json `{key}`");
        if key.starts_with('_') && !key.starts_with("__") {
            out.insert(key.clone(), raw.clone());
            continue;
        }
        let ctx = Value::Object(Map::from_iter([(
            "cookiecutter".to_owned(),
            Value::Object(out.clone()),
        )]));
        let source = match (raw, given(key)) {
            (Value::Array(choices), given) => {
                let choices: Vec<String> = choices
                    .iter()
                    .map(|c| match c {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                match given {
                    Some(v) if choices.contains(&v) => v,
                    Some(v) => {
                        return Err(ScaffoldError::NotAChoice {
                            key: key.clone(),
                            value: v,
                            choices: choices.join(", "),
                        });
                    }
                    None => choices.first().cloned().unwrap_or_default(),
                }
            }
            (_, Some(v)) => v,
            (Value::String(s), None) if s.is_empty() && !key.starts_with("__") => {
                return Err(ScaffoldError::MissingValue(key.clone()));
            }
            (Value::String(s), None) => s.clone(),
            (Value::Number(n), None) if n.is_i64() || n.is_u64() => n.to_string(),
            (other, None) => {
                return Err(ScaffoldError::Template(
                    what,
                    format!("values of this kind are not supported: {other}"),
                ));
            }
        };
        let value = render_str(&env, &what, &source, &ctx)?;
        out.insert(key.clone(), Value::String(value));
    }
    Ok(out)
}

/// What in a given value would break the quoted string a template puts it in, if anything.
fn unsafe_in_strings(v: &str) -> Option<&'static str> {
    if v.chars().any(char::is_control) {
        Some("a line break or another control character")
    } else if v.contains('"') {
        Some("a double quote")
    } else if v.contains('\\') {
        Some("a backslash")
    } else {
        None
    }
}

/// `fnmatch` as Python has it: `*` matches anything (`/` too), `?` one character.
fn fnmatch(pattern: &[u8], path: &[u8]) -> bool {
    match (pattern.first(), path.first()) {
        (None, None) => true,
        (Some(b'*'), _) => fnmatch(&pattern[1..], path) || (!path.is_empty() && fnmatch(pattern, &path[1..])),
        (Some(b'?'), Some(_)) => fnmatch(&pattern[1..], &path[1..]),
        (Some(p), Some(c)) if p == c => fnmatch(&pattern[1..], &path[1..]),
        _ => false,
    }
}

fn copy_only(ctx: &Map<String, Value>, rel: &str) -> bool {
    let Some(Value::Array(globs)) = ctx.get("_copy_without_render") else {
        return false;
    };
    // A file is copied as it is when it, or a directory it is in, matches.
    let mut prefixes = vec![rel];
    prefixes.extend(rel.match_indices('/').map(|(i, _)| &rel[..i]));
    globs
        .iter()
        .filter_map(Value::as_str)
        .any(|g| prefixes.iter().any(|p| fnmatch(g.as_bytes(), p.as_bytes())))
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), ScaffoldError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| ScaffoldError::Io(dir.to_owned(), e))?
        .collect::<Result<_, _>>()
        .map_err(|e| ScaffoldError::Io(dir.to_owned(), e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let rel = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        if path.is_dir() {
            walk(&path, &rel, out)?;
        } else {
            out.push((rel, path));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(_: &std::fs::Metadata) -> u32 {
    0o644
}

/// Renders the whole tree in memory.
pub fn render(t: &Template, ctx: &Map<String, Value>) -> Result<Vec<OutFile>, ScaffoldError> {
    let env = jinja();
    let jctx = Value::Object(Map::from_iter([(
        "cookiecutter".to_owned(),
        Value::Object(ctx.clone()),
    )]));
    let root_name = render_str(&env, ROOT_DIR, ROOT_DIR, &jctx)?;
    let mut sources = Vec::new();
    walk(&t.dir.join(ROOT_DIR), "", &mut sources)?;
    let mut files = Vec::new();
    for (rel, src) in sources {
        let rendered_rel = render_str(&env, &rel, &rel, &jctx)?;
        let bytes = std::fs::read(&src).map_err(|e| ScaffoldError::Io(src.clone(), e))?;
        let meta = std::fs::metadata(&src).map_err(|e| ScaffoldError::Io(src.clone(), e))?;
        let binary = bytes.contains(&0) || std::str::from_utf8(&bytes).is_err();
        let contents = if binary || copy_only(ctx, &rel) {
            bytes
        } else {
            let text = String::from_utf8_lossy(&bytes);
            render_str(&env, &format!("{}/{ROOT_DIR}/{rel}", t.name), &text, &jctx)?.into_bytes()
        };
        files.push(OutFile {
            path: Path::new(&root_name).join(rendered_rel),
            contents,
            mode: mode_of(&meta),
        });
    }
    Ok(files)
}

/// Writes `files` under `out`. The project directory must not exist yet; the tree is written
/// next to it first and moved into place in one rename.
pub fn write(out: &Path, files: &[OutFile]) -> Result<PathBuf, ScaffoldError> {
    let Some(root) = files.first().and_then(|f| f.path.components().next()) else {
        return Err(ScaffoldError::Template("template".into(), "it renders no files".into()));
    };
    let target = out.join(root);
    if target.exists() {
        return Err(ScaffoldError::Exists(target.display().to_string()));
    }
    std::fs::create_dir_all(out).map_err(|e| ScaffoldError::Io(out.to_owned(), e))?;
    let staging = tempfile::Builder::new()
        .prefix(".scaffold-")
        .tempdir_in(out)
        .map_err(|e| ScaffoldError::Io(out.to_owned(), e))?;
    for f in files {
        let path = staging.path().join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ScaffoldError::Io(parent.to_owned(), e))?;
        }
        std::fs::write(&path, &f.contents).map_err(|e| ScaffoldError::Io(path.clone(), e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode))
                .map_err(|e| ScaffoldError::Io(path.clone(), e))?;
        }
    }
    std::fs::rename(staging.path().join(root), &target).map_err(|e| ScaffoldError::Io(target.clone(), e))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_is_pythons() {
        assert!(fnmatch(b".github/workflows/*", b".github/workflows/ci.yml"));
        assert!(
            fnmatch(b"*.png", b"docs/img/logo.png"),
            "* crosses directories, as in Python"
        );
        assert!(fnmatch(b"a?c", b"abc"));
        assert!(!fnmatch(b"docs/*", b"src/lib.rs"));
    }

    #[test]
    fn names() {
        for ok in ["payments-notifier", "ab", "svc2"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "Payments",
            "2fa",
            "ends-",
            "two--dashes",
            "under_score",
            "sp ace",
            "../x",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
