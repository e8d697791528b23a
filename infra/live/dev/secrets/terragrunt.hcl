# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# dev / secrets: the `secrets` module.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  # `//`: Terragrunt copies all of infra/modules, so a module can call its siblings (../bucket).
  source = "${get_repo_root()}/infra/modules//secrets"
}

inputs = {
  name         = "billpay-dev"
  secret_names = [
    "api",
  ]
}
