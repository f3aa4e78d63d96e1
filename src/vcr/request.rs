//! Every call of the vCR API as a value, built without I/O: method, path, query,
//! JSON body, and whether it may be resent. [`super::Client`] only sends them, so
//! what goes on the wire is unit-tested here against the contract
//! (`docs/development/vcr-api.md`; the public reference is named in [`super::contract`]).

use reqwest::{Method, Url};
use serde::Serialize;

use super::contract;
use super::models::{
    AttachUser, CreateRepository, CreateUser, ListRepositories, PermissionRequest, UpdateUser,
};
use super::retry::Idempotency::{self, Idempotent, NotIdempotent};

/// One API call. Path segments are percent-encoded when the URL is built, so an id
/// can never escape its segment.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    pub method: Method,
    /// Path segments after the region's base URL, e.g. `["v1", "repository", id]`.
    pub segments: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<serde_json::Value>,
    pub idempotency: Idempotency,
}

impl ApiRequest {
    fn new(method: Method, segments: &[&str], idempotency: Idempotency) -> Self {
        ApiRequest {
            method,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            body: None,
            idempotency,
        }
    }
    fn get(segments: &[&str]) -> Self {
        Self::new(Method::GET, segments, Idempotent)
    }
    fn put(segments: &[&str]) -> Self {
        Self::new(Method::PUT, segments, Idempotent)
    }
    fn delete(segments: &[&str]) -> Self {
        Self::new(Method::DELETE, segments, Idempotent)
    }
    fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }
    fn query_opt(self, key: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }
    fn paged(self, page: u32, size: u32) -> Self {
        self.query("page", page).query("size", size)
    }
    fn json(mut self, body: &impl Serialize) -> Self {
        // The bodies are plain structs of strings and numbers: they always serialize.
        self.body = Some(serde_json::to_value(body).unwrap_or(serde_json::Value::Null));
        self
    }

    /// `METHOD /path` without the base, for logs and messages.
    pub fn describe(&self) -> String {
        format!("{} /{}", self.method, self.segments.join("/"))
    }

    /// The URL of the call: `base` plus the path segments, each percent-encoded (an
    /// id can never escape its segment), plus the query, form-encoded (a `/` in an
    /// image name travels as `%2F`).
    pub fn url(&self, base: &Url) -> Url {
        let mut url = base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(&self.segments);
        }
        if !self.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(self.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }
}

/// The repository calls (`/v1/repository`).
pub mod repository {
    use super::*;

    pub fn list(q: &ListRepositories) -> ApiRequest {
        ApiRequest::get(&["v1", "repository"])
            .paged(q.page, q.size)
            .query_opt("name", q.name.as_ref())
            .query_opt("accessLevel", q.access_level.map(|a| a.as_str()))
    }

    pub fn get(id: &str) -> ApiRequest {
        ApiRequest::get(&["v1", "repository", id])
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Create<'a> {
        repo_name: &'a str,
        is_public: bool,
        quota_limit: u64,
    }

    /// Not resent unless it surely never reached the server: creates are not
    /// idempotent.
    pub fn create(req: &CreateRepository) -> ApiRequest {
        ApiRequest::new(Method::POST, &["v1", "repository"], NotIdempotent).json(&Create {
            repo_name: &req.name,
            is_public: req.is_public,
            quota_limit: req.quota_limit_gb,
        })
    }

    pub fn delete(id: &str) -> ApiRequest {
        ApiRequest::delete(&["v1", "repository", id])
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Quota<'a> {
        repo_id: &'a str,
        quota_limit: u64,
    }

    pub fn set_quota(id: &str, quota_limit_gb: u64) -> ApiRequest {
        ApiRequest::put(&["v1", "repository", id, "quotas"]).json(&Quota {
            repo_id: id,
            quota_limit: quota_limit_gb,
        })
    }

    pub fn list_users(id: &str, page: u32, size: u32) -> ApiRequest {
        ApiRequest::get(&["v1", "repository", id, "user"]).paged(page, size)
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Attach<'a> {
        repo_id: &'a str,
        repo_user_list: Vec<AttachEntry<'a>>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct AttachEntry<'a> {
        repo_user_id: &'a str,
        policy_id_list: &'a [String],
    }

    pub fn attach(id: &str, users: &[AttachUser]) -> ApiRequest {
        let entries = users.iter().map(|u| AttachEntry {
            repo_user_id: &u.repo_user_id,
            policy_id_list: &u.policy_ids,
        });
        ApiRequest::put(&["v1", "repository", id, "attach"]).json(&Attach {
            repo_id: id,
            repo_user_list: entries.collect(),
        })
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Detach<'a> {
        repo_id: &'a str,
        repo_user_uuid_list: &'a [String],
    }

    pub fn detach(id: &str, user_ids: &[String]) -> ApiRequest {
        ApiRequest::put(&["v1", "repository", id, "detach"]).json(&Detach {
            repo_id: id,
            repo_user_uuid_list: user_ids,
        })
    }

    /// The image list; `name` is always sent, empty when there is no filter (see
    /// [`contract::IMAGE_LIST_NEEDS_NAME`]).
    pub fn list_images(id: &str, name: Option<&str>, page: u32, size: u32) -> ApiRequest {
        let name = match (name, contract::IMAGE_LIST_NEEDS_NAME) {
            (Some(n), _) => Some(n),
            (None, true) => Some(""),
            (None, false) => None,
        };
        ApiRequest::get(&["v1", "repository", id, "images"])
            .query_opt("name", name)
            .paged(page, size)
    }

    pub fn image_detail(id: &str, image_name: &str) -> ApiRequest {
        ApiRequest::get(&["v1", "repository", id, "images", "detail"])
            .query("imageName", image_name)
    }

    /// The artifacts of an image; `name` (a tag or digest filter) is always sent, as
    /// for the image list.
    pub fn list_artifacts(
        id: &str,
        image_name: &str,
        name: Option<&str>,
        page: u32,
        size: u32,
    ) -> ApiRequest {
        ApiRequest::get(&["v1", "repository", id, "images", "artifacts"])
            .query("imageName", image_name)
            .query("name", name.unwrap_or_default())
            .paged(page, size)
    }

    pub fn delete_image(id: &str, image_name: &str) -> ApiRequest {
        ApiRequest::delete(&["v1", "repository", id, "images", "delete"])
            .query("imageName", image_name)
    }

    pub fn delete_artifact(id: &str, image_name: &str, digest: &str) -> ApiRequest {
        ApiRequest::delete(&["v1", "repository", id, "images", "artifacts", "delete"])
            .query("imageName", image_name)
            .query("digest", digest)
    }

    pub fn history(id: &str, page: u32, size: u32) -> ApiRequest {
        ApiRequest::get(&["v1", "repository", id, "history"]).paged(page, size)
    }
}

/// The repository-user (robot account) calls (`/v1/user`).
pub mod user {
    use super::*;

    pub fn list(name: Option<&str>, page: u32, size: u32) -> ApiRequest {
        ApiRequest::get(&["v1", "user"])
            .paged(page, size)
            .query_opt("name", name)
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Create<'a> {
        name: &'a str,
        permission_request_list: &'a [PermissionRequest],
        #[serde(skip_serializing_if = "Option::is_none")]
        duration: Option<u32>,
        /// Sent only when set: see [`contract::USER_DESCRIPTION_ONLY_WHEN_SET`].
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<&'a str>,
    }

    /// Not resent unless it surely never reached the server.
    pub fn create(req: &CreateUser) -> ApiRequest {
        let description = match contract::USER_DESCRIPTION_ONLY_WHEN_SET {
            true => req.description.as_deref(),
            false => Some(req.description.as_deref().unwrap_or_default()),
        };
        ApiRequest::new(Method::POST, &["v1", "user"], NotIdempotent).json(&Create {
            name: &req.name,
            permission_request_list: &req.permissions,
            duration: req.duration_days,
            description,
        })
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Update<'a> {
        repo_user_id: &'a str,
        duration: Option<u32>,
        /// Sent only when set: see [`contract::USER_DESCRIPTION_ONLY_WHEN_SET`].
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<&'a str>,
    }

    /// The duration is always sent (`null`: never expires); the description only when
    /// set. See [`UpdateUser`].
    pub fn update(id: &str, req: &UpdateUser) -> ApiRequest {
        let description = match contract::USER_DESCRIPTION_ONLY_WHEN_SET {
            true => req.description.as_deref(),
            false => Some(req.description.as_deref().unwrap_or_default()),
        };
        ApiRequest::put(&["v1", "user", id]).json(&Update {
            repo_user_id: id,
            duration: req.duration_days,
            description,
        })
    }

    pub fn delete(id: &str) -> ApiRequest {
        ApiRequest::delete(&["v1", "user", id])
    }

    pub fn enable(id: &str) -> ApiRequest {
        ApiRequest::put(&["v1", "user", id, "enable"])
    }

    pub fn disable(id: &str) -> ApiRequest {
        ApiRequest::put(&["v1", "user", id, "disable"])
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Permissions<'a> {
        repo_user_id: &'a str,
        permission_request_list: &'a [PermissionRequest],
    }

    pub fn set_permissions(id: &str, permissions: &[PermissionRequest]) -> ApiRequest {
        ApiRequest::put(&["v1", "user", id, "permission"]).json(&Permissions {
            repo_user_id: id,
            permission_request_list: permissions,
        })
    }

    /// A GET that changes state (a new secret): not resent unless it surely never
    /// reached the server.
    pub fn refresh_secret(id: &str) -> ApiRequest {
        ApiRequest::new(Method::GET, &["v1", "user", id, "refresh"], NotIdempotent)
    }

    pub fn policies() -> ApiRequest {
        ApiRequest::get(&["v1", "user", "permissions"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcr::AccessLevel;
    use serde_json::json;

    /// One row: the request built, then what must go on the wire.
    struct Row {
        built: ApiRequest,
        call: &'static str,
        query: &'static [(&'static str, &'static str)],
        body: Option<serde_json::Value>,
        resendable: bool,
    }

    fn row(
        built: ApiRequest,
        call: &'static str,
        query: &'static [(&'static str, &'static str)],
        body: Option<serde_json::Value>,
        resendable: bool,
    ) -> Row {
        Row {
            built,
            call,
            query,
            body,
            resendable,
        }
    }

    fn permission() -> PermissionRequest {
        PermissionRequest {
            repo_id: "repo-1".into(),
            policy_ids: vec!["p-pull".into(), "p-push".into()],
        }
    }

    fn table() -> Vec<Row> {
        let list = ListRepositories {
            name: Some("app".into()),
            access_level: Some(AccessLevel::Public),
            page: 2,
            size: 50,
        };
        let create_repo = CreateRepository {
            name: "my-app".into(),
            is_public: true,
            quota_limit_gb: 20,
        };
        let attach = [AttachUser {
            repo_user_id: "ra-1".into(),
            policy_ids: vec!["p-pull".into()],
        }];
        let create_user = CreateUser {
            name: "ci-pusher".into(),
            duration_days: Some(30),
            description: None,
            permissions: vec![permission()],
        };
        let update = UpdateUser {
            duration_days: None,
            description: Some("ci".into()),
        };
        let perm = json!([{"repoId": "repo-1", "policyIdList": ["p-pull", "p-push"]}]);
        vec![
            row(
                repository::list(&list),
                "GET /v1/repository",
                &[
                    ("page", "2"),
                    ("size", "50"),
                    ("name", "app"),
                    ("accessLevel", "PUBLIC"),
                ],
                None,
                true,
            ),
            row(
                repository::list(&ListRepositories::default()),
                "GET /v1/repository",
                &[("page", "1"), ("size", "10")],
                None,
                true,
            ),
            row(
                repository::get("repo-1"),
                "GET /v1/repository/repo-1",
                &[],
                None,
                true,
            ),
            row(
                repository::create(&create_repo),
                "POST /v1/repository",
                &[],
                Some(json!({"repoName": "my-app", "isPublic": true, "quotaLimit": 20})),
                false,
            ),
            row(
                repository::delete("repo-1"),
                "DELETE /v1/repository/repo-1",
                &[],
                None,
                true,
            ),
            row(
                repository::set_quota("repo-1", 7),
                "PUT /v1/repository/repo-1/quotas",
                &[],
                Some(json!({"repoId": "repo-1", "quotaLimit": 7})),
                true,
            ),
            row(
                repository::list_users("repo-1", 1, 50),
                "GET /v1/repository/repo-1/user",
                &[("page", "1"), ("size", "50")],
                None,
                true,
            ),
            row(
                repository::attach("repo-1", &attach),
                "PUT /v1/repository/repo-1/attach",
                &[],
                Some(
                    json!({"repoId": "repo-1", "repoUserList": [{"repoUserId": "ra-1", "policyIdList": ["p-pull"]}]}),
                ),
                true,
            ),
            row(
                repository::detach("repo-1", &["ra-1".into()]),
                "PUT /v1/repository/repo-1/detach",
                &[],
                Some(json!({"repoId": "repo-1", "repoUserUuidList": ["ra-1"]})),
                true,
            ),
            row(
                repository::list_images("repo-1", None, 1, 50),
                "GET /v1/repository/repo-1/images",
                &[("name", ""), ("page", "1"), ("size", "50")],
                None,
                true,
            ),
            row(
                repository::list_images("repo-1", Some("tools/helm"), 2, 10),
                "GET /v1/repository/repo-1/images",
                &[("name", "tools/helm"), ("page", "2"), ("size", "10")],
                None,
                true,
            ),
            row(
                repository::image_detail("repo-1", "tools/helm"),
                "GET /v1/repository/repo-1/images/detail",
                &[("imageName", "tools/helm")],
                None,
                true,
            ),
            row(
                repository::list_artifacts("repo-1", "tools/helm", None, 1, 50),
                "GET /v1/repository/repo-1/images/artifacts",
                &[
                    ("imageName", "tools/helm"),
                    ("name", ""),
                    ("page", "1"),
                    ("size", "50"),
                ],
                None,
                true,
            ),
            row(
                repository::delete_artifact("repo-1", "tools/helm", "sha256:ab"),
                "DELETE /v1/repository/repo-1/images/artifacts/delete",
                &[("imageName", "tools/helm"), ("digest", "sha256:ab")],
                None,
                true,
            ),
            row(
                repository::delete_image("repo-1", "tools/helm"),
                "DELETE /v1/repository/repo-1/images/delete",
                &[("imageName", "tools/helm")],
                None,
                true,
            ),
            row(
                repository::history("repo-1", 3, 10),
                "GET /v1/repository/repo-1/history",
                &[("page", "3"), ("size", "10")],
                None,
                true,
            ),
            row(
                user::list(Some("ci"), 1, 50),
                "GET /v1/user",
                &[("page", "1"), ("size", "50"), ("name", "ci")],
                None,
                true,
            ),
            row(
                user::list(None, 1, 50),
                "GET /v1/user",
                &[("page", "1"), ("size", "50")],
                None,
                true,
            ),
            row(
                user::create(&create_user),
                "POST /v1/user",
                &[],
                Some(json!({"name": "ci-pusher", "duration": 30, "permissionRequestList": perm})),
                false,
            ),
            row(
                user::update("ra-1", &update),
                "PUT /v1/user/ra-1",
                &[],
                Some(json!({"repoUserId": "ra-1", "duration": null, "description": "ci"})),
                true,
            ),
            row(
                user::delete("ra-1"),
                "DELETE /v1/user/ra-1",
                &[],
                None,
                true,
            ),
            row(
                user::enable("ra-1"),
                "PUT /v1/user/ra-1/enable",
                &[],
                None,
                true,
            ),
            row(
                user::disable("ra-1"),
                "PUT /v1/user/ra-1/disable",
                &[],
                None,
                true,
            ),
            row(
                user::set_permissions("ra-1", &[permission()]),
                "PUT /v1/user/ra-1/permission",
                &[],
                Some(json!({"repoUserId": "ra-1", "permissionRequestList": perm})),
                true,
            ),
            row(
                user::refresh_secret("ra-1"),
                "GET /v1/user/ra-1/refresh",
                &[],
                None,
                false,
            ),
            row(
                user::policies(),
                "GET /v1/user/permissions",
                &[],
                None,
                true,
            ),
        ]
    }

    #[test]
    fn every_call_goes_on_the_wire_as_the_contract_says() {
        for r in table() {
            let b = &r.built;
            assert_eq!(b.describe(), r.call);
            let query: Vec<(&str, &str)> = b.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(query, r.query, "{}", r.call);
            assert_eq!(b.body, r.body, "{}", r.call);
            assert_eq!(b.idempotency == Idempotent, r.resendable, "{}", r.call);
        }
    }

    /// The query as the client puts it on the wire (`RequestBuilder::query`): a `/`
    /// in an image name travels percent-encoded, and an empty `name` is still sent.
    #[test]
    fn image_names_are_percent_encoded_in_the_query() {
        let on_the_wire = |call: ApiRequest| {
            let built = reqwest::Client::new()
                .get("http://127.0.0.1:1/v1")
                .query(&call.query)
                .build()
                .unwrap();
            built.url().query().unwrap_or_default().to_string()
        };
        assert_eq!(
            on_the_wire(repository::list_artifacts("r", "web/frontend", None, 1, 50)),
            "imageName=web%2Ffrontend&name=&page=1&size=50"
        );
        assert_eq!(
            on_the_wire(repository::list_images("r", Some("web/a b&c"), 2, 50)),
            "name=web%2Fa+b%26c&page=2&size=50"
        );
        assert_eq!(
            on_the_wire(repository::list_images("r", None, 1, 50)),
            "name=&page=1&size=50"
        );
    }

    #[test]
    fn urls_are_joined_and_encoded() {
        let base = Url::parse("http://127.0.0.1:1/hcm/").unwrap();
        let u = repository::get("a/b?c").url(&base);
        assert_eq!(u.as_str(), "http://127.0.0.1:1/hcm/v1/repository/a%2Fb%3Fc");
        let han = Url::parse("https://han-1.api.vngcloud.vn/vcr-api").unwrap();
        assert_eq!(
            user::policies().url(&han).as_str(),
            "https://han-1.api.vngcloud.vn/vcr-api/v1/user/permissions"
        );
        // Image names with `/` are encoded in the query; the empty name is still sent.
        let u = repository::delete_image("repo-1", "tools/helm chart&x").url(&base);
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:1/hcm/v1/repository/repo-1/images/delete?imageName=tools%2Fhelm+chart%26x"
        );
        let u = repository::list_images("repo-1", None, 1, 50).url(&base);
        assert_eq!(u.query(), Some("name=&page=1&size=50"));
    }

    #[test]
    fn a_user_description_is_sent_only_when_set() {
        let with = user::create(&CreateUser {
            name: "ci-pusher".into(),
            description: Some("pushes".into()),
            ..CreateUser::default()
        });
        assert_eq!(with.body.unwrap()["description"], "pushes");
        let without = user::create(&CreateUser::default());
        assert!(without.body.unwrap().get("description").is_none());
        let update = user::update("ra-1", &UpdateUser::default());
        let body = update.body.unwrap();
        assert!(body.get("description").is_none(), "{body}");
        assert_eq!(body["duration"], serde_json::Value::Null, "never expires");
    }
}
