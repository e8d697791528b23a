fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let r = billpay_platform::tfcheck::check(std::path::Path::new(&root));
    for p in &r.problems {
        println!("{p}  [{:?}]", p.kind);
    }
    for u in &r.unchecked {
        println!("unchecked: {u}");
    }
    println!(
        "{} problems, {} modules, {} units, {} blocks",
        r.problems.len(),
        r.modules,
        r.units,
        r.blocks
    );
}
