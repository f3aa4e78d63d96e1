# Terraform 1.14 and later (OpenTofu has no actions). Run it on demand, or nightly:
#   terraform apply -invoke=action.vcr_image_cleanup.nightly
resource "vcr_repository" "app" {
  name           = "my-app"
  quota_limit_gb = 20
}

# The rules of vcr_retention_policy, run now: keep the last 10 releases of each image
# under web/ and anything tagged prod-*; delete the rest of what those rules select.
action "vcr_image_cleanup" "nightly" {
  config {
    repository_ids = [vcr_repository.app.id]
    dry_run        = false

    rule {
      images           = ["web/**"]
      tags             = ["v*"]
      keep_last_pushed = 10
    }
    rule {
      tags        = ["prod-*"]
      keep_always = true
    }
  }
}
