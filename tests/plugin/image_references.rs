//! Image references in process: the parser over a table of real-world references
//! (with and without a registry port, nested image names, tag, digest, both) and of
//! references Docker or vCR refuse, each failure saying what is wrong; and the two
//! provider functions through CallFunction as Terraform calls them, round trips and
//! errors naming the argument. (Through a real terraform: tests/acceptance/functions.rs.)

use tonic::Request;
use vcr_provider::provider::functions::parse_image_reference::result_type;
use vcr_provider::provider::model::reference::ImageReference;
use vcr_provider::provider::VcrProvider;
use vcr_provider::tfplugin::proto::provider_server::Provider as _;
use vcr_provider::tfplugin::proto::{self, FunctionError};
use vcr_provider::tfplugin::server::ProviderService;
use vcr_provider::tfplugin::{codec, Type, Value};

fn sha256(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// A valid reference and its parts: (reference, registry, repository, image, tag,
/// digest).
type Row = (
    String,
    &'static str,
    &'static str,
    &'static str,
    Option<String>,
    Option<String>,
);

fn valid() -> Vec<Row> {
    let d = sha256('a');
    let d512 = format!("sha512:{}", "0".repeat(128));
    vec![
        (
            "vcr.vngcloud.vn/100001-my-app/web:v1".into(),
            "vcr.vngcloud.vn",
            "100001-my-app",
            "web",
            Some("v1".into()),
            None,
        ),
        (
            "vcr.vngcloud.vn/100001-my-app/web/frontend:1.2.3".into(),
            "vcr.vngcloud.vn",
            "100001-my-app",
            "web/frontend",
            Some("1.2.3".into()),
            None,
        ),
        (
            format!("vcr-han.vngcloud.vn/100001-my-app/tools/helm@{d}"),
            "vcr-han.vngcloud.vn",
            "100001-my-app",
            "tools/helm",
            None,
            Some(d.clone()),
        ),
        (
            format!("vcr.vngcloud.vn/100001-my-app/web/frontend:v2@{d}"),
            "vcr.vngcloud.vn",
            "100001-my-app",
            "web/frontend",
            Some("v2".into()),
            Some(d.clone()),
        ),
        (
            "127.0.0.1:5000/100001-my-app/web:latest".into(),
            "127.0.0.1:5000",
            "100001-my-app",
            "web",
            Some("latest".into()),
            None,
        ),
        (
            "localhost:5001/100001-my-app/a/b/c".into(),
            "localhost:5001",
            "100001-my-app",
            "a/b/c",
            None,
            None,
        ),
        (
            "localhost/100001-app/img:V1.0_rc-1".into(),
            "localhost",
            "100001-app",
            "img",
            Some("V1.0_rc-1".into()),
            None,
        ),
        (
            "vcr.vngcloud.vn:443/100001-my-app/web".into(),
            "vcr.vngcloud.vn:443",
            "100001-my-app",
            "web",
            None,
            None,
        ),
        (
            format!("registry.example.com:8443/100001-my_app/a.b_c__d--e/f0:_x@{d512}"),
            "registry.example.com:8443",
            "100001-my_app",
            "a.b_c__d--e/f0",
            Some("_x".into()),
            Some(d512.clone()),
        ),
    ]
}

/// (reference, what the error must say)
fn invalid() -> Vec<(String, &'static str)> {
    vec![
        ("".into(), "it is empty"),
        ("web:v1".into(), "no registry host and no repository"),
        (
            "my-app/web:v1".into(),
            "\"my-app\" is read as part of a Docker Hub name",
        ),
        (
            "vcr.vngcloud.vn/100001-my-app".into(),
            "no image under the repository \"100001-my-app\"",
        ),
        (
            "vcr.vngcloud.vn/100001-my-app/Web:v1".into(),
            "\"Web\" in \"Web\" is not one",
        ),
        (
            "vcr.vngcloud.vn/100001-my-app/web:".into(),
            "the tag must be a tag",
        ),
        (
            "vcr.vngcloud.vn/100001-my-app/web:-v1".into(),
            "\"-v1\" starts with \"-\"",
        ),
        (
            "vcr.vngcloud.vn/100001-my-app/web@sha256:abc".into(),
            "the digest must be a digest",
        ),
        (
            format!("vcr.vngcloud.vn/100001-my-app/web@{}", sha256('A')),
            "the digest must be a digest",
        ),
        (
            format!(
                "vcr.vngcloud.vn/100001-my-app/web@{}@{}",
                sha256('a'),
                sha256('b')
            ),
            "the digest must be a digest",
        ),
        (
            "https://vcr.vngcloud.vn/100001-my-app/web:v1".into(),
            "it has a scheme",
        ),
        (
            "vcr.vngcloud.vn/100001-my-app//web".into(),
            "has an empty part",
        ),
        (
            "vcr.vngcloud.vn/100001-my-app/web:v1:v2".into(),
            "holds ':' or '@'",
        ),
        (
            "vcr.vngcloud.vn/100001-my-app/web :v1".into(),
            "it contains ' '",
        ),
        (
            "vcr.vngcloud.vn:0/100001-my-app/web".into(),
            "the registry host must be a registry host",
        ),
        (
            "-vcr.vngcloud.vn/100001-my-app/web".into(),
            "\"-vcr\" in \"-vcr.vngcloud.vn\" is not one",
        ),
        (
            "vcr.vngcloud.vn/100001--My-app/web".into(),
            "the repository must be a repository backend name",
        ),
        (
            format!("vcr.vngcloud.vn/100001-my-app/{}", "a".repeat(240)),
            "Docker takes at most 255",
        ),
        (
            format!("vcr.vngcloud.vn/100001-my-app/web:{}", "t".repeat(129)),
            "has 129",
        ),
    ]
}

#[test]
fn real_world_references_are_read_as_docker_reads_them() {
    for (text, registry, repository, image, tag, digest) in valid() {
        let parsed = ImageReference::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let expected = ImageReference {
            registry: registry.into(),
            repository: repository.into(),
            image: image.into(),
            tag,
            digest,
        };
        assert_eq!(parsed, expected, "{text}");
        assert_eq!(parsed.to_string(), text, "written back the same");
    }
}

#[test]
fn what_docker_or_vcr_refuses_fails_saying_what_is_wrong() {
    for (text, says) in invalid() {
        let error = match ImageReference::parse(&text) {
            Ok(r) => panic!("{text:?} was accepted as {r:?}"),
            Err(e) => e,
        };
        assert!(error.contains(says), "{text:?}: {error}");
        assert!(
            error.contains("<registry>/<repository>/<image>[:<tag>][@<digest>]"),
            "{error}"
        );
    }
}

/// CallFunction on the vCR provider, unconfigured (as Terraform may call it).
async fn call(name: &str, args: &[&str]) -> Result<Value, FunctionError> {
    let service = ProviderService::new(VcrProvider);
    let answer = service
        .call_function(Request::new(proto::call_function::Request {
            name: name.into(),
            arguments: args
                .iter()
                .map(|a| codec::encode(&Value::from(*a)))
                .collect(),
        }))
        .await
        .unwrap()
        .into_inner();
    match answer.error {
        Some(e) => Err(e),
        None => {
            let ty = if name == "parse_image_reference" {
                result_type()
            } else {
                Type::String
            };
            Ok(codec::decode(answer.result.as_ref(), &ty).unwrap())
        }
    }
}

#[tokio::test]
async fn the_functions_round_trip_through_call_function() {
    for (text, registry, repository, image, tag, digest) in valid() {
        let parsed = call("parse_image_reference", &[&text]).await.unwrap();
        let field = |n: &str| parsed.attr(n).as_str().map(str::to_string);
        assert_eq!(field("registry").as_deref(), Some(registry), "{text}");
        assert_eq!(field("repository").as_deref(), Some(repository));
        assert_eq!(field("image").as_deref(), Some(image));
        assert_eq!(field("tag"), tag, "{text}: null when absent");
        assert_eq!(field("digest"), digest);
        // Joined again from its parts (a digest wins over a tag, as Docker pulls).
        let Some(last) = digest.clone().or(tag.clone()) else {
            continue;
        };
        let joined = call("image_reference", &[registry, repository, image, &last])
            .await
            .unwrap();
        let joined = joined.as_str().unwrap().to_string();
        let back = ImageReference::parse(&joined).unwrap();
        assert_eq!(
            (
                back.registry.as_str(),
                back.repository.as_str(),
                back.image.as_str()
            ),
            (registry, repository, image)
        );
        assert_eq!(back.digest.clone().or(back.tag.clone()), Some(last));
    }
}

#[tokio::test]
async fn every_function_error_names_its_argument() {
    let good = ["vcr.vngcloud.vn", "100001-my-app", "web/frontend", "v1"];
    let cases: [(usize, &str, &str); 9] = [
        (0, "https://vcr.vngcloud.vn", "has a scheme"),
        (0, "myregistry", "would be read as a Docker Hub name"),
        (1, "100001-my-app/web", "one part without '/'"),
        (1, "100001-My-app", "must be a repository backend name"),
        (2, "web/Frontend", "\"Frontend\" in \"web/Frontend\""),
        (2, "web:v1", "holds ':' or '@'"),
        (2, "", "must not be empty"),
        (3, "-v1", "must be a tag"),
        (3, "sha256:abc", "must be a digest"),
    ];
    for (index, bad, says) in cases {
        let mut args = good;
        args[index] = bad;
        let error = call("image_reference", &args).await.unwrap_err();
        assert_eq!(
            error.function_argument,
            Some(index as i64),
            "{bad:?}: {error:?}"
        );
        assert!(error.text.contains(says), "{bad:?}: {}", error.text);
    }
    let error = call("parse_image_reference", &["web:v1"])
        .await
        .unwrap_err();
    assert_eq!(error.function_argument, Some(0));

    // The same string data "vcr_image" writes in image_uri for a digest.
    let digest = sha256('c');
    let joined = call(
        "image_reference",
        &["vcr.vngcloud.vn", "100-app", "web", &digest],
    )
    .await
    .unwrap();
    let uri = ImageReference::image("vcr.vngcloud.vn", "100-app", "web").pinned(&digest);
    assert_eq!(joined.as_str(), Some(uri.to_string().as_str()));
    assert_eq!(
        joined.as_str(),
        Some(format!("vcr.vngcloud.vn/100-app/web@{digest}").as_str())
    );
}
