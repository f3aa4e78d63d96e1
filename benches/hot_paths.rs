//! Hot paths of the provider, measured with criterion: what every RPC of a plan or an
//! apply pays for besides the API calls.
//!
//! - msgpack decode and encode of a `vcr_repository` state, and of a
//!   `vcr_repository_user` state with 50 `repository_permission` blocks;
//! - planning one `vcr_repository`: the framework's plan plus the resource's
//!   `modify_plan`, for a create, a plan with no change (what each of the N
//!   resources of a no-change plan costs) and an in-place update;
//! - the whole PlanResourceChange body as the server runs it: three decodes, the
//!   plan, and the encode of the planned state;
//! - the typed-state round trip a read or an apply makes (`from_value`/`to_value`).
//!
//! `cargo bench --bench hot_paths`; `make bench` runs it and copies the medians into
//! BENCHMARKS.md. Under `cargo test --all-targets` each bench runs once, as a smoke test.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use serde_json::json;
use vcr_provider::provider::config::Settings;
use vcr_provider::provider::repository::{self, RepositoryResource, RepositoryState};
use vcr_provider::provider::repository_user;
use vcr_provider::provider::ProviderData;
use vcr_provider::tfplugin::plan::PlanRequest;
use vcr_provider::tfplugin::state::{from_value, to_value};
use vcr_provider::tfplugin::{codec, plan, Resource, Schema, Value};

/// Runs a future that never waits on I/O (the plan hooks) to completion.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the plan hook waited on something"),
    }
}

fn request(prior: Value, proposed: Value, config: Value) -> PlanRequest {
    PlanRequest {
        prior,
        proposed,
        config,
        ..PlanRequest::default()
    }
}

fn value(schema: &Schema, json: serde_json::Value) -> Value {
    Value::from_json(&json)
        .conform(&schema.value_type())
        .expect("the bench's value matches the schema")
}

fn repository_state(quota: i64) -> serde_json::Value {
    json!({
        "id": "6d1f6a53-3c8e-4f57-9a0e-6b2f3d9c1a42",
        "name": "bench-0042",
        "access_level": "private",
        "quota_limit_gb": quota,
        "region": "HCM",
        "force_destroy": false,
        "backend_name": "100001-bench-0042",
        "registry_url": "vcr.vngcloud.vn/100001-bench-0042",
        "quota_used_gb": 0.0,
        "image_count": 0,
        "created_at": "2026-05-01T10:20:30Z",
    })
}

fn repository_config(quota: i64) -> serde_json::Value {
    json!({ "name": "bench-0042", "quota_limit_gb": quota })
}

fn user_state(permissions: usize) -> serde_json::Value {
    let perms: Vec<_> = (0..permissions)
        .map(|i| {
            json!({
                "repository_id": format!("6d1f6a53-3c8e-4f57-9a0e-{i:012}"),
                "permission": if i % 2 == 0 { "push_pull" } else { "pull_only" },
            })
        })
        .collect();
    json!({
        "id": "ra-5b0c2d4e-1f3a-4b6c-8d9e-0a1b2c3d4e5f",
        "name": "ci-pusher",
        "description": "pushes from CI",
        "expiration_date": "2027-06-30",
        "enabled": true,
        "region": "HCM",
        "repository_permission": perms,
        "rotation_triggers": { "month": "2027-01" },
        "backend_name": "100001-ci-pusher",
        "secret": "s3cr3t-not-real",
        "expires_at": "2027-06-30T23:59:59Z",
        "expired": false,
        "created_at": "2026-05-01T10:20:30Z",
    })
}

fn provider_data() -> ProviderData {
    ProviderData::new(Settings {
        region: "HCM".into(),
        client_id: Some("bench".into()),
        client_secret: Some("bench".into()),
        token_url: Some("http://127.0.0.1:9/token".into()),
        endpoint_hcm: Some("http://127.0.0.1:9/hcm".into()),
        endpoint_han: Some("http://127.0.0.1:9/han".into()),
        registry_overrides: [None, None],
        max_retries: 0,
        max_parallel_requests: 8,
        skip_credentials_validation: true,
        insecure_http: false,
    })
    .expect("provider data")
}

fn codec_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec");
    let repo_schema = repository::schema();
    let repo_ty = repo_schema.value_type();
    let repo = value(&repo_schema, repository_state(20));
    let repo_bytes = codec::encode_msgpack(&repo);
    assert_eq!(
        codec::decode_msgpack(&repo_bytes, &repo_ty).unwrap(),
        repo,
        "round trip"
    );
    g.bench_function("decode repository state", |b| {
        b.iter(|| codec::decode_msgpack(black_box(&repo_bytes), &repo_ty).unwrap())
    });
    g.bench_function("encode repository state", |b| {
        b.iter(|| codec::encode_msgpack(black_box(&repo)))
    });

    let user_schema = repository_user::schema();
    let user_ty = user_schema.value_type();
    let user = value(&user_schema, user_state(50));
    let user_bytes = codec::encode_msgpack(&user);
    assert_eq!(
        codec::decode_msgpack(&user_bytes, &user_ty).unwrap(),
        user,
        "round trip"
    );
    g.bench_function("decode user state, 50 permissions", |b| {
        b.iter(|| codec::decode_msgpack(black_box(&user_bytes), &user_ty).unwrap())
    });
    g.bench_function("encode user state, 50 permissions", |b| {
        b.iter(|| codec::encode_msgpack(black_box(&user)))
    });
    g.finish();
}

fn plan_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("plan repository");
    let schema = repository::schema();
    let data = provider_data();
    let resource = RepositoryResource;

    // Create: no prior state; the proposal is the configuration.
    let config = value(&schema, repository_config(20));
    g.bench_function("create", |b| {
        b.iter_batched(
            || (config.clone(), config.clone()),
            |(proposed, config)| {
                let mut p = plan::plan(&schema, request(Value::Null, proposed, config));
                ready(resource.modify_plan(Some(&data), &mut p)).unwrap();
                p
            },
            BatchSize::SmallInput,
        )
    });

    // No change: Terraform proposes the prior state.
    let prior = value(&schema, repository_state(20));
    g.bench_function("no change", |b| {
        b.iter_batched(
            || (prior.clone(), prior.clone(), config.clone()),
            |(prior, proposed, config)| {
                let mut p = plan::plan(&schema, request(prior, proposed, config));
                ready(resource.modify_plan(Some(&data), &mut p)).unwrap();
                assert!(p.requires_replace.is_empty());
                p
            },
            BatchSize::SmallInput,
        )
    });

    // Update in place: the quota changes.
    let config40 = value(&schema, repository_config(40));
    let proposed40 = value(&schema, repository_state(40));
    g.bench_function("update quota", |b| {
        b.iter_batched(
            || (prior.clone(), proposed40.clone(), config40.clone()),
            |(prior, proposed, config)| {
                let mut p = plan::plan(&schema, request(prior, proposed, config));
                ready(resource.modify_plan(Some(&data), &mut p)).unwrap();
                p
            },
            BatchSize::SmallInput,
        )
    });

    // The body of PlanResourceChange for a no-change plan, wire bytes to wire bytes.
    let ty = schema.value_type();
    let prior_mp = codec::encode_msgpack(&prior);
    let config_mp = codec::encode_msgpack(&config);
    g.bench_function("no change, msgpack in and out", |b| {
        b.iter(|| {
            let prior = codec::decode_msgpack(black_box(&prior_mp), &ty).unwrap();
            let proposed = codec::decode_msgpack(black_box(&prior_mp), &ty).unwrap();
            let config = codec::decode_msgpack(black_box(&config_mp), &ty).unwrap();
            let mut p = plan::plan(&schema, request(prior, proposed, config));
            ready(resource.modify_plan(Some(&data), &mut p)).unwrap();
            codec::encode_msgpack(&p.planned)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("typed state");
    g.bench_function("repository from_value + to_value", |b| {
        b.iter(|| {
            let s: RepositoryState = from_value(black_box(&prior)).unwrap();
            to_value(&s, &schema).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, codec_benches, plan_benches);
criterion_main!(benches);
