data "vcr_repository" "app" {
  name = "my-app"
}

# Credentials for this run only: a user that may push and pull my-app, created when
# Terraform opens them and deleted when it closes them.
ephemeral "vcr_registry_credentials" "push" {
  description = "pushes my-app during terraform apply"

  repository_permission {
    repository_id = data.vcr_repository.app.id
    permission    = "push_pull"
  }
}

# Push an image during the apply. The password reaches docker on standard input;
# docker keeps it in a throw-away config folder; Terraform stores it nowhere.
resource "terraform_data" "push" {
  triggers_replace = ["1.0"]

  provisioner "local-exec" {
    command = <<-EOT
      set -e
      export DOCKER_CONFIG="$(mktemp -d)"
      trap 'rm -rf "$DOCKER_CONFIG"' EXIT
      printf '%s' "$VCR_PASSWORD" | docker login "$VCR_REGISTRY" -u "$VCR_USERNAME" --password-stdin
      docker tag my-app:1.0 "${data.vcr_repository.app.registry_url}/my-app:1.0"
      docker push "${data.vcr_repository.app.registry_url}/my-app:1.0"
    EOT
    environment = {
      VCR_REGISTRY = ephemeral.vcr_registry_credentials.push.registry
      VCR_USERNAME = ephemeral.vcr_registry_credentials.push.username
      VCR_PASSWORD = ephemeral.vcr_registry_credentials.push.password
    }
  }
}
