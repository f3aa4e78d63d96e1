//! vcr-local's own wire types. They are written from the contract
//! (`docs/development/vcr-api.md`), not shared with the client, so that a client bug
//! cannot hide behind a type both sides use.

use serde::Serialize;

/// `{"message","errorCode"}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDto {
    pub message: String,
    pub error_code: String,
}

/// The IAM token answer.
#[derive(Debug, Serialize)]
pub struct TokenDto {
    pub token_type: &'static str,
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_expires_in: u64,
}

/// A paging answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageDto<T> {
    pub list_data: Vec<T>,
    pub page: u64,
    pub page_size: u64,
    pub total_page: u64,
    pub total_item: u64,
}

/// RepositoryDto.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryDto {
    pub uuid: String,
    pub name: String,
    pub backend_name: String,
    pub access_level: &'static str,
    pub image_count: u64,
    pub attached_user: u64,
    pub quota_limit: u64,
    pub quota_used: f64,
    pub registry_url: String,
    pub created_at: String,
}

/// A permission policy.
#[derive(Debug, Serialize, Clone)]
pub struct PolicyDto {
    pub uuid: String,
    pub action: String,
}

/// An item of `repoPermissionList`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoPermissionDto {
    pub repo_id: String,
    pub repo_name: String,
    pub backend_repo_name: String,
    pub policy_dto_list: Vec<PolicyDto>,
}

/// RobotAccountDto.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RobotAccountDto {
    pub uuid: String,
    pub name: String,
    pub backend_name: String,
    pub description: Option<String>,
    pub disable: bool,
    pub expired_at: Option<String>,
    pub created_at: String,
    pub user_id: u64,
    pub number_of_repo: u64,
    pub repo_permission_list: Vec<RepoPermissionDto>,
}

/// `{"secretKey"}`, the answer of creating a user.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretDto {
    pub secret_key: String,
}

/// ImageDto (**assumed**, Harbor-like: the contract publishes no fields).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDto {
    pub name: String,
    pub artifact_count: u64,
    pub pull_count: u64,
    pub update_time: String,
}

/// ArtifactDto (**assumed**, Harbor-like): a manifest or index of an image.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactDto {
    pub digest: String,
    pub tags: Vec<String>,
    /// Bytes of the manifest and everything it references.
    pub size: u64,
    /// RFC 3339 with milliseconds.
    pub push_time: String,
    /// When it was last pulled (RFC 3339 with milliseconds); null when never.
    pub pull_time: Option<String>,
    pub media_type: String,
}

/// An entry of a repository's history (**assumed** shape).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryDto {
    pub action: String,
    pub detail: String,
    pub created_at: String,
}
