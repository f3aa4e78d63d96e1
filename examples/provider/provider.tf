terraform {
  required_providers {
    vcr = {
      source = "vngcloud/vcr"
    }
  }
}

# Credentials come from the environment (VCR_CLIENT_ID, VCR_CLIENT_SECRET) so that
# they stay out of the configuration.
provider "vcr" {
  region = "HCM"
}

# A second configuration of the provider for Hanoi, used with `provider = vcr.han`.
provider "vcr" {
  alias  = "han"
  region = "HAN"
}

# Every host can be overridden per region, for example to use vcr-local: the API
# base URLs, and (optionally: vCR reports each repository's own) the Docker registry
# hosts that `registry_url` and the docker commands built from it point at. Each has
# a VCR_* variable too (VCR_ENDPOINT_HCM, VCR_REGISTRY_HCM, ...), which is what
# vcr-local prints.
provider "vcr" {
  alias     = "local"
  region    = "HCM"
  token_url = "http://127.0.0.1:8080/iam/accounts-api/v2/auth/token"
  endpoints {
    hcm          = "http://127.0.0.1:8080/hcm"
    han          = "http://127.0.0.1:8080/han"
    registry_hcm = "127.0.0.1:5080"
    registry_han = "127.0.0.1:5081"
  }
}
