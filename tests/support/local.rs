//! `vcr-local` for a test: the real binary on `127.0.0.1:0`, in memory, stopped when
//! the test ends, and what it holds (through the vCR client).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use vcr_provider::vcr::{
    Client, ClientConfig, CreateRepository, CreateUser, Permission, PermissionRequest, Region,
    Repository, RobotAccount, Secret,
};

use super::controls::Controls;

pub struct LocalVcr {
    child: Child,
    /// vcr-local's log (secret-free), shown when it stopped before the test did.
    log: tempfile::NamedTempFile,
    /// The `VCR_*` settings it printed at start.
    pub settings: HashMap<String, String>,
    runtime: tokio::runtime::Runtime,
}

/// `--quota-unit-bytes` for tests about quotas: a GB of quota is 1 MiB, and every
/// figure vcr-local reports (quotaUsed, the sizes in quota errors) is in that unit.
pub const MIB_QUOTA_UNIT: &str = "1048576";

impl LocalVcr {
    pub fn start() -> LocalVcr {
        Self::start_with(&["--in-memory"])
    }

    /// A vcr-local whose GB of quota is one MiB ([`MIB_QUOTA_UNIT`]): a test fills a
    /// quota with megabytes instead of pushing a gigabyte.
    pub fn start_with_mib_quotas() -> LocalVcr {
        Self::start_with(&["--in-memory", "--quota-unit-bytes", MIB_QUOTA_UNIT])
    }

    pub fn start_with(args: &[&str]) -> LocalVcr {
        Self::start_with_listen("127.0.0.1:0", args)
    }

    pub fn start_with_listen(listen: &str, args: &[&str]) -> LocalVcr {
        let log = tempfile::NamedTempFile::new().expect("a file for vcr-local's log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_vcr-local"))
            .args(["--listen", listen])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(log.reopen().expect("reopen vcr-local's log"))
            .spawn()
            .expect("start vcr-local");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut settings = HashMap::new();
        while !settings.contains_key("VCR_CLIENT_SECRET") {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                let status = child.wait().ok();
                let said = std::fs::read_to_string(log.path()).unwrap_or_default();
                panic!("vcr-local stopped before printing its settings ({status:?}):\n{said}");
            }
            if let Some((k, v)) = line.trim().split_once('=') {
                if k.starts_with("VCR_") {
                    settings.insert(k.to_string(), v.to_string());
                }
            }
        }
        // Keep draining stdout so that vcr-local never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        LocalVcr {
            child,
            log,
            settings,
            runtime,
        }
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill(&self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// The base URL of the server (scheme, host and port).
    pub fn base_url(&self) -> String {
        let token = &self.settings["VCR_TOKEN_URL"];
        let rest = token.split("://").nth(1).unwrap();
        format!("http://{}", rest.split('/').next().unwrap())
    }

    /// A vCR client for checking what the server holds.
    pub fn client(&self) -> Client {
        Client::new(ClientConfig {
            client_id: self.settings["VCR_CLIENT_ID"].clone(),
            client_secret: Secret::new(self.settings["VCR_CLIENT_SECRET"].clone()),
            token_url: Some(self.settings["VCR_TOKEN_URL"].clone()),
            endpoint_hcm: Some(self.settings["VCR_ENDPOINT_HCM"].clone()),
            endpoint_han: Some(self.settings["VCR_ENDPOINT_HAN"].clone()),
            max_retries: 0,
            ..ClientConfig::default()
        })
        .unwrap()
    }

    /// Runs a future against the server on this helper's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// The names of the repositories a region holds.
    pub fn repository_names(&self, region: Region) -> Vec<String> {
        let client = self.client();
        let mut names: Vec<String> = self
            .block_on(client.repositories(region).list_all(None, None))
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        names.sort();
        names
    }

    /// The names of the repository users a region holds.
    pub fn user_names(&self, region: Region) -> Vec<String> {
        let client = self.client();
        let mut names: Vec<String> = self
            .block_on(client.users(region).list_all(None))
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        names.sort();
        names
    }

    /// The ids of the repositories a region holds, in the API's order.
    pub fn repository_ids(&self, region: Region) -> Vec<String> {
        let client = self.client();
        self.block_on(client.repositories(region).list_all(None, None))
            .unwrap()
            .into_iter()
            .map(|r| r.uuid)
            .collect()
    }

    /// The ids of the repository users a region holds, in the API's order.
    pub fn user_ids(&self, region: Region) -> Vec<String> {
        let client = self.client();
        self.block_on(client.users(region).list_all(None))
            .unwrap()
            .into_iter()
            .map(|u| u.uuid)
            .collect()
    }

    /// A repository made through the API, as in the portal (not by Terraform).
    pub fn make_repository(
        &self,
        region: Region,
        name: &str,
        quota_gb: u64,
        public: bool,
    ) -> Repository {
        let create = CreateRepository {
            name: name.to_string(),
            is_public: public,
            quota_limit_gb: quota_gb,
        };
        self.block_on(self.client().repositories(region).create(&create))
            .unwrap_or_else(|e| panic!("make repository {name}: {e}"))
    }

    /// A repository user made through the API, as in the portal: with these
    /// permissions (repository id, permission), a description, expiring in `days`.
    pub fn make_user(
        &self,
        region: Region,
        name: &str,
        grants: &[(&str, Permission)],
        description: Option<&str>,
        days: Option<u32>,
    ) -> RobotAccount {
        let client = self.client();
        let users = client.users(region);
        self.block_on(async {
            let policies = users.policies().await.expect("the permission policies");
            let permissions = grants
                .iter()
                .map(|(repo_id, p)| PermissionRequest {
                    repo_id: repo_id.to_string(),
                    policy_ids: p.policy_ids(&policies).expect("a policy"),
                })
                .collect();
            let create = CreateUser {
                name: name.to_string(),
                duration_days: days,
                description: description.map(str::to_string),
                permissions,
            };
            users
                .create(&create)
                .await
                .unwrap_or_else(|e| panic!("make user {name}: {e}"));
            users
                .find_by_name(name)
                .await
                .unwrap()
                .expect("the user just made")
        })
    }

    /// The `/_local/` test controls of this server.
    pub fn controls(&self) -> Controls<'_> {
        Controls::new(self)
    }
}

impl Drop for LocalVcr {
    fn drop(&mut self) {
        // A server that died under a test is the first thing to know about its failure.
        if let Ok(Some(status)) = self.child.try_wait() {
            let said = std::fs::read_to_string(self.log.path()).unwrap_or_default();
            let tail: Vec<&str> = said.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            eprintln!(
                "vcr-local stopped before the test ended ({status}); the end of its log:\n{}",
                tail.join("\n")
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
