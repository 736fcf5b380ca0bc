//! The key pass alone: one 1280×720 I420 frame keyed into RGBA on whatever adapter is present
//! (lavapipe on a machine without a GPU). The frame and parameters are uploaded once; each
//! iteration records the pass, submits it and waits for the device, with no readback.
//! For scale, the same run also times upload + key + readback, as `courtroom key` does.

use courtroom::gpu::{AdapterChoice, Gpu};
use courtroom::keying::picture::synthetic_person;
use courtroom::keying::{estimate, KeyParams, KeyPass};
use criterion::{criterion_group, criterion_main, Criterion};

fn key_pass(c: &mut Criterion) {
    let gpu = Gpu::open(AdapterChoice::Auto).expect("an adapter");
    eprintln!("adapter: {}", gpu.adapter_name);
    let frame = synthetic_person(1280, 720, [200, 150, 120], 0);
    let params = KeyParams {
        screen: Some(estimate(&frame).expect("a screen").model),
        ..Default::default()
    };
    let mut pass = KeyPass::new(gpu);
    pass.upload(&frame, &params);
    pass.run().unwrap();
    c.bench_function("key_pass_1280x720", |b| b.iter(|| pass.run().unwrap()));
    c.bench_function("key_upload_pass_readback_1280x720", |b| {
        b.iter(|| pass.key(&frame, &params).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = key_pass
}
criterion_main!(benches);
