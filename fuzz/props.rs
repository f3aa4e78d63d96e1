//! The properties the fuzz targets check, shared with the bounded run in `make test`
//! (`tests/fuzz_smoke.rs`), so that both exercise exactly the same code.

use std::collections::BTreeMap;

use vcr_provider::tfplugin::codec;
use vcr_provider::tfplugin::Type;

/// The type of a repository user's state: strings, numbers, bools, a map and a set of
/// nested objects, so every decoder path is reachable.
pub fn user_state_type() -> Type {
    let permission = Type::Object(BTreeMap::from([
        ("repository_id".to_string(), Type::String),
        ("permission".to_string(), Type::String),
    ]));
    Type::Object(BTreeMap::from([
        ("id".to_string(), Type::String),
        ("name".to_string(), Type::String),
        ("quota".to_string(), Type::Number),
        ("enabled".to_string(), Type::Bool),
        ("tags".to_string(), Type::map(Type::String)),
        ("ids".to_string(), Type::list(Type::Number)),
        ("repository_permission".to_string(), Type::set(permission)),
        ("any".to_string(), Type::Dynamic),
    ]))
}

/// Decoding arbitrary bytes never panics; whatever decodes encodes to bytes that
/// decode to the same value.
pub fn dynamic_value_round_trip(bytes: &[u8]) {
    let ty = user_state_type();
    for input_as_json in [false, true] {
        let decoded = if input_as_json {
            codec::decode_json(bytes, &ty)
        } else {
            codec::decode_msgpack(bytes, &ty)
        };
        if let Ok(value) = decoded {
            let again = codec::encode_msgpack(&value);
            let back = codec::decode_msgpack(&again, &ty).expect("re-decoding our own encoding");
            // Dynamic values lose their wire type when re-encoded; compare the rest.
            let strip = |mut v: vcr_provider::tfplugin::Value| {
                v.set_attr("any", vcr_provider::tfplugin::Value::Null);
                v
            };
            assert_eq!(strip(back), strip(value));
        }
    }
}

/// A vcr-local app with a valid token, for [`local_request_is_answered`].
pub struct LocalTarget {
    pub app: axum::Router,
    pub bearer: String,
}

impl LocalTarget {
    pub async fn new() -> LocalTarget {
        use tower::ServiceExt;
        let config = vcr_provider::local::LocalConfig::default();
        let basic = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", config.client_id, config.client_secret))
        };
        let app = vcr_provider::local::app(
            vcr_provider::local::AppState::new(config).expect("in-memory state"),
        );
        let request = axum::http::Request::post("/iam/accounts-api/v2/auth/token")
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from("grant_type=client_credentials"))
            .unwrap();
        let answer = app.clone().oneshot(request).await.unwrap();
        let body = axum::body::to_bytes(answer.into_body(), 1 << 20)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        LocalTarget {
            app,
            bearer: json["access_token"].as_str().unwrap().to_string(),
        }
    }
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];
const PATHS: [&str; 12] = [
    "/hcm/v1/repository",
    "/han/v1/repository/",
    "/hcm/v1/repository/{}/quotas",
    "/hcm/v1/repository/{}/attach",
    "/hcm/v1/repository/{}/images/delete",
    "/hcm/v1/user",
    "/hcm/v1/user/{}",
    "/hcm/v1/user/{}/permission",
    "/han/v1/user/{}/refresh",
    "/iam/accounts-api/v2/auth/token",
    "/_local/hcm/repositories/{}/images",
    "/{}",
];

/// Sends a request built from arbitrary bytes (method, path, token or not, query and
/// body) to vcr-local: it is answered, never with a 5xx, and nothing panics.
pub async fn local_request_is_answered(target: &LocalTarget, data: &[u8]) {
    use tower::ServiceExt;
    if data.len() < 3 {
        return;
    }
    let method = METHODS[data[0] as usize % METHODS.len()];
    let template = PATHS[data[1] as usize % PATHS.len()];
    let with_token = data[2] % 4 != 0;
    let rest = &data[3..];
    let split = rest
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(rest.len().min(16));
    let segment: String = String::from_utf8_lossy(&rest[..split])
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.~".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let body = rest.get(split + 1..).unwrap_or_default().to_vec();
    let path = template.replace("{}", &segment);
    let query = if data[2] % 3 == 0 {
        "?page=0&size=-1&name=%FF"
    } else {
        "?page=1&size=5"
    };
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(format!("{path}{query}"))
        .header(
            "content-type",
            if data[2] % 2 == 0 {
                "application/json"
            } else {
                "text/plain"
            },
        );
    if with_token {
        request = request.header("authorization", format!("Bearer {}", target.bearer));
    }
    let Ok(request) = request.body(axum::body::Body::from(body)) else {
        return;
    };
    let answer = target
        .app
        .clone()
        .oneshot(request)
        .await
        .expect("the router answers");
    let status = answer.status();
    assert!(!status.is_server_error(), "{method} {path}: {status}");
}
