//! `vcr-local` for a test: the real binary on `127.0.0.1:0`, in memory, stopped when
//! the test ends.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use vcr_provider::vcr::{Client, ClientConfig, Region, Secret};

#[path = "../registry_support/mod.rs"]
pub mod registry_support;

pub struct LocalVcr {
    child: Child,
    /// The `VCR_*` settings it printed at start.
    pub settings: HashMap<String, String>,
    runtime: tokio::runtime::Runtime,
}

impl LocalVcr {
    pub fn start() -> LocalVcr {
        Self::start_with(&["--in-memory"])
    }

    pub fn start_with(args: &[&str]) -> LocalVcr {
        Self::start_with_listen("127.0.0.1:0", args)
    }

    pub fn start_with_listen(listen: &str, args: &[&str]) -> LocalVcr {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vcr-local"))
            .args(["--listen", listen])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start vcr-local");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut settings = HashMap::new();
        while !settings.contains_key("VCR_CLIENT_SECRET") {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                panic!("vcr-local stopped before printing its settings");
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

    /// Points a workspace's provider at this server through the environment.
    pub fn configure(&self, ws: &mut super::Workspace) {
        for (k, v) in &self.settings {
            ws.set_env(k, v);
        }
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

    /// How to reach a region's API and registry.
    pub fn region(&self, region: Region) -> registry_support::Region {
        let code = region.as_str().to_ascii_uppercase();
        registry_support::Region {
            token_url: self.settings["VCR_TOKEN_URL"].clone(),
            client_id: self.settings["VCR_CLIENT_ID"].clone(),
            client_secret: self.settings["VCR_CLIENT_SECRET"].clone(),
            endpoint: self.settings[&format!("VCR_ENDPOINT_{code}")].clone(),
            registry: self.settings[&format!("VCR_REGISTRY_{code}")].clone(),
        }
    }

    /// Pushes a real image (`<image>:latest`, one layer of `size_mib` MiB)
    /// to a repository (by id or name) through the region's registry.
    pub fn push_image(
        &self,
        region: Region,
        repo: &str,
        image: &str,
        size_mib: u64,
    ) -> serde_json::Value {
        let r = self.region(region);
        self.block_on(r.push_image(repo, image, size_mib))
    }

    /// Sends a request to one of the server's `/_local/` test endpoints.
    pub fn local_call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let url = format!("{}{}", self.base_url(), path);
        self.block_on(async {
            let http = reqwest::Client::new();
            let mut req = http.request(method.parse().unwrap(), url);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.expect("vcr-local answers");
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            (
                status,
                serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
            )
        })
    }
}

impl Drop for LocalVcr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
