variable "bucket_name" {
  description = "The state bucket Terragrunt's root.hcl points at (<project>-<env>-tofu-state)."
  type        = string
}
