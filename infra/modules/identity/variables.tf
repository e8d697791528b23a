variable "name" {
  description = "Prefix for the resources' names, e.g. billpay-prod."
  type        = string
}

variable "mail_domain" {
  description = "The domain BillPay's e-mail comes from (its DKIM records are published there)."
  type        = string
}

variable "mail_from_local_part" {
  description = "The sender's local part: mail comes from <this>@mail_domain."
  type        = string
  default     = "no-reply"
}

variable "callback_url" {
  description = "The API's public OpenID Connect callback: https://api.<domain>/v1/auth/oidc/callback."
  type        = string

  validation {
    condition     = startswith(var.callback_url, "https://") && endswith(var.callback_url, "/v1/auth/oidc/callback")
    error_message = "callback_url must be an https URL ending in /v1/auth/oidc/callback."
  }
}

variable "sender_role_names" {
  description = "IAM roles (e.g. the backend's Pod Identity role) allowed to send the e-mail."
  type        = list(string)
  default     = []
}

variable "deletion_protection" {
  description = "Protect the staff user pool from deletion (prod)."
  type        = bool
  default     = false
}

variable "oidc_secret_name" {
  description = "The Secrets Manager secret the API reads its OIDC issuer, client id and client secret from."
  type        = string
}

variable "kms_key_arn" {
  description = "The KMS key that encrypts that secret (the secrets unit's)."
  type        = string
}
