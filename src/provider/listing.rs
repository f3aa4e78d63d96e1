//! What the list resources (`terraform query`) share: the `config` block (a region and
//! a name prefix), the display name of what they find, and the walk over the API's
//! pages that sends each object as soon as its page arrives and stops at the limit.

use std::collections::HashSet;
use std::future::Future;

use serde::{Deserialize, Serialize};

use super::config::REGIONS;
use crate::tfplugin::validators::one_of;
use crate::tfplugin::{Attribute, Block, ListItem, ListSink, Schema, Type};
use crate::vcr::{Page, PageCursor, Region, VcrError};

/// The `config` block of a `list "vcr_repository"` or `list "vcr_repository_user"`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ListConfig {
    pub region: Option<String>,
    pub name_prefix: Option<String>,
}

impl ListConfig {
    /// The name prefix to filter by; `None` for every object.
    pub fn prefix(&self) -> Option<&str> {
        self.name_prefix.as_deref().filter(|p| !p.is_empty())
    }

    /// Whether an object of this name is asked for.
    pub fn wants(&self, name: &str) -> bool {
        self.prefix().is_none_or(|p| name.starts_with(p))
    }
}

/// The schema of the `config` block; `what` is the object's name in the plural.
pub fn schema(what: &str) -> Schema {
    Schema::new(
        0,
        Block::new(&format!(
            "Finds the {what} that exist in vCR, in one region (for `terraform query`, Terraform 1.14+), each with its identity, ready for an `import` block."
        ))
        .attribute(
            Attribute::optional("region", Type::String, &format!("The region whose {what} to list. Defaults to the provider's region."))
                .validate(one_of(REGIONS)),
        )
        .attribute(Attribute::optional(
            "name_prefix",
            Type::String,
            &format!("Only the {what} whose name starts with this."),
        )),
    )
}

/// How a found object reads in `terraform query`'s output: `my-app (HAN)`.
pub fn display_name(name: &str, region: Region) -> String {
    format!("{name} ({region})")
}

/// Walks the pages `fetch` answers and sends each object `item` makes of an entry
/// (`None`: not asked for), each once even if the list shifts while it is walked,
/// until the last page or until the sink says stop (the limit is reached): then no
/// further page is asked for. `key` is an entry's id.
pub async fn send_pages<T, S, F, Fut>(
    mut fetch: F,
    sink: &mut ListSink<S>,
    key: impl Fn(&T) -> String,
    mut item: impl FnMut(T) -> Option<ListItem<S>>,
) -> Result<(), VcrError>
where
    S: Serialize,
    F: FnMut(u32, u32) -> Fut,
    Fut: Future<Output = Result<Page<T>, VcrError>>,
{
    let mut cursor = PageCursor::new();
    let mut seen = HashSet::new();
    while let Some((page, size)) = cursor.next_page() {
        let answer = fetch(page, size).await?;
        cursor.advance(&answer);
        tracing::debug!(
            page,
            entries = answer.items.len(),
            pages = answer.total_page,
            "listing"
        );
        for entry in answer.items {
            if !seen.insert(key(&entry)) {
                continue;
            }
            let Some(found) = item(entry) else {
                continue;
            };
            if !sink.send(found).await {
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_filters_names() {
        let all = ListConfig::default();
        assert!(all.wants("anything"));
        let empty = ListConfig {
            name_prefix: Some(String::new()),
            ..ListConfig::default()
        };
        assert_eq!(empty.prefix(), None, "an empty prefix is no filter");
        let team = ListConfig {
            name_prefix: Some("team-".into()),
            ..ListConfig::default()
        };
        assert!(team.wants("team-api") && !team.wants("my-team-api"));
        assert_eq!(display_name("my-app", Region::Han), "my-app (HAN)");
    }
}
