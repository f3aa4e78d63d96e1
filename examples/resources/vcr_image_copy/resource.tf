resource "vcr_repository" "staging" {
  name           = "web-staging"
  quota_limit_gb = 20
}

resource "vcr_repository" "prod" {
  name           = "web-prod"
  quota_limit_gb = 20
}

resource "vcr_repository" "prod_han" {
  name           = "web-prod"
  region         = "HAN"
  quota_limit_gb = 20
}

# The image CI pushed to staging, pinned by the digest its tag names now.
data "vcr_image" "web" {
  repository_id = vcr_repository.staging.id
  name          = "web"
  tag           = "sha-3f9c2e1"
}

# Promotion in HCM: staging's digest becomes prod's 1.4.2 and prod. Same registry,
# so every layer is mounted: no bytes move.
resource "vcr_image_copy" "web_prod" {
  source        = data.vcr_image.web.image_uri
  repository_id = vcr_repository.prod.id
  tags          = ["1.4.2", "prod"]
}

# Replication to HAN, from the promoted copy: the layers stream from HCM's registry to
# HAN's. The region is found from the repository.
resource "vcr_image_copy" "web_han" {
  source        = vcr_image_copy.web_prod.image_uri
  repository_id = vcr_repository.prod_han.id
  tags          = ["1.4.2", "prod"]
}

# What each region deploys: pinned by digest.
output "image_hcm" {
  value = vcr_image_copy.web_prod.image_uri
}

output "image_han" {
  value = vcr_image_copy.web_han.image_uri
}
