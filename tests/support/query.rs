//! What `terraform query -json` (Terraform 1.14+) found, read from its stream of JSON
//! lines: each object with its list block, display name, identity and (when asked)
//! resource object; each list block's total; and the diagnostics.

use serde_json::Value;

/// One object a list block found (`list_resource_found`).
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The list block: `list.vcr_repository.team`.
    pub address: String,
    pub resource_type: String,
    pub display_name: String,
    pub identity: Value,
    /// The object's state, when the block asked for it (`include_resource`).
    pub resource_object: Option<Value>,
    /// The resource block and the `import` block generated for it
    /// (`-generate-config-out`).
    pub config: Option<String>,
    pub import_config: Option<String>,
}

/// A diagnostic of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: String,
    pub summary: String,
    pub detail: String,
    /// The list block it is about, if any.
    pub address: Option<String>,
}

/// Everything a `terraform query -json` run reported.
#[derive(Debug, Clone, Default)]
pub struct QueryResults {
    pub found: Vec<Found>,
    /// Each list block that completed, with its number of results.
    pub totals: Vec<(String, u64)>,
    pub diagnostics: Vec<Diagnostic>,
}

impl QueryResults {
    /// Parses the JSON lines of `terraform query -json`; other lines are skipped.
    pub fn parse(output: &str) -> Result<QueryResults, String> {
        let mut results = QueryResults::default();
        for line in output.lines().filter(|l| l.starts_with('{')) {
            let json: Value =
                serde_json::from_str(line).map_err(|e| format!("{e} in line {line}"))?;
            match json["type"].as_str().unwrap_or_default() {
                "list_resource_found" => results.found.push(found(&json["list_resource_found"])?),
                "list_complete" => {
                    let c = &json["list_complete"];
                    let address = c["address"]
                        .as_str()
                        .ok_or("list_complete without address")?;
                    let total = c["total"].as_u64().ok_or("list_complete without total")?;
                    results.totals.push((address.to_string(), total));
                }
                "diagnostic" => {
                    let d = &json["diagnostic"];
                    results.diagnostics.push(Diagnostic {
                        severity: text(&d["severity"]),
                        summary: text(&d["summary"]),
                        detail: text(&d["detail"]),
                        address: d["address"].as_str().map(str::to_string),
                    });
                }
                _ => {}
            }
        }
        Ok(results)
    }

    /// What one list block found, in the order it came.
    pub fn of(&self, list_address: &str) -> Vec<&Found> {
        self.found
            .iter()
            .filter(|f| f.address == list_address)
            .collect()
    }

    /// The display names one list block found, sorted.
    pub fn names(&self, list_address: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .of(list_address)
            .iter()
            .map(|f| f.display_name.clone())
            .collect();
        names.sort();
        names
    }

    /// The total a list block reported when it completed.
    pub fn total(&self, list_address: &str) -> Option<u64> {
        self.totals
            .iter()
            .find(|(a, _)| a == list_address)
            .map(|(_, n)| *n)
    }

    /// The error diagnostics.
    pub fn errors(&self) -> Vec<&Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == "error")
            .collect()
    }
}

fn found(f: &Value) -> Result<Found, String> {
    let address = f["address"].as_str().ok_or("a result without address")?;
    if !f["identity"].is_object() {
        return Err(format!("{address}: a result without identity: {f}"));
    }
    Ok(Found {
        address: address.to_string(),
        resource_type: text(&f["resource_type"]),
        display_name: text(&f["display_name"]),
        identity: f["identity"].clone(),
        resource_object: f.get("resource_object").cloned(),
        config: f["config"].as_str().map(str::to_string),
        import_config: f["import_config"].as_str().map(str::to_string),
    })
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}
