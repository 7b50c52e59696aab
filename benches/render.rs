//! Render benchmark: a generated app of 1,000 services (later format: a mix of public, private
//! and worker services, each with a service.yml and Dockerfile), measured from disk to rendered
//! files in memory. Run with `cargo bench --bench render`; `scripts/bench-render` adds the peak
//! memory of the whole CLI.

mod generate;

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    generate::generate_app(dir.path(), 1000);
    let raw = exo_deploy::config::load(dir.path()).expect("generated app loads");
    let app = exo_deploy::model::resolve(&raw, None).expect("generated app resolves");
    assert_eq!(app.services.len(), 1000);
    let inputs = exo_deploy::render::Inputs::default();

    let mut group = c.benchmark_group("1000 services");
    group.sample_size(20);
    group.bench_function("load + resolve + render", |b| {
        b.iter(|| {
            let raw = exo_deploy::config::load(dir.path()).expect("load");
            let app = exo_deploy::model::resolve(&raw, None).expect("resolve");
            exo_deploy::render::render(&app, &inputs).expect("render")
        })
    });
    group.bench_function("render only", |b| {
        b.iter(|| exo_deploy::render::render(&app, &inputs).expect("render"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
