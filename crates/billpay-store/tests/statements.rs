//! Every SQL statement in the store's source is prepared against both databases. BillPay's
//! queries are checked at run time, not compile time, so a misspelt column would otherwise wait
//! for the one request that runs it. The test reads the string literals of `src/` that start a
//! statement; one that only one backend runs is listed below with the reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use billpay_store::Backend;
use billpay_store::testing::TestDb;
use sqlx::Executor;

/// Statements that run on one database only, by a fragment of their text.
const ONE_BACKEND: &[(&str, Backend, &str)] = &[
    (
        "billpay_fail(",
        Backend::Postgres,
        "the guarded payment statement (PostgreSQL's executor)",
    ),
    (
        "FOR UPDATE SKIP LOCKED",
        Backend::Postgres,
        "claiming deliveries; SQLite has one writer",
    ),
    (
        "pg_advisory_",
        Backend::Postgres,
        "the migration lock; SQLite has one writer",
    ),
    ("to_regclass(", Backend::Postgres, "PostgreSQL's catalogue"),
    ("pg_trigger", Backend::Postgres, "PostgreSQL's catalogue"),
    ("sqlite_master", Backend::Sqlite, "SQLite's catalogue"),
    (
        "WHERE (endpoint_id, event_id) IN (",
        Backend::Sqlite,
        "claiming deliveries without SKIP LOCKED",
    ),
];

const STARTS: &[&str] = &["SELECT ", "INSERT ", "UPDATE ", "DELETE ", "WITH "];

/// The string literals of a Rust source file, with escapes and line continuations resolved.
fn literals(src: &str) -> Vec<String> {
    let b: Vec<char> = src.chars().collect();
    let (mut i, mut out) = (0, Vec::new());
    while i < b.len() {
        match b[i] {
            '/' if b.get(i + 1) == Some(&'/') => {
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
            }
            '/' if b.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            '\'' => {
                // A char literal ('x', '\n', '"'), or a lifetime ('a), which has no closing quote.
                if b.get(i + 1) == Some(&'\\') {
                    i += 2;
                    while i < b.len() && b[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if b.get(i + 2) == Some(&'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            'r' if (b.get(i + 1) == Some(&'"') || b.get(i + 1) == Some(&'#'))
                && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_')) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&'"') {
                    i += 1;
                    continue;
                }
                j += 1;
                let start = j;
                loop {
                    if j >= b.len() {
                        break;
                    }
                    if b[j] == '"' && (0..hashes).all(|h| b.get(j + 1 + h) == Some(&'#')) {
                        break;
                    }
                    j += 1;
                }
                out.push(b[start..j.min(b.len())].iter().collect());
                i = j + 1 + hashes;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                while i < b.len() && b[i] != '"' {
                    if b[i] == '\\' {
                        match b.get(i + 1) {
                            Some('\n') => {
                                i += 2;
                                while i < b.len() && b[i].is_whitespace() {
                                    i += 1;
                                }
                                continue;
                            }
                            Some('n') => s.push('\n'),
                            Some(c) => s.push(*c),
                            None => {}
                        }
                        i += 2;
                    } else {
                        s.push(b[i]);
                        i += 1;
                    }
                }
                out.push(s);
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Resolves what the store builds at compile time: a `macro_rules!` with no arguments whose body
/// is one literal is inlined where it is called and its definition dropped, and a `concat!` of
/// literals becomes one literal. What is left is the statements as the server sends them.
fn expand(src: &str) -> String {
    let mut src = src.to_owned();
    while let Some(at) = src.find("macro_rules! ") {
        let name: String = src[at + 13..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let end = matching(&src, at + src[at..].find('{').unwrap()) + 1;
        let def = src[at..end].to_owned();
        src.replace_range(at..end, "");
        let body = format!("{:?}", literals(&def).concat());
        if def.contains("() =>") {
            src = src.replace(&format!("{name}!()"), &body);
        } else if def.contains(":literal) =>") && def.matches("=>").count() == 1 {
            // A statement with its last clause given at the call: `name!("WHERE …")`.
            let call = regex::Regex::new(&format!(r#"{name}!\((\s*"(?:[^"\\]|\\.)*"\s*)\)"#)).unwrap();
            src = call
                .replace_all(&src, format!("concat!({body}, $1)").as_str())
                .into_owned();
        }
    }
    while let Some(at) = src.find("concat!(") {
        let open = at + 7;
        let close = matching(&src, open);
        let inner = &src[open + 1..close];
        let only_literals = inner
            .split('"')
            .step_by(2)
            .all(|between| between.chars().all(|c| c.is_whitespace() || c == ','));
        let joined = if only_literals {
            format!("{:?}", literals(inner).concat())
        } else {
            String::new()
        };
        src.replace_range(at..=close, &joined);
    }
    src
}

/// The index of the bracket that closes the one at `open`.
fn matching(src: &str, open: usize) -> usize {
    let (o, c) = match src.as_bytes()[open] {
        b'(' => (b'(', b')'),
        _ => (b'{', b'}'),
    };
    let mut depth = 0;
    let mut in_str = false;
    let bytes = src.as_bytes();
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b if b == o && !in_str => depth += 1,
            b if b == c && !in_str => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len() - 1
}

/// Every statement literal under `src/`, with the file it is in.
fn statements() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        if f.ends_with("testing.rs") {
            continue;
        }
        for lit in literals(&expand(&std::fs::read_to_string(&f).unwrap())) {
            if STARTS.iter().any(|s| lit.starts_with(s)) {
                out.push((f.clone(), lit));
            }
        }
    }
    out
}

#[test]
fn the_scanner_reads_continued_literals_and_skips_chars_and_comments() {
    let src = "let c = '\"'; // \"SELECT no\"\nconst A: &str = \"SELECT a, \\\n     b FROM t\"; fn f<'a>() { r#\"UPDATE \"x\"\"#; }";
    assert_eq!(
        literals(src),
        vec!["SELECT a, b FROM t".to_owned(), "UPDATE \"x\"".to_owned()]
    );
    let src = "macro_rules! pick { () => { \"SELECT 1 \\\n FROM t\" }; }\nlet q = concat!(\"WITH c AS (\", pick!(), \") SELECT 2\");";
    assert_eq!(
        literals(&expand(src)),
        vec!["WITH c AS (SELECT 1 FROM t) SELECT 2".to_owned()]
    );
    let src =
        "macro_rules! sel { ($w:literal) => { concat!(\"SELECT a FROM t \", $w) }; }\nlet q = sel!(\"WHERE a = $1\");";
    assert_eq!(literals(&expand(src)), vec!["SELECT a FROM t WHERE a = $1".to_owned()]);
}

#[test]
fn the_store_has_statements_to_check() {
    let all = statements();
    assert!(
        all.len() > 80,
        "only {} statements found: the scanner is broken",
        all.len()
    );
    assert!(
        all.iter().any(|(_, s)| s.contains("billpay_fail('BP001'")),
        "the guarded payment statement is among them"
    );
}

fn prepares_on(backend: Backend) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = TestDb::new(backend).await;
        let mut conn = db.store.pool().acquire().await.unwrap();
        let mut failures = Vec::new();
        let mut checked = 0;
        for (file, sql) in statements() {
            let only = ONE_BACKEND.iter().find(|(frag, _, _)| sql.contains(frag));
            if only.is_some_and(|(_, b, _)| *b != backend) {
                continue;
            }
            checked += 1;
            if let Err(e) = (&mut *conn)
                .prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql.clone())))
                .await
            {
                failures.push(format!(
                    "{}: {e}\n    {sql}",
                    file.file_name().unwrap().to_string_lossy()
                ));
            }
        }
        assert!(checked > 60, "{checked} statements checked");
        assert!(
            failures.is_empty(),
            "{} of {checked} statements do not prepare on {backend:?}:\n{}",
            failures.len(),
            failures.join("\n")
        );
    });
}

#[test]
fn every_statement_prepares_on_sqlite() {
    prepares_on(Backend::Sqlite);
}

#[test]
fn every_statement_prepares_on_postgres() {
    prepares_on(Backend::Postgres);
}
