//! The properties the fuzz targets check, shared with the bounded run in `make test`
//! (`tests/plugin/fuzz_smoke.rs`), so that both exercise exactly the same code.

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

/// A vcr-local with both adapters served in-process (the management API and
/// region HCM's registry), a repository, a push user, and valid tokens for
/// each, for [`local_request_is_answered`].
pub struct LocalTarget {
    pub app: axum::Router,
    pub registry: axum::Router,
    pub bearer: String,
    pub registry_bearer: String,
}

async fn call(
    router: &axum::Router,
    request: axum::http::Request<axum::body::Body>,
) -> serde_json::Value {
    use tower::ServiceExt;
    let mut request = request;
    // As every HTTP/1.1 client does: vcr-local refuses a request without a Host
    // it answers to (DNS rebinding).
    request
        .headers_mut()
        .entry(axum::http::header::HOST)
        .or_insert(axum::http::HeaderValue::from_static("127.0.0.1"));
    let answer = router.clone().oneshot(request).await.unwrap();
    let body = axum::body::to_bytes(answer.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)
}

fn json_request(
    method: &str,
    uri: &str,
    bearer: &str,
    body: serde_json::Value,
) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {bearer}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap()
}

impl LocalTarget {
    pub async fn new() -> LocalTarget {
        use base64::Engine;
        let config = vcr_provider::local::LocalConfig::default();
        let b64 = base64::engine::general_purpose::STANDARD;
        let basic = b64.encode(format!("{}:{}", config.client_id, config.client_secret));
        let state = vcr_provider::local::AppState::new(config).expect("in-memory state");
        let app = vcr_provider::local::app(state.clone());
        let registry =
            vcr_provider::local::registry_app(state, vcr_provider::local::LocalRegion::Hcm);
        let request = axum::http::Request::post("/iam/accounts-api/v2/auth/token")
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from("grant_type=client_credentials"))
            .unwrap();
        let bearer = call(&app, request).await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let repo = call(
            &app,
            json_request(
                "POST",
                "/hcm/v1/repository",
                &bearer,
                serde_json::json!({"repoName": "fuzz-repo", "isPublic": false, "quotaLimit": 1}),
            ),
        )
        .await;
        let policies = call(
            &app,
            json_request(
                "GET",
                "/hcm/v1/user/permissions",
                &bearer,
                serde_json::Value::Null,
            ),
        )
        .await;
        let ids: Vec<&serde_json::Value> = policies
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["uuid"])
            .collect();
        let user = serde_json::json!({"name": "fuzzuser", "permissionRequestList": [{"repoId": repo["uuid"], "policyIdList": ids}]});
        let secret = call(&app, json_request("POST", "/hcm/v1/user", &bearer, user)).await
            ["secretKey"]
            .as_str()
            .unwrap()
            .to_string();
        let login = b64.encode(format!("100001-fuzzuser:{secret}"));
        let request = axum::http::Request::get(
            "/service/token?scope=repository:100001-fuzz-repo/img:pull,push,delete",
        )
        .header("authorization", format!("Basic {login}"))
        .body(axum::body::Body::empty())
        .unwrap();
        let registry_bearer = call(&registry, request).await["token"]
            .as_str()
            .unwrap()
            .to_string();
        LocalTarget {
            app,
            registry,
            bearer,
            registry_bearer,
        }
    }
}

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"];
const API_PATHS: [&str; 14] = [
    "/hcm/v1/repository",
    "/han/v1/repository/",
    "/hcm/v1/repository/{}/quotas",
    "/hcm/v1/repository/{}/attach",
    "/hcm/v1/repository/{}/images/delete",
    "/hcm/v1/repository/{}/images/artifacts",
    "/hcm/v1/repository/{}/images/detail",
    "/hcm/v1/user",
    "/hcm/v1/user/{}",
    "/hcm/v1/user/{}/permission",
    "/han/v1/user/{}/refresh",
    "/iam/accounts-api/v2/auth/token",
    "/_local/faults",
    "/{}",
];
const REGISTRY_PATHS: [&str; 10] = [
    "/v2/",
    "/v2/{}",
    "/v2/100001-fuzz-repo/img/manifests/{}",
    "/v2/100001-fuzz-repo/{}/manifests/latest",
    "/v2/100001-fuzz-repo/img/blobs/{}",
    "/v2/100001-fuzz-repo/img/blobs/uploads/",
    "/v2/100001-fuzz-repo/img/blobs/uploads/{}",
    "/v2/100001-fuzz-repo/img/tags/list",
    "/v2/{}/tags/list",
    "/service/token",
];
const QUERIES: [&str; 6] = [
    "?page=1&size=5&name=",
    "?page=0&size=-1&name=%FF",
    "?digest=sha256:{}",
    "?mount=sha256:{}&from=100001-fuzz-repo/{}",
    "?n={}&last={}",
    "?scope=repository:100001-fuzz-repo/{}:pull,push&service=harbor-registry",
];

/// Sends a request built from arbitrary bytes (listener, method, path, token
/// or not, query and body) to vcr-local's API or registry: it is answered,
/// never with a 5xx (but the images list without `name`, a deliberate 500 as
/// the real service answers), and nothing panics.
/// Answers which adapter got it and the status, when a request was sent.
pub async fn local_request_is_answered(target: &LocalTarget, data: &[u8]) -> Option<(bool, u16)> {
    use tower::ServiceExt;
    if data.len() < 4 {
        return None;
    }
    let to_registry = data[3] & 1 == 1;
    let method = METHODS[data[0] as usize % METHODS.len()];
    let templates: &[&str] = if to_registry {
        &REGISTRY_PATHS
    } else {
        &API_PATHS
    };
    let template = templates[data[1] as usize % templates.len()];
    let with_token = data[2] & 3 != 0;
    let rest = &data[4..];
    let split = rest
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(rest.len().min(16));
    let segment: String = String::from_utf8_lossy(&rest[..split])
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.~:".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let body = rest.get(split + 1..).unwrap_or_default().to_vec();
    let path = template.replace("{}", &segment);
    let query = QUERIES[(data[2] >> 2) as usize % QUERIES.len()].replace("{}", &segment);
    // Mostly this machine, so that every listener (and /_local/) is reached past
    // the Host check.
    let host = if data[3] & 6 == 6 {
        "elsewhere.example"
    } else {
        "127.0.0.1:8080"
    };
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(format!("{path}{query}"))
        .header("host", host)
        .header(
            "content-type",
            if data[2] & 4 == 0 {
                "application/json"
            } else {
                "text/plain"
            },
        );
    if with_token {
        let bearer = if to_registry {
            &target.registry_bearer
        } else {
            &target.bearer
        };
        request = request.header("authorization", format!("Bearer {bearer}"));
    }
    let Ok(request) = request.body(axum::body::Body::from(body)) else {
        return None;
    };
    let router = if to_registry {
        &target.registry
    } else {
        &target.app
    };
    let answer = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router answers");
    let status = answer.status();
    let deliberate = !to_registry && path.ends_with("/images") && !query.contains("name=");
    assert!(
        !status.is_server_error() || deliberate,
        "{method} {path}{query}: {status}"
    );
    Some((to_registry, status.as_u16()))
}
