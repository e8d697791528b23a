//! flagd's own evaluator conformance cases (the `evaluator/` suite of open-feature/flagd-testbed),
//! run against BillPay's evaluator. `./dev test` fetches the suite from the `open-feature-flagd`
//! package on crates.io (pinned by checksum) and points `BILLPAY_FLAGD_TESTBED` at it.
//!
//! The steps are read as an OpenFeature client would: a flag without a value, or of the wrong
//! type, resolves to the caller's fallback.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use billpay_flags::{FlagSet, Reason};
use serde_json::{Map, Value, json};

fn testbed() -> PathBuf {
    let dir = std::env::var("BILLPAY_FLAGD_TESTBED")
        .expect("set BILLPAY_FLAGD_TESTBED to flagd-testbed's evaluator/ folder (./dev test does)");
    PathBuf::from(dir)
}

#[derive(Debug, Clone)]
struct Step {
    text: String,
    table: Vec<Vec<String>>,
}

#[derive(Debug)]
struct Scenario {
    name: String,
    steps: Vec<Step>,
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|c| c.trim().replace("\\\"", "\"")).collect()
}

/// The scenarios of a feature file, outlines expanded, skipping `@fractional-v1` examples (the
/// legacy float bucketing that flagd replaced).
fn parse(path: &Path) -> Vec<Scenario> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut background: Vec<Step> = Vec::new();
    let mut out = Vec::new();
    let mut name = String::new();
    let mut steps: Vec<Step> = Vec::new();
    let mut in_background = false;
    let mut outline = false;
    let mut tags: Vec<String> = Vec::new();
    let mut example_tags: Vec<String> = Vec::new();
    let mut header: Option<Vec<String>> = None;
    let mut in_examples = false;
    let flush = |name: &str, steps: &[Step], background: &[Step], outline: bool, out: &mut Vec<Scenario>| {
        if !outline && !steps.is_empty() {
            out.push(Scenario {
                name: name.to_string(),
                steps: background.iter().chain(steps).cloned().collect(),
            });
        }
    };
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('@') {
            tags = line.split_whitespace().map(str::to_owned).collect();
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("Scenario Outline:")
            .or_else(|| line.strip_prefix("Scenario:"))
        {
            flush(&name, &steps, &background, outline, &mut out);
            outline = line.starts_with("Scenario Outline:");
            name = rest.trim().to_string();
            steps.clear();
            in_background = false;
            in_examples = false;
            tags.clear();
            continue;
        }
        if line.starts_with("Background:") {
            in_background = true;
            continue;
        }
        if line.starts_with("Feature:") {
            tags.clear();
            continue;
        }
        if line.starts_with("Examples") {
            in_examples = true;
            example_tags = std::mem::take(&mut tags);
            header = None;
            continue;
        }
        if line.starts_with('|') {
            if in_examples {
                let row = cells(line);
                match &header {
                    None => header = Some(row),
                    Some(h) => {
                        if example_tags.iter().any(|t| t == "@fractional-v1") {
                            continue;
                        }
                        let fill = |s: &str| {
                            let mut s = s.to_string();
                            for (k, v) in h.iter().zip(&row) {
                                s = s.replace(&format!("<{k}>"), v);
                            }
                            s
                        };
                        out.push(Scenario {
                            name: format!("{name} {row:?}"),
                            steps: background
                                .iter()
                                .chain(&steps)
                                .map(|st| Step {
                                    text: fill(&st.text),
                                    table: st.table.clone(),
                                })
                                .collect(),
                        });
                    }
                }
            } else {
                let target = if in_background { &mut background } else { &mut steps };
                if let Some(last) = target.last_mut() {
                    last.table.push(cells(line));
                }
            }
            continue;
        }
        let step = Step {
            text: line.to_string(),
            table: Vec::new(),
        };
        if in_background {
            background.push(step);
        } else {
            steps.push(step);
        }
    }
    flush(&name, &steps, &background, outline, &mut out);
    out
}

/// The quoted arguments of a step, in order.
fn quoted(text: &str) -> Vec<String> {
    text.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

fn typed(kind: &str, raw: &str) -> Value {
    match kind {
        "Boolean" => json!(raw == "true"),
        "Integer" => raw.parse::<i64>().map(Value::from).unwrap_or(Value::Null),
        "Float" => raw.parse::<f64>().map(Value::from).unwrap_or(Value::Null),
        "Object" => serde_json::from_str(raw).unwrap_or(Value::Null),
        _ => json!(raw),
    }
}

fn type_matches(kind: &str, v: &Value) -> bool {
    match kind {
        "Boolean" => v.is_boolean(),
        "Integer" => v.is_i64() || v.is_u64(),
        "Float" => v.is_number(),
        "Object" => v.is_object(),
        _ => v.is_string(),
    }
}

fn same(kind: &str, got: &Value, want: &str) -> bool {
    match kind {
        "Float" => got.as_f64() == want.parse::<f64>().ok(),
        _ => *got == typed(kind, want),
    }
}

fn run(flags: &FlagSet, scenario: &Scenario) -> Result<(), String> {
    let mut kind = String::new();
    let mut key = String::new();
    let mut fallback = String::new();
    let mut ctx = Map::new();
    let mut resolved: Option<(Value, String, String, Map<String, Value>)> = None;
    for step in &scenario.steps {
        let t = &step.text;
        let q = quoted(t);
        if t.contains("-flag with key") {
            let word = t.split_whitespace().find(|w| w.ends_with("-flag")).unwrap_or_default();
            kind = word.trim_end_matches("-flag").to_string();
            key = q[0].clone();
            fallback = q[1].clone();
        } else if t.contains("a context containing a targeting key") {
            ctx.insert("targetingKey".into(), json!(q[0]));
        } else if t.contains("a context containing a nested property") {
            let inner = ctx.entry(q[0].clone()).or_insert_with(|| json!({}));
            inner[q[1].as_str()] = json!(q[2]);
        } else if t.contains("a context containing a key") {
            ctx.insert(q[0].clone(), typed(&q[1], &q[2]));
        } else if t.contains("the flag was evaluated with details") {
            let e = flags.evaluate(&key, &ctx, 1_700_000_000);
            let (value, reason, error) = match (e.value, &e.error) {
                (_, Some((code, _))) => (typed(&kind, &fallback), "ERROR".to_string(), code.as_str().to_string()),
                (Some(v), None) if !type_matches(&kind, v) => (
                    typed(&kind, &fallback),
                    "ERROR".to_string(),
                    "TYPE_MISMATCH".to_string(),
                ),
                (Some(v), None) => (v.clone(), e.reason.as_str().to_string(), String::new()),
                (None, None) => (typed(&kind, &fallback), e.reason.as_str().to_string(), String::new()),
            };
            assert!(e.error.is_none() || e.reason == Reason::Error);
            resolved = Some((value, reason, error, e.metadata.clone()));
        } else if t.contains("the resolved details value should be") {
            let (v, ..) = resolved.as_ref().ok_or("not evaluated")?;
            let want = &t[t.find('"').unwrap_or(0) + 1..t.rfind('"').unwrap_or(t.len())];
            if !same(&kind, v, want) {
                return Err(format!("value {v} != {want:?}"));
            }
        } else if t.contains("the reason should be") {
            let (_, r, ..) = resolved.as_ref().ok_or("not evaluated")?;
            if *r != q[0] {
                return Err(format!("reason {r} != {}", q[0]));
            }
        } else if t.contains("the error-code should be") {
            let (_, _, code, _) = resolved.as_ref().ok_or("not evaluated")?;
            if *code != q[0] {
                return Err(format!("error code {code:?} != {:?}", q[0]));
            }
        } else if t.contains("the resolved metadata is empty") {
            let (.., m) = resolved.as_ref().ok_or("not evaluated")?;
            if !m.is_empty() {
                return Err(format!("metadata {m:?} is not empty"));
            }
        } else if t.contains("the resolved metadata should contain") {
            let (.., m) = resolved.as_ref().ok_or("not evaluated")?;
            for row in step.table.iter().skip(1) {
                let want = typed(&row[1], &row[2]);
                if m.get(&row[0]) != Some(&want) {
                    return Err(format!("metadata {} = {:?}, want {want}", row[0], m.get(&row[0])));
                }
            }
        } else if t.contains("an evaluator") {
        } else {
            return Err(format!("unknown step: {t}"));
        }
    }
    Ok(())
}

#[test]
fn flagd_testbed_evaluator_suite() {
    let dir = testbed();
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("flags/testkit-flags.json")).unwrap()).unwrap();
    let flags = FlagSet::compile(&doc).unwrap();
    let mut features: Vec<_> = std::fs::read_dir(dir.join("gherkin"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "feature"))
        .collect();
    features.sort();
    assert!(features.len() >= 10, "the testbed has its feature files");
    let (mut passed, mut failures) = (0, Vec::new());
    for feature in &features {
        for scenario in parse(feature) {
            match run(&flags, &scenario) {
                Ok(()) => passed += 1,
                Err(why) => failures.push(format!(
                    "{}: {}: {why}",
                    feature.file_name().unwrap().to_string_lossy(),
                    scenario.name
                )),
            }
        }
    }
    eprintln!("flagd testbed: {passed} scenarios passed, {} failed", failures.len());
    assert!(passed >= 100, "only {passed} scenarios ran");
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}
