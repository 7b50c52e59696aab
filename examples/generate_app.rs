//! `cargo run --release --example generate_app -- DIR N`: writes the benchmark's generated app
//! of N services into DIR (used by scripts/bench-render to measure the CLI's peak memory).

#[path = "../benches/generate.rs"]
mod generate;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(n)) = (args.next(), args.next().and_then(|n| n.parse().ok())) else {
        eprintln!("usage: generate_app DIR N");
        std::process::exit(2);
    };
    generate::generate_app(std::path::Path::new(&dir), n);
}
