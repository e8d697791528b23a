//! Rendering every environment from platform.toml: read and check the manifest, render the
//! Terragrunt tree in memory, and write it to an empty folder. Reference in the same run: writing
//! the same files with plain `std::fs::write`, which is the I/O floor of any generator.
//!
//! Then `infra check`'s offline check of the repository beside the manifest (every module and
//! unit of the three environments against the provider schemas), against `infra generate` alone
//! (load + check + render + write) in the same run; and the one-time load of the schemas.
//!
//!     cargo run --release -p billpay-platform-bench -- [platform.toml] [runs]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use billpay_platform::{Prices, live, manifest};

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    (at(0.5), at(0.99), v[v.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = PathBuf::from(args.get(1).map_or("platform.toml", String::as_str));
    let runs: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(200);
    let prices = Prices::us_east_1();
    let (mut in_memory, mut to_disk, mut reference) = (Vec::new(), Vec::new(), Vec::new());
    let mut count = 0;
    for i in 0..runs + 5 {
        let t = Instant::now();
        let m = manifest::load(&path, &prices)?;
        let files = live::render(&m, &[])?;
        let rendered = t.elapsed();

        let dir = tempfile::tempdir()?;
        let t = Instant::now();
        let m = manifest::load(&path, &prices)?;
        let files2 = live::render(&m, &[])?;
        live::write(dir.path(), &files2)?;
        let generated = t.elapsed();

        let dir2 = tempfile::tempdir()?;
        let t = Instant::now();
        for f in &files {
            let p = dir2.path().join(&f.path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, &f.contents)?;
        }
        let copied = t.elapsed();
        count = files.len();
        if i >= 5 {
            in_memory.push(rendered);
            to_disk.push(generated);
            reference.push(copied);
        }
    }
    // The schemas are parsed once per process: time that on its own, first.
    let t = Instant::now();
    let schemas = billpay_platform::schema::pinned().len();
    let schema_load = t.elapsed();
    let root = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let mut checked = Vec::new();
    let mut problems = 0;
    for i in 0..runs + 5 {
        let t = Instant::now();
        let report = billpay_platform::tfcheck::check(&root);
        let took = t.elapsed();
        problems = report.problems.len();
        if i >= 5 {
            checked.push(took);
        }
    }
    let r = stats(reference.clone());
    let generate = stats(to_disk.clone());
    println!("{runs} runs, {count} files for every environment in {}", path.display());
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>12}",
        "", "p50", "p99", "max", "p99 / ref"
    );
    for (name, v) in [
        ("load + check + render (in memory)", in_memory),
        ("load + check + render + write", to_disk),
        ("reference: write the same files", reference),
    ] {
        let (p50, p99, max) = stats(v);
        println!(
            "{name:<34} {:>10} {:>10} {:>10} {:>12.2}",
            ms(p50),
            ms(p99),
            ms(max),
            p99.as_secs_f64() / r.1.as_secs_f64()
        );
    }
    let (p50, p99, max) = stats(checked);
    println!(
        "\ninfra check, schema and Terragrunt ({problems} problems): p50 {}, p99 {}, max {}; p50 / generate p50 {:.2}",
        ms(p50),
        ms(p99),
        ms(max),
        p50.as_secs_f64() / generate.0.as_secs_f64()
    );
    println!(
        "loading the {schemas} provider schemas, once per process: {}",
        ms(schema_load)
    );
    Ok(())
}
