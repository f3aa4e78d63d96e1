# What the pipeline templates beside this file apply (github-actions.yml,
# gitlab-ci.yml): a repository, a CI user that pushes to it, and, once CI has pushed,
# the image pinned by digest. Against vcr-local the provider's settings come from
# the job's environment (VCR_TOKEN_URL, VCR_ENDPOINT_HCM, VCR_ENDPOINT_HAN,
# VCR_REGISTRY_HCM, VCR_CLIENT_ID, VCR_CLIENT_SECRET); against vCR, from
# VCR_CLIENT_ID and VCR_CLIENT_SECRET alone.

terraform {
  required_providers {
    vcr = {
      source = "vngcloud/vcr"
    }
  }
}

provider "vcr" {}

variable "repository" {
  description = "The repository's name: one per pipeline run, so that runs do not collide on vCR."
  type        = string
  default     = "ci-app"
}

variable "release_tag" {
  description = "The tag CI pushed, to pin by digest; null on the first apply (the image does not exist yet)."
  type        = string
  default     = null
}

resource "vcr_repository" "app" {
  name           = var.repository
  quota_limit_gb = 1
  # The destroy at the end of the pipeline deletes what the pipeline pushed.
  force_destroy = true
}

resource "vcr_repository_user" "ci" {
  name        = "${substr(var.repository, 0, 11)}-ci"
  description = "pushes from the pipeline"

  repository_permission {
    repository_id = vcr_repository.app.id
    permission    = "push_pull"
  }
}

# Read at plan time, so only once the image exists (release_tag set).
data "vcr_image" "app" {
  count         = var.release_tag == null ? 0 : 1
  repository_id = vcr_repository.app.id
  name          = "app"
  tag           = var.release_tag
}

output "registry" {
  description = "The registry host, for docker login."
  value       = split("/", vcr_repository.app.registry_url)[0]
}

output "image" {
  description = "Where CI pushes the app image (add :TAG)."
  value       = "${vcr_repository.app.registry_url}/app"
}

output "ci_username" {
  value = vcr_repository_user.ci.backend_name
}

output "ci_secret" {
  value     = vcr_repository_user.ci.secret
  sensitive = true
}

output "pinned_image" {
  description = "The pushed image by digest (null until release_tag is set): what a deployment runs."
  value       = one(data.vcr_image.app[*].image_uri)
}
