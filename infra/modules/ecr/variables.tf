variable "repositories" {
  description = "Repository names, one per image (e.g. billpay-backend)."
  type        = list(string)
}

variable "keep_images" {
  description = "How many tagged images each repository keeps; older ones are expired."
  type        = number
  default     = 30
}

variable "pull_principal_arns" {
  description = "IAM principals (other accounts or roles) allowed to pull, besides this account."
  type        = list(string)
  default     = []
}
