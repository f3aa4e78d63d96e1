resource "vcr_repository" "app" {
  name           = "my-app"
  quota_limit_gb = 20
}

# What stays in my-app: the last 10 releases of every image, anything tagged prod-*
# forever, and untagged artifacts for a week. Everything else those rules select
# (older releases, week-old untagged builds) is deleted; tags no rule selects, such as
# dev-*, are never touched.
resource "vcr_retention_policy" "app" {
  repository_id = vcr_repository.app.id

  rule {
    tags             = ["v*"]
    keep_last_pushed = 10
  }

  rule {
    tags        = ["prod-*"]
    keep_always = true
  }

  rule {
    tags                    = []
    untagged                = true
    keep_pushed_within_days = 7
  }
}

# What the next apply deletes (also shown by the plan, going to empty).
output "pending_deletions" {
  value = [for a in vcr_retention_policy.app.pending_deletions : "${a.image}@${a.digest}"]
}
