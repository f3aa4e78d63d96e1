resource "vcr_repository" "app" {
  name           = "my-app"
  quota_limit_gb = 20
}

# CI pushes and pulls. Its secret is rotated when the month changes.
resource "vcr_repository_user" "ci" {
  name        = "ci-pusher"
  description = "pushes images from CI"

  repository_permission {
    repository_id = vcr_repository.app.id
    permission    = "push_pull"
  }

  rotation_triggers = {
    month = "2027-01"
  }
}

# Deployments only pull, until the end of June 2027.
resource "vcr_repository_user" "deploy" {
  name            = "deployer"
  description     = "pulls images for deployments"
  expiration_date = "2027-06-30"

  repository_permission {
    repository_id = vcr_repository.app.id
    permission    = "pull_only"
  }
}

# Feed the credentials to `docker login`, e.g. in a CI job:
#   terraform output -raw ci_password | docker login vcr.vngcloud.vn -u "$(terraform output -raw ci_username)" --password-stdin
output "ci_username" {
  value = vcr_repository_user.ci.backend_name
}

output "ci_password" {
  value     = vcr_repository_user.ci.secret
  sensitive = true
}
