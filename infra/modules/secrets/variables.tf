variable "name" {
  description = "Prefix for the secrets' names, e.g. billpay-dev."
  type        = string
}

variable "secret_names" {
  description = "Secrets to create (values are set outside OpenTofu, so they never enter the state)."
  type        = list(string)
  default     = ["api"]
}

variable "reader_role_arns" {
  description = "IAM roles (e.g. the backend's Pod Identity role) allowed to read the secrets."
  type        = list(string)
  default     = []
}
