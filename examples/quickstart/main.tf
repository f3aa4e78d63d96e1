# The quickstart: a repository in each region, a CI user that pushes, a deploy
# user that pulls, and the image to deploy pinned by digest once CI has pushed it,
# replicated to the other region.
# `make demo` runs it against vcr-local; against vCR, set VCR_CLIENT_ID and
# VCR_CLIENT_SECRET (and nothing else) instead.

terraform {
  required_providers {
    vcr = {
      source = "vngcloud/vcr"
    }
  }
}

# Settings come from the environment: VCR_REGION, VCR_CLIENT_ID, VCR_CLIENT_SECRET,
# and for vcr-local VCR_TOKEN_URL, VCR_ENDPOINT_HCM, VCR_ENDPOINT_HAN.
provider "vcr" {}

# Private images of the application, in Ho Chi Minh City. A destroy deletes the
# images pushed to it too.
resource "vcr_repository" "app" {
  name           = "quickstart-app"
  quota_limit_gb = 10
  force_destroy  = true
}

# A public mirror in Hanoi: anyone may pull from it.
resource "vcr_repository" "mirror" {
  name           = "quickstart-mirror"
  access_level   = "public"
  quota_limit_gb = 5
  region         = "HAN"
  force_destroy  = true
}

# CI pushes and pulls the application's images.
resource "vcr_repository_user" "ci" {
  name        = "quick-ci"
  description = "pushes from CI"

  repository_permission {
    repository_id = vcr_repository.app.id
    permission    = "push_pull"
  }
}

# Deployments only pull, and the account expires at the end of 2030.
resource "vcr_repository_user" "deploy" {
  name            = "quick-deploy"
  description     = "pulls for deployments"
  expiration_date = "2030-12-31"

  repository_permission {
    repository_id = vcr_repository.app.id
    permission    = "pull_only"
  }
}

# Mirror publishers in Hanoi push to the public mirror.
resource "vcr_repository_user" "mirror_ci" {
  name   = "quick-mirror"
  region = "HAN"

  repository_permission {
    repository_id = vcr_repository.mirror.id
    permission    = "push_pull"
  }
}

# Deployments run what CI pushed, pinned by digest: once CI has pushed hello:1.0
# (see the app_image output), `terraform apply -var release_tag=1.0` looks the tag up
# and release_image says `<registry_url>/hello@sha256:...`, which a re-tag cannot
# change. A data source is read at plan time and the image must exist by then, so
# the lookup is off (count = 0) until release_tag is set: the first apply, which
# creates the repository, works on its own.
variable "release_tag" {
  description = "The tag of the hello image to deploy; null until CI has pushed it."
  type        = string
  default     = null
}

data "vcr_image" "release" {
  count         = var.release_tag == null ? 0 : 1
  repository_id = vcr_repository.app.id
  name          = "hello"
  tag           = var.release_tag
}

output "release_image" {
  description = "What deployments run: the hello image at release_tag, pinned by digest (null until release_tag is set)."
  value       = one(data.vcr_image.release[*].image_uri)
}

# The release, replicated by digest to the Hanoi mirror: the provider copies it
# registry to registry, with no Docker daemon and no password to hand it.
resource "vcr_image_copy" "release_han" {
  count         = var.release_tag == null ? 0 : 1
  source        = data.vcr_image.release[0].image_uri
  repository_id = vcr_repository.mirror.id
  tags          = [var.release_tag]
}

output "release_image_han" {
  description = "The same release in Hanoi, pinned by the same digest (null until release_tag is set)."
  value       = one(vcr_image_copy.release_han[*].image_uri)
}

output "ci_docker_login" {
  description = "Log CI in (the secret comes from: terraform output -raw ci_secret)."
  value       = "terraform output -raw ci_secret | docker login ${split("/", vcr_repository.app.registry_url)[0]} -u ${vcr_repository_user.ci.backend_name} --password-stdin"
}

output "ci_docker_push" {
  value = "docker tag my-app:1.0 ${vcr_repository.app.registry_url}/my-app:1.0 && docker push ${vcr_repository.app.registry_url}/my-app:1.0"
}

output "deploy_docker_login" {
  value = "terraform output -raw deploy_secret | docker login ${split("/", vcr_repository.app.registry_url)[0]} -u ${vcr_repository_user.deploy.backend_name} --password-stdin"
}

output "deploy_docker_pull" {
  value = "docker pull ${vcr_repository.app.registry_url}/my-app:1.0"
}

output "mirror_docker_login_user" {
  description = "Who pushes to the mirror (its secret: vcr_repository_user.mirror_ci.secret)."
  value       = vcr_repository_user.mirror_ci.backend_name
}

output "mirror_docker_push" {
  value = "docker push ${vcr_repository.mirror.registry_url}/base:latest"
}

output "mirror_docker_pull" {
  description = "A public repository: no login needed to pull."
  value       = "docker pull ${vcr_repository.mirror.registry_url}/base:latest"
}

output "app_image" {
  description = "Where the application's image goes."
  value       = "${vcr_repository.app.registry_url}/hello:1.0"
}

output "ci_username" {
  value = vcr_repository_user.ci.backend_name
}

output "deploy_username" {
  value = vcr_repository_user.deploy.backend_name
}

output "app_image_count" {
  description = "Images in the repository, as of the last refresh."
  value       = vcr_repository.app.image_count
}

output "app_quota_used_gb" {
  value = vcr_repository.app.quota_used_gb
}

output "ci_secret" {
  value     = vcr_repository_user.ci.secret
  sensitive = true
}

output "deploy_secret" {
  value     = vcr_repository_user.deploy.secret
  sensitive = true
}
