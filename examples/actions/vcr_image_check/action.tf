# Terraform 1.14 and later (OpenTofu has no actions). Run it on its own with
#   terraform apply -invoke=action.vcr_image_check.release
variable "release_tag" {
  type = string
}

data "vcr_repository" "app" {
  name = "my-app"
}

# Fails, naming the image, unless web/frontend:<release_tag> was pushed to vCR within
# the last 30 days.
action "vcr_image_check" "release" {
  config {
    reference          = "${data.vcr_repository.app.registry_url}/web/frontend:${var.release_tag}"
    pushed_within_days = 30
  }
}

# Or before every deploy: a tag nobody pushed stops the apply before anything is
# deployed.
resource "terraform_data" "deploy" {
  input = var.release_tag

  lifecycle {
    action_trigger {
      events  = [before_create, before_update]
      actions = [action.vcr_image_check.release]
    }
  }
}
