//! Typed models of the vCR API, deserialized tolerantly: a missing optional
//! field takes its default, numbers may come as integers, floats or strings.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Whether a repository can be pulled without credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AccessLevel {
    /// Anyone can pull (`PUBLIC`).
    Public,
    /// Pulling needs credentials (`PRIVATE`).
    #[default]
    Private,
}

impl AccessLevel {
    /// The API's spelling: `PUBLIC` or `PRIVATE`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Public => "PUBLIC",
            AccessLevel::Private => "PRIVATE",
        }
    }

    /// Whether this is [`AccessLevel::Public`].
    pub fn is_public(self) -> bool {
        self == AccessLevel::Public
    }
}

impl fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AccessLevel {
    type Err = String;

    /// Parses `public` or `private` in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("public") {
            Ok(AccessLevel::Public)
        } else if s.trim().eq_ignore_ascii_case("private") {
            Ok(AccessLevel::Private)
        } else {
            Err(format!(
                "unknown access level {s:?}: expected PUBLIC or PRIVATE"
            ))
        }
    }
}

impl Serialize for AccessLevel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AccessLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A repository (`RepositoryDto`).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Repository {
    /// The id, e.g. `repo-<uuid>`.
    pub uuid: String,
    /// The name as sent at creation.
    pub name: String,
    /// `{accountId}-{name}`: the path segment in image names.
    pub backend_name: String,
    /// Public or private.
    pub access_level: AccessLevel,
    /// How many images the repository holds.
    #[serde(deserialize_with = "lenient_u64")]
    pub image_count: u64,
    /// How many repository users are attached.
    #[serde(deserialize_with = "lenient_u64")]
    pub attached_user: u64,
    /// The quota in whole GB.
    #[serde(deserialize_with = "lenient_u64")]
    pub quota_limit: u64,
    /// The storage used, in GB (may be fractional).
    #[serde(deserialize_with = "lenient_f64")]
    pub quota_used: f64,
    /// Where the images live.
    #[serde(deserialize_with = "lenient_string")]
    pub registry_url: String,
    /// Creation time as the server wrote it.
    #[serde(deserialize_with = "lenient_string")]
    pub created_at: String,
}

/// What never changes for the life of a repository (vCR has no rename call): its
/// registry URL and
/// name and the path segment its images live under.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepositoryNames {
    /// The id, e.g. `repo-<uuid>`.
    pub uuid: String,
    /// The name as sent at creation.
    pub name: String,
    /// `{accountId}-{name}`.
    pub backend_name: String,
    /// Where the images live, as vCR reports it (`registryUrl`; may be empty).
    pub registry_url: String,
}

impl RepositoryNames {
    /// The names an answer carries, when it carries both.
    pub fn of(repo: &Repository) -> Option<RepositoryNames> {
        (!repo.uuid.is_empty() && !repo.name.is_empty() && !repo.backend_name.is_empty()).then(
            || RepositoryNames {
                uuid: repo.uuid.clone(),
                name: repo.name.clone(),
                backend_name: repo.backend_name.clone(),
                registry_url: repo.registry_url.clone(),
            },
        )
    }
}

/// A permission policy (`GET /v1/user/permissions`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct Policy {
    /// The policy id, used in `policyIdList`.
    #[serde(deserialize_with = "lenient_string")]
    pub uuid: String,
    /// What it allows, e.g. `Pull Images` (wording differs between sources).
    #[serde(deserialize_with = "lenient_string")]
    pub action: String,
    /// The same text under the other field name one source uses (see
    /// [`super::contract::POLICY_TEXT_FIELDS`]); empty when the answer uses `action`.
    #[serde(
        deserialize_with = "lenient_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
}

/// What a policy allows, recognised loosely from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Pulling images.
    Pull,
    /// Pushing images.
    Push,
    /// "All": never attached (see [`super::contract::ALL_POLICY_TEXT`]).
    All,
}

impl Policy {
    /// The policy's text, from whichever field the answer used.
    pub fn text(&self) -> &str {
        if self.action.trim().is_empty() {
            &self.name
        } else {
            &self.action
        }
    }

    /// Recognises the policy by its text ("Pull Images", "Pull repository", "pull",
    /// "All"...), ignoring case. `None` for anything else, such as a text naming both
    /// push and pull.
    pub fn kind(&self) -> Option<PolicyKind> {
        let text = self.text().trim().to_ascii_lowercase();
        if text == super::contract::ALL_POLICY_TEXT {
            return Some(PolicyKind::All);
        }
        match (text.contains("pull"), text.contains("push")) {
            (true, false) => Some(PolicyKind::Pull),
            (false, true) => Some(PolicyKind::Push),
            _ => None,
        }
    }
}

/// The portal's two permission levels on a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// The pull policy alone ("Pull Only").
    PullOnly,
    /// The pull and push policies ("Push&Pull").
    PushPull,
}

impl Permission {
    /// The policy ids that make up this permission, looked up in `policies`
    /// (from [`crate::vcr::Users::policies`]): the pull policy, and the push policy
    /// for push and pull; never "All". Errors when a needed policy is missing.
    pub fn policy_ids(self, policies: &[Policy]) -> Result<Vec<String>, String> {
        let find = |kind: PolicyKind| {
            policies
                .iter()
                .find(|p| p.kind() == Some(kind))
                .map(|p| p.uuid.clone())
                .ok_or_else(|| {
                    let known: Vec<&str> = policies.iter().map(Policy::text).collect();
                    format!("the service lists no {kind:?} policy (policies: {known:?})")
                })
        };
        match self {
            Permission::PullOnly => Ok(vec![find(PolicyKind::Pull)?]),
            Permission::PushPull => Ok(vec![find(PolicyKind::Pull)?, find(PolicyKind::Push)?]),
        }
    }

    /// The permission a set of policies amounts to: push and pull, pull only,
    /// or `None` when it is neither (e.g. push alone, "All" alone, or nothing: the
    /// provider then sets the user's permissions again, with pull and push).
    pub fn from_policies<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> Option<Permission> {
        let (mut pull, mut push) = (false, false);
        for p in policies {
            match p.kind() {
                Some(PolicyKind::Pull) => pull = true,
                Some(PolicyKind::Push) => push = true,
                Some(PolicyKind::All) | None => {}
            }
        }
        match (pull, push) {
            (true, true) => Some(Permission::PushPull),
            (true, false) => Some(Permission::PullOnly),
            _ => None,
        }
    }
}

/// A user's permissions on one repository (an item of `repoPermissionList`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct RepoPermission {
    /// The repository id.
    #[serde(deserialize_with = "lenient_string")]
    pub repo_id: String,
    /// The repository name.
    #[serde(deserialize_with = "lenient_string")]
    pub repo_name: String,
    /// The repository's backend name.
    #[serde(deserialize_with = "lenient_string")]
    pub backend_repo_name: String,
    /// The policies granted.
    #[serde(deserialize_with = "lenient_vec")]
    pub policy_dto_list: Vec<Policy>,
}

/// A repository user, i.e. a robot account (`RobotAccountDto`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct RobotAccount {
    /// The id, e.g. `ra-<uuid>` (the API's `repoUserId`).
    pub uuid: String,
    /// The name as sent at creation.
    pub name: String,
    /// `{accountId}-{name}`: the `docker login` user name.
    #[serde(deserialize_with = "lenient_string")]
    pub backend_name: String,
    /// The description, if any.
    pub description: Option<String>,
    /// Whether the user is disabled.
    #[serde(deserialize_with = "lenient_bool")]
    pub disable: bool,
    /// When the user expires, or `None` for never.
    pub expired_at: Option<String>,
    /// Creation time as the server wrote it.
    #[serde(deserialize_with = "lenient_string")]
    pub created_at: String,
    /// The owning IAM user id.
    #[serde(deserialize_with = "lenient_u64")]
    pub user_id: u64,
    /// On how many repositories the user has permissions.
    #[serde(deserialize_with = "lenient_u64")]
    pub number_of_repo: u64,
    /// The permissions, per repository.
    #[serde(deserialize_with = "lenient_vec")]
    pub repo_permission_list: Vec<RepoPermission>,
}

/// An image in a repository (`ImageDto`). **Assumed** shape, Harbor-like: the
/// reference publishes no fields; unknown fields are ignored. This struct and
/// [`Artifact`] are the one place that names the assumed fields.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Image {
    /// The image name, under the repository (may hold `/`, e.g. `tools/helm`).
    #[serde(deserialize_with = "lenient_string")]
    pub name: String,
    /// How many artifacts (manifests) it holds.
    #[serde(deserialize_with = "lenient_u64")]
    pub artifact_count: u64,
    /// How many times it was pulled.
    #[serde(deserialize_with = "lenient_u64")]
    pub pull_count: u64,
    /// When it last changed, as the server wrote it.
    #[serde(deserialize_with = "lenient_string")]
    pub update_time: String,
}

/// An artifact of an image: a manifest, by digest, with its tags (`ArtifactDto`).
/// **Assumed** shape, Harbor-like; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Artifact {
    /// `sha256:...`.
    #[serde(deserialize_with = "lenient_string")]
    pub digest: String,
    /// Its tags (none for an untagged manifest): names, whether the server sends
    /// them as strings or as Harbor's tag objects (`{"name","pushTime","pullTime"}`).
    #[serde(deserialize_with = "tag_names")]
    pub tags: Vec<String>,
    /// Bytes of the manifest and what it references.
    #[serde(deserialize_with = "lenient_u64")]
    pub size: u64,
    /// When it was pushed, as the server wrote it.
    #[serde(deserialize_with = "lenient_string")]
    pub push_time: String,
    /// When it was last pulled, as the server wrote it; empty when never (or when
    /// the server does not say).
    #[serde(deserialize_with = "lenient_string")]
    pub pull_time: String,
    /// The manifest's media type.
    #[serde(deserialize_with = "lenient_string")]
    pub media_type: String,
}

/// An entry of a repository's history. **Assumed** shape; unknown fields are
/// kept in `extra`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct HistoryEntry {
    /// What happened.
    #[serde(deserialize_with = "lenient_string")]
    pub action: String,
    /// Details.
    #[serde(deserialize_with = "lenient_string")]
    pub detail: String,
    /// When.
    #[serde(deserialize_with = "lenient_string")]
    pub created_at: String,
    /// Any other field the server sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One page of a list: `{"listData":[...],"page","pageSize","totalPage","totalItem"}`
/// (the items may come as `data` instead of `listData`).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The page number (1-based).
    pub page: u32,
    /// The page size.
    pub page_size: u32,
    /// How many pages there are.
    pub total_page: u32,
    /// How many items there are in all.
    pub total_item: u64,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            page: 0,
            page_size: 0,
            total_page: 0,
            total_item: 0,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Page<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw<T> {
            #[serde(default = "none")]
            list_data: Option<Vec<T>>,
            #[serde(default = "none")]
            data: Option<Vec<T>>,
            #[serde(default, deserialize_with = "lenient_u64")]
            page: u64,
            #[serde(default, deserialize_with = "lenient_u64")]
            page_size: u64,
            #[serde(default, deserialize_with = "lenient_u64")]
            total_page: u64,
            #[serde(default, deserialize_with = "lenient_u64")]
            total_item: u64,
        }
        fn none<T>() -> Option<T> {
            None
        }
        let raw = Raw::<T>::deserialize(d)?;
        let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Ok(Page {
            items: raw.list_data.or(raw.data).unwrap_or_default(),
            page: clamp(raw.page),
            page_size: clamp(raw.page_size),
            total_page: clamp(raw.total_page),
            total_item: raw.total_item,
        })
    }
}

// ---- requests -------------------------------------------------------------

/// Query of `GET /v1/repository`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRepositories {
    /// Filter by name (the server may match substrings).
    pub name: Option<String>,
    /// Filter by access level.
    pub access_level: Option<AccessLevel>,
    /// The page, 1-based.
    pub page: u32,
    /// The page size.
    pub size: u32,
}

impl Default for ListRepositories {
    fn default() -> Self {
        ListRepositories {
            name: None,
            access_level: None,
            page: 1,
            size: 10,
        }
    }
}

/// Body of `POST /v1/repository`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRepository {
    /// 6 to 20 of `a-z 0-9 _ -`, starting with a letter or digit.
    pub name: String,
    /// Public or private (cannot be changed later).
    pub is_public: bool,
    /// Quota in whole GB, at least 1.
    pub quota_limit_gb: u64,
}

/// A user and the policies to grant it on a repository (`PUT .../attach`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachUser {
    /// The user's id (`repoUserId`).
    pub repo_user_id: String,
    /// The policies to grant.
    pub policy_ids: Vec<String>,
}

/// The policies to grant on one repository (`permissionRequestList` item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRequest {
    /// The repository id.
    pub repo_id: String,
    /// The policies to grant.
    #[serde(rename = "policyIdList")]
    pub policy_ids: Vec<String>,
}

/// Body of `POST /v1/user`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateUser {
    /// 6 to 14 of `a-zA-Z0-9_-`, starting with a letter or digit.
    pub name: String,
    /// Days until the user expires; `None` for never.
    pub duration_days: Option<u32>,
    /// A description.
    pub description: Option<String>,
    /// The permissions to grant.
    pub permissions: Vec<PermissionRequest>,
}

/// Body of `PUT /v1/user/{id}`. Both fields are sent as given (`None` as
/// `null`): **assumed** the server treats the call as a replacement, so a
/// `None` duration means "never expires" and counts from the time of the call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateUser {
    /// Days from now until the user expires; `None` for never.
    pub duration_days: Option<u32>,
    /// The description.
    pub description: Option<String>,
}

// ---- tolerant field decoders ------------------------------------------------

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
            .unwrap_or(0),
        Some(serde_json::Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map(|f| f.max(0.0).round() as u64)
            .unwrap_or(0),
        _ => 0,
    })
}

fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(serde_json::Value::String(s)) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Bool(b)) => b,
        Some(serde_json::Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(serde_json::Value::Number(n)) => n.as_i64().is_some_and(|i| i != 0),
        _ => false,
    })
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    })
}

/// Tag names from a list of strings or of tag objects with a `name`. Tag objects'
/// pull times are not kept here: [`Artifact::pull_time`] is the artifact's.
fn tag_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Tag {
        Name(String),
        Object {
            #[serde(default)]
            name: String,
        },
        /// Anything else (a number, null): no tag.
        Other(serde::de::IgnoredAny),
    }
    let tags = Option::<Vec<Tag>>::deserialize(d)?.unwrap_or_default();
    Ok(tags
        .into_iter()
        .filter_map(|t| match t {
            Tag::Name(n) | Tag::Object { name: n } if !n.is_empty() => Some(n),
            _ => None,
        })
        .collect())
}

fn lenient_vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_accepts_list_data_or_data() {
        let p: Page<Policy> =
            serde_json::from_str(r#"{"listData":[{"uuid":"a","action":"Pull Images"}],"page":1,"pageSize":10,"totalPage":1,"totalItem":1}"#).unwrap();
        assert_eq!(p.items.len(), 1);
        assert_eq!(p.total_item, 1);
        let p: Page<Policy> =
            serde_json::from_str(r#"{"data":[{"uuid":"a"}],"page":"2"}"#).unwrap();
        assert_eq!(p.items.len(), 1);
        assert_eq!(p.page, 2);
        let p: Page<Policy> = serde_json::from_str(r#"{"listData":null}"#).unwrap();
        assert!(p.items.is_empty());
    }

    #[test]
    fn artifact_tags_as_strings_or_objects() {
        let a: Artifact = serde_json::from_str(
            r#"{"digest":"sha256:a","tags":["v1","v2"],"size":10,"pushTime":"2026-01-01T00:00:00.123Z","pullTime":null}"#,
        )
        .unwrap();
        assert_eq!(a.tags, ["v1", "v2"]);
        assert_eq!(a.pull_time, "");
        let a: Artifact = serde_json::from_str(
            r#"{"digest":"sha256:a","type":"IMAGE","tags":[{"id":1,"name":"v1","pushTime":"t","pullTime":"u","immutable":false},{"id":2}],"pullTime":"2026-01-02T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(a.tags, ["v1"], "a tag object without a name is no tag");
        assert_eq!(a.pull_time, "2026-01-02T00:00:00Z");
        let a: Artifact = serde_json::from_str(r#"{"digest":"sha256:a","tags":null}"#).unwrap();
        assert!(a.tags.is_empty());
    }

    #[test]
    fn repository_is_tolerant() {
        let r: Repository = serde_json::from_str(
            r#"{"uuid":"repo-1","name":"my-app","accessLevel":"public","quotaLimit":20.0,"quotaUsed":1.25,"imageCount":null,"extra":true}"#,
        )
        .unwrap();
        assert_eq!(r.access_level, AccessLevel::Public);
        assert_eq!(r.quota_limit, 20);
        assert_eq!(r.quota_used, 1.25);
        assert_eq!(r.image_count, 0);
        let r: Repository = serde_json::from_str(r#"{"uuid":"repo-1","quotaUsed":3}"#).unwrap();
        assert_eq!(r.quota_used, 3.0);
        assert_eq!(r.access_level, AccessLevel::Private);
    }

    #[test]
    fn robot_account_is_tolerant() {
        let u: RobotAccount = serde_json::from_str(
            r#"{"uuid":"ra-1","name":"ci-user","disable":false,"expiredAt":null,"userId":"42","repoPermissionList":[{"repoId":"repo-1","policyDtoList":[{"uuid":"p","action":"Push Images"}]}]}"#,
        )
        .unwrap();
        assert_eq!(u.user_id, 42);
        assert_eq!(u.expired_at, None);
        assert_eq!(
            u.repo_permission_list[0].policy_dto_list[0].kind(),
            Some(PolicyKind::Push)
        );
    }

    fn policy(uuid: &str, action: &str) -> Policy {
        Policy {
            uuid: uuid.into(),
            action: action.into(),
            name: String::new(),
        }
    }

    #[test]
    fn the_all_policy_is_never_used() {
        // Listed first, as the real service may: still not taken.
        let pols: Vec<Policy> =
            serde_json::from_str(r#"[{"uuid":"a","action":"All"},{"uuid":"pl","action":"Pull Images"},{"uuid":"ps","action":"Push Images"}]"#).unwrap();
        assert_eq!(pols[0].kind(), Some(PolicyKind::All));
        assert_eq!(
            Permission::PushPull.policy_ids(&pols).unwrap(),
            ["pl", "ps"]
        );
        assert_eq!(Permission::PullOnly.policy_ids(&pols).unwrap(), ["pl"]);
        // "All" alone is not read as a permission: apply sets pull and push again.
        assert_eq!(Permission::from_policies(&pols[..1]), None);
        let only_all = [policy("a", "all")];
        assert!(Permission::PushPull.policy_ids(&only_all).is_err());
    }

    #[test]
    fn policy_text_under_action_or_name() {
        let pols: Vec<Policy> = serde_json::from_str(
            r#"[{"uuid":"1","name":"Pull Images"},{"uuid":"2","name":"push","action":null},{"uuid":"3","action":"Push&Pull"}]"#,
        )
        .unwrap();
        assert_eq!(pols[0].kind(), Some(PolicyKind::Pull));
        assert_eq!(pols[1].kind(), Some(PolicyKind::Push));
        assert_eq!(pols[2].kind(), None, "both words: not one policy");
        assert_eq!(Permission::PushPull.policy_ids(&pols).unwrap(), ["1", "2"]);
    }

    #[test]
    fn image_and_artifact_read_the_assumed_field_names() {
        use super::super::contract::{ARTIFACT_FIELDS, IMAGE_FIELDS};
        let values = [
            serde_json::json!("web/frontend"),
            serde_json::json!(2),
            serde_json::json!("7"),
            serde_json::json!("2026-01-02T03:04:05Z"),
        ];
        let image: serde_json::Map<String, serde_json::Value> = IMAGE_FIELDS
            .iter()
            .map(|f| f.to_string())
            .zip(values)
            .collect();
        let image: Image = serde_json::from_value(image.into()).unwrap();
        assert_eq!(
            image,
            Image {
                name: "web/frontend".into(),
                artifact_count: 2,
                pull_count: 7,
                update_time: "2026-01-02T03:04:05Z".into(),
            }
        );
        let values = [
            serde_json::json!("sha256:ab"),
            serde_json::json!(["v2", "latest"]),
            serde_json::json!(1234.0),
            serde_json::json!("2026-01-02T03:04:05Z"),
            serde_json::json!("application/vnd.oci.image.manifest.v1+json"),
        ];
        let artifact: serde_json::Map<String, serde_json::Value> = ARTIFACT_FIELDS
            .iter()
            .map(|f| f.to_string())
            .zip(values)
            .collect();
        let artifact: Artifact = serde_json::from_value(artifact.into()).unwrap();
        assert_eq!(artifact.digest, "sha256:ab");
        assert_eq!(artifact.tags, ["v2", "latest"]);
        assert_eq!(artifact.size, 1234);
        assert_eq!(artifact.push_time, "2026-01-02T03:04:05Z");
        assert_eq!(
            artifact.media_type,
            "application/vnd.oci.image.manifest.v1+json"
        );
        // Missing or null fields take their defaults.
        let bare: Artifact = serde_json::from_str(r#"{"digest":"sha256:cd","tags":null}"#).unwrap();
        assert!(bare.tags.is_empty() && bare.size == 0);
    }

    #[test]
    fn permissions_from_policies() {
        let pols = vec![
            policy("1", "Push repository"),
            policy("2", "Pull repository"),
        ];
        assert_eq!(Permission::PullOnly.policy_ids(&pols).unwrap(), vec!["2"]);
        assert_eq!(
            Permission::PushPull.policy_ids(&pols).unwrap(),
            vec!["2", "1"]
        );
        assert_eq!(Permission::from_policies(&pols), Some(Permission::PushPull));
        assert_eq!(
            Permission::from_policies(&pols[1..]),
            Some(Permission::PullOnly)
        );
        assert_eq!(Permission::from_policies(&pols[..1]), None);
        assert!(Permission::PushPull.policy_ids(&pols[..1]).is_err());
    }
}
