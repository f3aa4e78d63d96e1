//! A short, bounded, deterministic run of the fuzz targets' properties (see `fuzz/`
//! for the coverage-guided runs): random and mutated inputs for the DynamicValue
//! decoder and for vcr-local's request handling.

#[path = "../../fuzz/props.rs"]
mod props;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Valid encodings to mutate, so that inputs get past the first byte.
fn seeds() -> Vec<Vec<u8>> {
    use vcr_provider::tfplugin::{codec, Value};
    let ty = props::user_state_type();
    let json = serde_json::json!({
        "id": "ra-1", "name": "ci-pusher", "quota": 20, "enabled": true,
        "tags": {"k": "v"}, "ids": [1, 2.5],
        "repository_permission": [{"repository_id": "repo-1", "permission": "pull_only"}]
    });
    let value = Value::from_json(&json).conform(&ty).unwrap();
    let mut with_unknown = value.clone();
    with_unknown.set_attr("name", Value::Unknown);
    vec![
        codec::encode_msgpack(&value),
        codec::encode_msgpack(&with_unknown),
        json.to_string().into_bytes(),
    ]
}

fn mutate(rng: &mut StdRng, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..rng.random_range(1..6) {
        match rng.random_range(0..4) {
            0 if !out.is_empty() => {
                let i = rng.random_range(0..out.len());
                out[i] = rng.random();
            }
            1 => {
                let i = rng.random_range(0..=out.len());
                out.insert(i, rng.random());
            }
            2 if !out.is_empty() => {
                let i = rng.random_range(0..out.len());
                out.truncate(i);
            }
            _ => {
                let n = rng.random_range(0..8);
                out.extend((0..n).map(|_| rng.random::<u8>()));
            }
        }
    }
    out
}

#[test]
fn dynamic_value_decoder_survives_random_and_mutated_input() {
    let mut rng = StdRng::seed_from_u64(0x5eed_d1ce);
    let seeds = seeds();
    for round in 0..20_000 {
        let input = if round % 2 == 0 {
            let seed = &seeds[rng.random_range(0..seeds.len())];
            mutate(&mut rng, seed)
        } else {
            let n = rng.random_range(0..64);
            (0..n).map(|_| rng.random::<u8>()).collect()
        };
        props::dynamic_value_round_trip(&input);
    }
}

#[tokio::test]
async fn vcr_local_answers_random_requests_without_server_errors() {
    let target = props::LocalTarget::new().await;
    let mut rng = StdRng::seed_from_u64(0x10ca1);
    let mut seen = std::collections::BTreeMap::new();
    let bodies: [&[u8]; 7] = [
        br#"{"repoName":"fuzz-repo","isPublic":false,"quotaLimit":1}"#,
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#,
        br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:0000"}]}"#,
        br#"{"name":"fuzzuser","permissionRequestList":[]}"#,
        br#"{"repoId":1,"quotaLimit":"x"}"#,
        b"[[[[",
        b"",
    ];
    for _ in 0..4_000 {
        let mut input = vec![
            rng.random::<u8>(),
            rng.random::<u8>(),
            rng.random::<u8>(),
            rng.random::<u8>(),
        ];
        let segment_len = rng.random_range(0..12);
        input.extend((0..segment_len).map(|_| rng.random_range(b'a'..=b'z')));
        input.push(0);
        let body = bodies[rng.random_range(0..bodies.len())];
        input.extend(mutate(&mut rng, body));
        if let Some(answered) = props::local_request_is_answered(&target, &input).await {
            *seen.entry(answered).or_insert(0u32) += 1;
        }
    }
    // The run reached both adapters past their doors, not only their refusals.
    for registry in [false, true] {
        let ok = seen
            .iter()
            .filter(|((r, s), _)| *r == registry && *s < 300)
            .map(|(_, n)| n)
            .sum::<u32>();
        let refused = seen
            .iter()
            .filter(|((r, s), _)| *r == registry && *s >= 400)
            .map(|(_, n)| n)
            .sum::<u32>();
        assert!(ok > 20 && refused > 20, "registry={registry}: {seen:?}");
    }
}
