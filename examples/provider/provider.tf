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
